// The flow of one request through the cache: see session.hpp.
#include "proxy/session.hpp"

#include "core/strings.hpp"
#include "net/wire.hpp"
#include "policy/cache_key.hpp"
#include "policy/entry.hpp"
#include "policy/invalidation.hpp"
#include "upstream/forwarding.hpp"

#include <charconv>

namespace cachecar::proxy {

namespace asio = net::asio;
namespace http = net::http;
using metrics::CacheOutcome;
using net::error_code;

namespace {

// RFC 9110 §9.2.2: safe to send twice.
bool is_idempotent(http::verb method) {
  switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::options:
    case http::verb::trace:
      return true;
    default:
      return false;
  }
}

std::int64_t parse_age_seconds(std::string_view value) {
  std::int64_t age = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), age);
  return (ec == std::errc{} && age > 0) ? age : 0;
}

}  // namespace

std::int64_t unix_now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The rest of a large or chunked client body, read piece by piece while it is relayed.
class ClientBody final : public upstream::BodySource {
 public:
  ClientBody(Session& session, RequestParser& parser) : session_(session), parser_(parser) {}
  bool done() const override { return parser_.is_done(); }
  asio::awaitable<std::pair<error_code, std::string_view>> next_piece() override {
    char* chunk = session_.relay_buffer();
    auto [ec, n] = co_await session_.client_.read_body_piece(parser_, chunk, kRelayChunkBytes);
    co_return std::pair{ec, std::string_view(chunk, n)};
  }

 private:
  Session& session_;
  RequestParser& parser_;
};

Session::Session(Proxy& proxy, net::ServerConnection& client)
    : proxy_(proxy), options_(proxy.options_), client_(client), open_connection_(proxy.metrics_) {
  if (client.remote()) client_ip_ = client.remote()->address().to_string();
  // Once per connection: every request on it comes from the same peer.
  trusted_peer_ = options_.trusted_proxies.contains(client_ip_);
}

asio::awaitable<bool> Session::handle(RequestParser& parser) {
  auto& request = parser.get();
  Exchange x(parser);
  x.start = std::chrono::steady_clock::now();
  x.method = request.method_string();
  // Normalised once (RFC 3986 §6.2.2): the same form is matched, keyed and forwarded, so a key
  // always names what the origin resolves ("/a/%35%32" and "/a/x/../52" are "/a/52").
  x.normalized = policy::normalize_target(request.target());
  x.target = x.normalized.ok() ? std::string_view(x.normalized.target)
                               : std::string_view(request.target());
  x.keep_alive = request.keep_alive() && !client_.stopping();
  x.head_only = request.method() == http::verb::head;
  x.has_authorization = request.find(http::field::authorization) != request.end();

  bool keep = false;
  if (!x.normalized.ok()) {
    x.keep_alive = false;
    x.cache.fwd = Forward::Request;
    const std::string body = net::json_error_body(
        "bad_request", x.normalized.status == policy::TargetStatus::MalformedEscape
                           ? "malformed percent-encoding in the request target"
                           : "request target must be a path");
    co_await respond(x, 400, body);
  } else if (co_await receive_request_body(x)) {
    x.path = x.normalized.path();
    x.query = x.normalized.query();
    const bool readable = request.method() == http::verb::get || x.head_only;
    policy::Params params;
    const auto* rule = readable ? options_.rules->match("GET", x.path, &params) : nullptr;
    if (rule) x.rule_name = rule->name;
    if (rule && rule->ttl) {
      keep = co_await serve_cacheable(x, *rule);
    } else {
      x.cache.fwd = readable ? Forward::UriMiss : Forward::Method;
      x.cache.detail = readable ? Detail::NoRule : Detail::None;
      keep = co_await forward(x);
    }
  }
  log_access(x);
  co_return keep&& x.keep_alive;
}

asio::awaitable<bool> Session::receive_request_body(Exchange& x) {
  auto& parser = x.parser;
  if (parser.is_done()) co_return true;
  if (co_await client_.continue_if_expected(parser.get())) co_return false;
  const auto length = parser.content_length();
  if (!length || *length > options_.cache.max_body_bytes) {
    x.body_streaming = true;  // relayed piece by piece once the upstream is connected
    co_return true;
  }
  x.request_body.reserve(*length);
  char* chunk = relay_buffer();
  while (!parser.is_done()) {
    auto [ec, n] = co_await client_.read_body_piece(parser, chunk, kRelayChunkBytes);
    if (ec) {
      co_await reject_body(x, ec);
      co_return false;
    }
    x.request_body.append(chunk, n);
  }
  co_return true;
}

// The Host the origin sees (the client's, or the default sent without one) selects the variant:
// an origin may answer each host differently (RFC 9110 §7.2), so one host's answer must never
// be served to another. Nullopt (never cached): an invalid Host, or one cache.hosts does not name.
std::optional<std::string> Session::cache_host(const Exchange& x) const {
  const auto& request = x.parser.get();
  const auto field = request.find(http::field::host);
  const auto host = policy::normalize_host(field != request.end()
                                               ? std::string_view(field->value())
                                               : std::string_view(options_.upstream_host_header));
  if (!host) return std::nullopt;
  const auto canonical = options_.hosts.canonical(*host);
  if (!canonical) return std::nullopt;
  return std::string(*canonical);
}

asio::awaitable<bool> Session::serve_cacheable(Exchange& x, const policy::Rule& rule) {
  x.rule = &rule;
  const auto host = cache_host(x);
  if (!host) {
    x.cache.outcome = CacheOutcome::Uncacheable;
    x.cache.fwd = Forward::Request;
    x.cache.detail = Detail::Host;
    co_return co_await forward(x);
  }
  x.key = policy::variant_key(
      policy::build_cache_key("GET", x.path, x.query, rule.key_query, options_.bypass_param),
      *host);
  if (x.has_authorization && !rule.cache_authorized) {
    x.cache.outcome = CacheOutcome::Uncacheable;
    x.cache.fwd = Forward::Request;
    x.cache.detail = Detail::Authorization;
    co_return co_await forward(x);
  }
  // Without the configured token the param is ignored (forward() strips it either way).
  const bool bypass = policy::query_flag_set(x.query, options_.bypass_param) &&
                      upstream::bypass_authorized(x.parser.get(), options_.bypass_token);
  auto found =
      co_await proxy_.lookup_->lookup(x.key, policy::rule_lifetime(rule, options_.cache), bypass);
  x.cache.detail = found.detail;
  switch (found.kind) {
    case LookupKind::Hit:
      x.cache.outcome = CacheOutcome::Hit;
      co_return co_await write_hit(x, found.entry);
    case LookupKind::Collapsed:
      x.cache.outcome = CacheOutcome::Miss;
      x.cache.fwd = Forward::Miss;
      x.cache.collapsed = true;
      co_return co_await write_hit(x, found.entry);
    case LookupKind::Bypass:
      x.cache.outcome = CacheOutcome::Bypass;
      x.cache.fwd = Forward::Bypass;
      break;
    case LookupKind::Miss:
      x.cache.outcome = CacheOutcome::Miss;
      x.cache.fwd = Forward::Miss;
      break;
  }
  x.fill = std::move(found.fill);
  co_return co_await forward(x);
}

std::string Session::upstream_request_head(const Exchange& x) const {
  const auto& request = x.parser.get();
  upstream::UpstreamRequestHead head;
  // A HEAD that may fill the cache is sent as GET so the body can be stored (as nginx does).
  head.method = (x.fill && x.head_only) ? std::string_view("GET") : x.method;
  head.target = options_.upstream_base_path;
  head.target.append(x.path);
  const std::string query =
      x.rule ? policy::remove_query_param(x.query, options_.bypass_param) : std::string(x.query);
  if (!query.empty()) {
    head.target.push_back('?');
    head.target.append(query);
  }
  head.client_ip = client_ip_;
  head.trusted_peer = trusted_peer_;
  head.default_host = options_.upstream_host_header;
  head.strip_conditionals = x.fill.has_value();
  if (x.body_streaming) {
    const auto length = x.parser.content_length();
    head.framing = length ? upstream::BodyFraming::ContentLength : upstream::BodyFraming::Chunked;
    head.content_length = length.value_or(0);
  } else if (!x.request_body.empty() || x.parser.content_length() ||
             request.method() == http::verb::post || request.method() == http::verb::put ||
             request.method() == http::verb::patch) {
    head.framing = upstream::BodyFraming::ContentLength;
    head.content_length = x.request_body.size();
  }
  return upstream::render_upstream_request(request, head);
}

asio::awaitable<bool> Session::forward(Exchange& x) {
  const std::string head = upstream_request_head(x);
  ClientBody client_body(*this, x.parser);
  upstream::RequestBody body{x.request_body};
  if (x.body_streaming) {
    body.streamed = &client_body;
    body.chunked = !x.parser.content_length();
  }
  upstream::CallOptions call_options;
  call_options.retriable = is_idempotent(x.parser.get().method()) && !x.body_streaming;
  call_options.head_request = x.head_only && !x.fill;
  call_options.timeout = options_.upstream_timeout;
  std::optional<upstream::ResponseParser> response;
  const auto upstream_start = std::chrono::steady_clock::now();
  auto called = co_await upstream::call(proxy_.pool_, head, body, call_options, response);
  if (called.client_failed) {
    co_await reject_body(x, called.ec);
    co_return false;
  }
  proxy_.metrics_.record_upstream_call(std::chrono::steady_clock::now() - upstream_start,
                                       !called.ec);
  if (called.ec) {
    if (called.sent && policy::is_invalidating_method(x.method)) {
      // The origin may have applied the write although its answer is lost or cannot be
      // relayed (RFC 9111 §4.4 invalidates on success; unknown is treated as success here).
      const http::response_header<> no_response;
      co_await invalidate(x, no_response);
    }
    co_return co_await respond_upstream_failure(x, called.ec);
  }
  auto& message = response->get();
  x.status = message.result_int();
  if (policy::is_invalidating_method(x.method) && policy::is_invalidating_status(x.status)) {
    co_await invalidate(x, message);
  }
  co_return co_await relay_response(x, std::move(called.conn), *response);
}

// RFC 9111 §4.4: a successful write invalidates the rule's targets and its own URI, awaited
// before anything is written to the client.
asio::awaitable<void> Session::invalidate(Exchange& x, const http::response_header<>& response) {
  policy::Params params;
  const auto* rule = options_.rules->match(x.method, x.path, &params);
  if (rule) x.rule_name = rule->name;
  const policy::WriteResponse write{x.path, x.parser.get()[http::field::host],
                                    response[http::field::location],
                                    response[http::field::content_location]};
  std::vector<store::EraseTarget> targets;
  for (auto& spec : policy::invalidation_targets(rule, params, write)) {
    targets.push_back({spec.kind == policy::EraseSpec::Kind::Prefix
                           ? store::EraseTarget::Kind::Prefix
                           : store::EraseTarget::Kind::PathAndVariants,
                       std::move(spec.key)});
  }
  co_await proxy_.lookup_->invalidate(std::move(targets));
}

// The lifetime to store the response for, or nullopt (and why not, in x.cache) when it is not
// storable. `body_bytes` may be a lower bound while the body is still arriving.
std::optional<std::chrono::milliseconds> Session::storable_for(Exchange& x,
                                                               const policy::HeaderList& headers,
                                                               std::uint64_t body_bytes) const {
  const policy::ResponseView view{x.status, &headers};
  const auto decision =
      policy::decide_store(*x.rule, view, x.has_authorization, body_bytes, options_.cache);
  if (decision.store()) return decision.ttl;
  if (x.cache.outcome == CacheOutcome::Miss) x.cache.fwd = Forward::UriMiss;
  x.cache.not_storable(decision.reason);
  return std::nullopt;
}

asio::awaitable<bool> Session::relay_response(Exchange& x,
                                              std::unique_ptr<upstream::Connection> conn,
                                              upstream::ResponseParser& response) {
  const auto headers = upstream::collect_headers(response.get());
  if (!x.fill || !storable_for(x, headers, response.content_length().value_or(0))) {
    co_return co_await stream_response(x, std::move(conn), response, headers, {});
  }
  // Cache fill: buffer the body up to max_body_bytes; beyond that, stream what we have.
  std::string body;
  if (auto length = response.content_length()) body.reserve(*length);
  char* chunk = relay_buffer();
  while (!response.is_done() && body.size() <= options_.cache.max_body_bytes) {
    auto [ec, n] = co_await upstream::read_response_piece(*conn, response, chunk, kRelayChunkBytes,
                                                          options_.upstream_timeout);
    if (ec) co_return co_await respond_upstream_failure(x, ec);
    body.append(chunk, n);
  }
  const auto ttl = storable_for(x, headers, body.size());
  if (!ttl) co_return co_await stream_response(x, std::move(conn), response, headers, body);
  co_await store_response(x, headers, response.get().reason(), body, *ttl);
  co_return co_await write_stored(x, std::move(conn), response, headers, body);
}

asio::awaitable<void> Session::store_response(Exchange& x, const policy::HeaderList& headers,
                                              std::string_view reason, std::string_view body,
                                              std::chrono::milliseconds ttl) {
  const auto generated_at_ms =
      unix_now_ms() - parse_age_seconds(policy::find_header(headers, "age")) * 1000;
  auto entry = policy::encode_entry(generated_at_ms, x.status, reason, headers, body);
  Fill fill = std::move(*x.fill);
  x.fill.reset();
  const auto stored = co_await proxy_.lookup_->store(x.key, std::move(fill), std::move(entry), ttl,
                                                     x.rule->cache_namespace, body.size());
  switch (stored) {
    case StoreResult::Stored:
      x.cache.stored = true;
      break;
    case StoreResult::Overtaken:
      x.cache.detail = Detail::OvertakenByWrite;
      break;
    case StoreResult::StoreError:
      x.cache.detail = Detail::StoreError;
      break;
  }
}

}  // namespace cachecar::proxy
