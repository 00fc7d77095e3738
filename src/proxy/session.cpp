// The flow of one request through the cache: see session.hpp.
#include "proxy/session.hpp"

#include "core/strings.hpp"
#include "net/wire.hpp"
#include "policy/cache_key.hpp"
#include "policy/entry.hpp"
#include "policy/invalidation.hpp"
#include "upstream/forwarding.hpp"

#include "policy/conditional.hpp"
#include "policy/vary.hpp"
#include "proxy/coding.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
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

store::EraseTarget::Kind erase_kind(policy::EraseSpec::Kind kind) {
  switch (kind) {
    case policy::EraseSpec::Kind::Prefix:
      return store::EraseTarget::Kind::Prefix;
    case policy::EraseSpec::Kind::Tag:
      return store::EraseTarget::Kind::Tag;
    case policy::EraseSpec::Kind::PathAndVariants:
      break;
  }
  return store::EraseTarget::Kind::PathAndVariants;
}

// The store keeps every tag policy lets through.
static_assert(policy::kMaxTagsPerEntry <= store::kMaxTagsPerEntry &&
              policy::kMaxTagBytes <= store::kMaxTagBytes);

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
    : proxy_(proxy), client_(client), open_connection_(proxy.metrics_) {
  if (client.remote()) client_ip_ = client.remote()->address().to_string();
  take_options_snapshot();
}

// One snapshot per request, taken before anything reads a setting: a reload never mixes two
// configurations in one request. Cheap while nothing was reloaded (a pointer comparison).
void Session::take_options_snapshot() {
  if (options_ == proxy_.options_) return;
  options_ = proxy_.options_;
  // Every request on a connection comes from the same peer: checked once per snapshot.
  trusted_peer_ = options_->trusted_proxies.contains(client_ip_);
}

asio::awaitable<bool> Session::handle(RequestParser& parser) {
  take_options_snapshot();
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
    const auto* rule = readable ? options_->rules->match("GET", x.path, &params) : nullptr;
    if (rule) x.rule_name = rule->name;
    start_rate_limit(x, readable ? rule : options_->rules->match(x.method, x.path, nullptr));
    if (rule && rule->caches()) {
      x.rule_tags = policy::fill_tags(rule->tags, params);
      keep = co_await serve_cacheable(x, *rule);
    } else if (readable && asks_only_if_cached(request)) {
      // RFC 9111 §5.2.1.7: nothing is stored for this path, and the origin is not asked.
      keep = co_await respond_only_if_cached(x);
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
  if (!length || *length > options_->cache.max_body_bytes) {
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
                                               : std::string_view(options_->upstream_host_header));
  if (!host) return std::nullopt;
  const auto canonical = options_->hosts.canonical(*host);
  if (!canonical) return std::nullopt;
  return std::string(*canonical);
}

policy::Validators entry_validators(std::string_view head) noexcept {
  return {policy::entry_field(head, "etag"), policy::entry_field(head, "last-modified"),
          policy::entry_field(head, "date")};
}

policy::Validators response_validators(const policy::HeaderList& headers) noexcept {
  return {policy::find_header(headers, "etag"), policy::find_header(headers, "last-modified"),
          policy::find_header(headers, "date")};
}

bool outdates(const policy::EntryView& stored, int status, const policy::HeaderList& headers) {
  auto validators = entry_validators(stored.head);
  validators.etag = policy::origin_etag(stored);  // not a gzip representation's own
  return status >= 200 && status < 300 &&
         policy::validators_differ(validators, response_validators(headers));
}

bool asks_only_if_cached(const http::request_header<>& request) {
  if (request.find(http::field::cache_control) == request.end()) return false;
  const std::string cache_control = combined_field(request, http::field::cache_control);
  return policy::parse_request_cache_control(cache_control, {}).only_if_cached;
}

std::string combined_field(const http::request_header<>& request, http::field name) {
  std::string value;
  for (auto [it, end] = request.equal_range(name); it != end; ++it) {
    if (!value.empty()) value.append(", ");
    value.append(it->value());
  }
  return value;
}

asio::awaitable<bool> Session::serve_cacheable(Exchange& x, const policy::Rule& rule) {
  x.rule = &rule;
  const auto& request = x.parser.get();
  const std::string cache_control = combined_field(request, http::field::cache_control);
  x.client_cc = policy::parse_request_cache_control(cache_control, request[http::field::pragma]);
  x.honor_client = rule.client_cache_control == policy::ClientCacheControl::Honor;
  const auto host = cache_host(x);
  if (!host) {
    if (x.client_cc.only_if_cached) co_return co_await respond_only_if_cached(x);
    x.cache.outcome = CacheOutcome::Uncacheable;
    x.cache.fwd = Forward::Request;
    x.cache.detail = Detail::Host;
    co_return co_await forward(x);
  }
  x.key = policy::variant_key(
      policy::build_cache_key("GET", x.path, x.query, rule.key_query, options_->bypass_param),
      *host);
  if (x.has_authorization && !rule.cache_authorized) {
    if (rule.freshness == policy::FreshnessMode::Rule) {
      if (x.client_cc.only_if_cached) co_return co_await respond_only_if_cached(x);
      x.cache.outcome = CacheOutcome::Uncacheable;
      x.cache.fwd = Forward::Request;
      x.cache.detail = Detail::Authorization;
      co_return co_await forward(x);
    }
    // RFC 9111 §3.5: served only what the origin marked shareable (public, s-maxage,
    // must-revalidate), stored only when the response says so.
    x.needs_shared_authorization = true;
  }
  // Several ranges would need multipart/byteranges assembled from the store: forwarded as
  // they are, and the 206 is not stored.
  if (!x.head_only && policy::is_multi_range(request[http::field::range])) {
    if (x.client_cc.only_if_cached) co_return co_await respond_only_if_cached(x);
    x.cache.outcome = CacheOutcome::Uncacheable;
    x.cache.fwd = Forward::Request;
    x.cache.detail = Detail::MultiRange;
    co_return co_await forward(x);
  }
  // Without the configured token the param is ignored (forward() strips it either way).
  const bool bypass = policy::query_flag_set(x.query, options_->bypass_param) &&
                      upstream::bypass_authorized(request, options_->bypass_token);
  LookupRequest lookup_request;
  lookup_request.bypass = bypass;
  // RFC 9111 §5.2.1.7: honoured whatever client_cache_control says (it never reaches the origin).
  lookup_request.only_if_cached = x.client_cc.only_if_cached && !bypass;
  lookup_request.needs_shared_authorization = x.needs_shared_authorization;
  lookup_request.client = x.honor_client ? &x.client_cc : nullptr;
  lookup_request.secondary_key = [&request](const std::vector<std::string>& fields) {
    return policy::vary_secondary_key(fields, upstream::collect_headers(request));
  };
  // With a rate limit: one round trip asks both (lookup_admitted).
  auto found = co_await lookup_admitted(x, lookup_request);
  if (!x.limit.admitted()) co_return co_await refuse(x);
  x.cache.detail = found.detail;
  x.fill_variant_only = !found.stored_key.empty() && found.stored_key != x.key;
  x.variants_on_encoding = found.variants_on_encoding;
  switch (found.kind) {
    case LookupKind::Hit:
      x.cache.outcome = CacheOutcome::Hit;
      x.stored_key = std::move(found.stored_key);  // a move: a hit copies no key
      co_return co_await write_hit(x, found.entry, found.reuse.age_s);
    case LookupKind::Collapsed:
      x.cache.outcome = CacheOutcome::Miss;
      x.cache.fwd = Forward::Miss;
      x.cache.collapsed = true;
      co_return co_await write_hit(x, found.entry, found.reuse.age_s);
    case LookupKind::Stale:
      // RFC 5861 §3: answered at once; at most one request per key revalidates meanwhile.
      x.cache.outcome = CacheOutcome::Hit;
      x.cache.stale = true;
      x.cache.ttl = found.reuse.ttl_s;
      proxy_.metrics_.record_stale_response(metrics::StaleReason::WhileRevalidate);
      // A GET with a body is not replayed in the background: its body is not kept.
      if (found.fill && x.request_body.empty() && !x.body_streaming) {
        x.stored_key = found.stored_key.empty() ? x.key : found.stored_key;
        x.stale_value = found.value;
        x.stale = found.entry;
        x.revalidating = x.stale.freshness.has(policy::kHasValidator);
        const auto executor = co_await asio::this_coro::executor;
        revalidate_in_background(x, *found.fill, executor);
      }
      co_return co_await write_hit(x, found.entry, found.reuse.age_s);
    case LookupKind::Revalidate:
      if (lookup_request.only_if_cached) co_return co_await respond_only_if_cached(x);
      x.cache.outcome = CacheOutcome::Miss;
      x.cache.fwd = Forward::Stale;
      x.stale_value = std::move(found.value);
      x.stale = found.entry;
      x.stale_reuse = found.reuse;
      x.revalidating = x.stale.freshness.has(policy::kHasValidator);
      x.stored_key = found.stored_key.empty() ? x.key : std::move(found.stored_key);
      break;
    case LookupKind::Bypass:
      x.cache.outcome = CacheOutcome::Bypass;
      x.cache.fwd = Forward::Bypass;
      break;
    case LookupKind::Miss:
      if (lookup_request.only_if_cached) co_return co_await respond_only_if_cached(x);
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
  head.method = ((x.fill || x.stale_value) && x.head_only) ? std::string_view("GET") : x.method;
  head.target = options_->upstream_base_path;
  head.target.append(x.path);
  const std::string query =
      x.rule ? policy::remove_query_param(x.query, options_->bypass_param) : std::string(x.query);
  if (!query.empty()) {
    head.target.push_back('?');
    head.target.append(query);
  }
  head.client_ip = client_ip_;
  head.trusted_peer = trusted_peer_;
  head.default_host = options_->upstream_host_header;
  // A fill (and a revalidation) asks for the whole representation, with the stored validators
  // only: the client's own preconditions and Range are evaluated here, against what is stored.
  head.strip_conditionals = x.fill.has_value() || x.stale_value != nullptr;
  if (x.revalidating) {
    head.if_none_match = policy::origin_etag(x.stale);
    head.if_modified_since = policy::entry_field(x.stale.head, "last-modified");
  }
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
  if (!co_await admit(x)) co_return co_await refuse(x);  // the origin never sees a refused one
  const std::string head = upstream_request_head(x);
  ClientBody client_body(*this, x.parser);
  upstream::RequestBody body{x.request_body};
  if (x.body_streaming) {
    body.streamed = &client_body;
    body.chunked = !x.parser.content_length();
  }
  upstream::CallOptions call_options;
  call_options.retriable = is_idempotent(x.parser.get().method()) && !x.body_streaming;
  call_options.head_request = x.head_only && !x.fill && !x.stale_value;
  call_options.timeout = options_->upstream_timeout;
  // RFC 9110 §15.2: interim responses (102, 103) reach HTTP/1.1 clients only.
  if (x.parser.get().version() >= 11) call_options.interim_sink = this;
  std::optional<upstream::ResponseParser> response;
  const auto upstream_start = std::chrono::steady_clock::now();
  x.request_ms = unix_now_ms();
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
    if (x.stale_value) {
      // No fwd-status: the upstream sent none (RFC 9211 §2.3).
      if (x.stale_reuse.serve_on_error) co_return co_await answer_stale_on_error(x, 0);
      if (x.stale.freshness.has(policy::kMustRevalidate)) {
        // RFC 9111 §5.2.2.2: a stale response that must be revalidated is never served
        // without it; the cache answers 504 when it cannot reach the origin.
        co_return co_await respond_must_revalidate(x);
      }
    }
    co_return co_await respond_upstream_failure(x, called.ec);
  }
  x.response_ms = unix_now_ms();
  auto& message = response->get();
  x.status = message.result_int();
  if (policy::is_invalidating_method(x.method) && policy::is_invalidating_status(x.status)) {
    co_await invalidate(x, message);
  }
  if (x.stale_value) {
    // RFC 5861 §4: these errors may be answered with the stale copy; the unread error body
    // goes with its connection.
    const bool error_status =
        x.status == 500 || x.status == 502 || x.status == 503 || x.status == 504;
    if (error_status && x.stale_reuse.serve_on_error) {
      co_return co_await answer_stale_on_error(x, x.status);
    }
    if (x.revalidating && x.status == 304) {
      co_return co_await answer_not_modified(x, std::move(called.conn), *response);
    }
  }
  co_return co_await relay_response(x, std::move(called.conn), *response);
}

// RFC 9111 §4.4: a successful write invalidates the rule's targets and its own URI, awaited
// before anything is written to the client.
asio::awaitable<void> Session::invalidate(Exchange& x, const http::response_header<>& response) {
  policy::Params params;
  const auto* rule = options_->rules->match(x.method, x.path, &params);
  if (rule) x.rule_name = rule->name;
  const policy::WriteResponse write{x.path, x.parser.get()[http::field::host],
                                    response[http::field::location],
                                    response[http::field::content_location]};
  std::vector<store::EraseTarget> targets;
  std::uint64_t tags = 0;
  for (auto& spec : policy::invalidation_targets(rule, params, write)) {
    tags += spec.kind == policy::EraseSpec::Kind::Tag ? 1 : 0;
    targets.push_back({erase_kind(spec.kind), std::move(spec.key)});
  }
  if (tags) proxy_.metrics_.record_tag_purges(metrics::TagPurgeSource::Write, tags);
  co_await proxy_.lookup_->invalidate(std::move(targets));
}

// What storing an answer needs besides the response: the same for a client's fill and for a
// background revalidation, which outlives its client.
StoreInputs Session::store_inputs(const Exchange& x) const {
  StoreInputs in;
  in.rule = x.rule;
  in.key = x.key;
  in.has_authorization = x.has_authorization;
  in.client_no_store = x.honor_client && x.client_cc.no_store;
  in.request_ms = x.request_ms;
  in.response_ms = x.response_ms;
  in.variants_on_encoding = x.variants_on_encoding;
  in.rule_tags = x.rule_tags;
  in.request = &x.parser.get();
  return in;
}

policy::TagCollector collect_tags(const StoreInputs& in, const policy::HeaderList& headers,
                                  std::string_view recorded, const policy::TagOptions& options) {
  policy::TagCollector tags;
  for (const auto& tag : in.rule_tags) tags.add(tag);
  tags.add_fields(headers, options);
  tags.add_list(recorded);
  return tags;
}

policy::StoreDecision decide_storing(const StoreInputs& in, const policy::CacheLimits& limits,
                                     int status, const policy::HeaderList& headers,
                                     std::uint64_t body_bytes) {
  const policy::ResponseView view{status, &headers};
  policy::StoreContext context;
  context.rule = in.rule;
  context.limits = &limits;
  context.request_has_authorization = in.has_authorization;
  context.client_no_store = in.client_no_store;
  context.request_ms = in.request_ms;
  context.response_ms = in.response_ms;
  context.body_bytes = body_bytes;
  return policy::decide_store(view, context);
}

// Where a response is stored: under the primary key, or as the variant its Vary fields and the
// request's values of them select (RFC 9111 §4.1).
std::optional<store::VariantFill> variant_for(const StoreInputs& in,
                                              const policy::HeaderList& headers, bool coded) {
  auto vary = policy::vary_of(headers);
  // A body stored gzip answers every Accept-Encoding itself (gzip or decompressed): one entry.
  if (coded) std::erase(vary.fields, "accept-encoding");
  // An identity body is one shared entry, unless compressed variants of the key are stored:
  // then it is the variant of the clients that get identity, so neither replaces the other.
  if (vary.identity_accept_encoding && in.variants_on_encoding && !coded) {
    vary.fields.insert(std::lower_bound(vary.fields.begin(), vary.fields.end(), "accept-encoding"),
                       "accept-encoding");
  }
  if (vary.fields.empty()) return std::nullopt;
  std::optional<store::VariantFill> variant;
  variant.emplace();
  variant->primary_key = in.key;
  const auto secondary =
      in.request ? policy::vary_secondary_key(vary.fields, upstream::collect_headers(*in.request))
                 : policy::vary_secondary_key(vary.fields, in.request_fields);
  variant->variant_key = in.key + secondary;
  variant->fields = vary.fields;
  variant->max_variants = in.rule->max_variants;
  return variant;
}

// The decision to store the response, or nullopt (and why not, in x.cache) when it is not
// storable. `body_bytes` may be a lower bound while the body is still arriving.
std::optional<policy::StoreDecision> Session::storable_for(Exchange& x, int status,
                                                           const policy::HeaderList& headers,
                                                           std::uint64_t body_bytes) const {
  auto decision = decide_storing(store_inputs(x), options_->cache, status, headers, body_bytes);
  if (decision.store()) return decision;
  if (x.cache.outcome == CacheOutcome::Miss && x.cache.fwd == Forward::Miss) {
    x.cache.fwd = Forward::UriMiss;
  }
  x.cache.not_storable(decision.reason);
  return std::nullopt;
}

// RFC 9111 §4.3.5: a GET answer that is not stored, and whose validators differ from the entry
// it was asked about, means that entry is outdated: it goes.
asio::awaitable<void> Session::drop_outdated(Exchange& x, const policy::HeaderList& headers) {
  if (!x.stale_value || !outdates(x.stale, x.status, headers)) co_return;
  std::vector<store::EraseTarget> targets;
  targets.push_back({store::EraseTarget::Kind::Exact, x.stored_key});
  co_await proxy_.lookup_->invalidate(std::move(targets));
}

asio::awaitable<bool> Session::relay_response(Exchange& x,
                                              std::unique_ptr<upstream::Connection> conn,
                                              upstream::ResponseParser& response) {
  auto headers = upstream::collect_headers(response.get());
  if (x.limit.verdict != RateLimitVerdict::None) policy::strip_rate_limit_fields(headers);
  if (x.stale_value) x.cache.fwd_status = x.status;
  const auto& tag_options = options_->cache.tags;
  if (x.fill) x.tags = collect_tags(store_inputs(x), headers, {}, tag_options);
  if (!tag_options.expose) policy::strip_tag_fields(headers, tag_options);
  std::optional<policy::StoreDecision> decision;
  if (x.fill) {
    decision = storable_for(x, x.status, headers, response.content_length().value_or(0));
  }
  if (!decision) {
    co_await drop_outdated(x, headers);
    co_return co_await stream_response(x, std::move(conn), response, headers, {});
  }
  // Cache fill: buffer the body up to max_body_bytes; beyond that, stream what we have.
  std::string body;
  if (auto length = response.content_length()) body.reserve(*length);
  char* chunk = relay_buffer();
  while (!response.is_done() && body.size() <= options_->cache.max_body_bytes) {
    auto [ec, n] = co_await upstream::read_response_piece(*conn, response, chunk, kRelayChunkBytes,
                                                          options_->upstream_timeout);
    if (ec) co_return co_await respond_upstream_failure(x, ec);
    body.append(chunk, n);
  }
  decision = storable_for(x, x.status, headers, body.size());
  if (!decision) {
    co_await drop_outdated(x, headers);
    co_return co_await stream_response(x, std::move(conn), response, headers, body);
  }
  // The entry records its tags; its head never has the fields. Exposed, a stored response's
  // client sees the entry's tags, as a hit's does (write_hit).
  policy::strip_tag_fields(headers, tag_options);
  const auto form = code_for_storing(options_->cache.compression, options_->cache.max_body_bytes,
                                     headers, body, proxy_.metrics_);
  auto entry = encode_stored(form, decision->freshness, x.status, response.get().reason(), headers,
                             body, decision->strip_fields, x.tags.tags());
  const bool expose_tags = tag_options.expose && !x.tags.tags().empty();
  if (expose_tags) headers.emplace_back(tag_options.header, policy::join_tags(x.tags.tags()));
  const std::string_view stored_body = form.stored_body(body);
  co_await store_entry(x, headers, std::move(entry), *decision, stored_body.size(), form.coded());
  if (!form.coded()) co_return co_await write_stored(x, std::move(conn), response, headers, body);
  if (x.cache.stored) proxy_.metrics_.record_compression(form.identity_length, stored_body.size());
  policy::HeaderList fields = form.fields;
  if (expose_tags) fields.emplace_back(tag_options.header, policy::join_tags(x.tags.tags()));
  // Answered as a hit on this entry would answer this client.
  if (client_accepts_gzip(x.parser.get())) {
    co_return co_await write_stored(x, std::move(conn), response, fields, stored_body);
  }
  const auto identity = policy::identity_representation_fields(fields, form.identity_etag);
  const std::string_view identity_body = form.identity_body(body);
  co_return co_await write_stored(x, std::move(conn), response, identity, identity_body);
}

asio::awaitable<void> Session::store_entry(Exchange& x, const policy::HeaderList& headers,
                                           std::string entry, const policy::StoreDecision& decision,
                                           std::uint64_t body_bytes, bool coded) {
  Fill fill = std::move(*x.fill);
  x.fill.reset();
  const StoreInputs in = store_inputs(x);
  const auto variant = variant_for(in, headers, coded);
  const auto& dropped = x.tags.dropped();
  if (dropped.total()) proxy_.metrics_.record_tags_dropped(dropped.over_limit, dropped.invalid);
  auto tags = x.tags.take();
  const auto stored =
      co_await proxy_.lookup_->store(x.key, variant, fill, std::move(entry), decision.ttl,
                                     x.rule->cache_namespace, std::move(tags), body_bytes);
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

// The upstream confirmed the stored response (RFC 9111 §4.3.3, §4.3.4): its fields are updated
// from the 304 and it is stored again with the new freshness, then served.
asio::awaitable<bool> Session::answer_not_modified(Exchange& x,
                                                   std::unique_ptr<upstream::Connection> conn,
                                                   upstream::ResponseParser& response) {
  auto not_modified = upstream::collect_headers(response.get());
  if (response.is_done() && upstream::reusable(response)) proxy_.pool_.release(std::move(conn));
  // A 304's tag fields add to the recorded tags; they are never merged into the stored head.
  x.tags = collect_tags(store_inputs(x), not_modified, x.stale.tags, options_->cache.tags);
  policy::strip_tag_fields(not_modified, options_->cache.tags);
  x.cache.outcome = CacheOutcome::Hit;
  x.cache.forwarded = true;
  x.cache.revalidated = true;
  x.cache.fwd = Forward::Stale;
  x.cache.fwd_status = 304;
  const auto head = policy::parse_entry_head(x.stale.head);
  const auto fields =
      policy::freshen_fields(policy::origin_fields(x.stale, head.fields), not_modified);
  store::Value served = x.stale_value;
  policy::EntryView view = x.stale;
  // A cookie in the 304 is this client's (never stored), and, like a 200 with one, the 304
  // does not refresh what is stored unless the rule says cache_private.
  bool sets_cookie = false;
  for (const auto& [name, value] : not_modified) {
    if (!core::iequals(name, "set-cookie")) continue;
    sets_cookie = true;
    net::append_field(x.client_fields, name, value);
  }
  if (sets_cookie && !x.rule->cache_private) {
    x.fill.reset();
    x.cache.not_storable(policy::NotStored::SetCookie);
  }
  // RFC 9111 §4.3.4: a strong validator in the 304 must be the stored one's to update it.
  const auto confirmed = policy::find_header(not_modified, "etag");
  const auto stored_etag = policy::origin_etag(x.stale);
  if (!confirmed.empty() && !confirmed.starts_with("W/") && confirmed != stored_etag) {
    x.fill.reset();
  }
  if (x.fill) {
    auto decision = decide_storing(store_inputs(x), options_->cache, x.stale.status, fields,
                                   x.stale.body.size());
    if (decision.store()) {
      auto entry = encode_freshened(x.stale, decision.freshness, head.reason, fields,
                                    decision.strip_fields, x.tags.tags());
      auto value = std::make_shared<const std::string>(entry);
      if (auto decoded = policy::decode_entry(*value)) {
        served = std::move(value);
        view = *decoded;
      }
      co_await store_entry(x, fields, std::move(entry), decision, x.stale.body.size(),
                           x.stale.gzip_coded());
      x.cache.stored = false;  // the body was already stored: Cache-Status says fwd-status=304
    } else {
      x.fill.reset();
    }
  }
  const auto age_s = policy::decide_reuse(view.freshness, unix_now_ms(), nullptr).age_s;
  co_return co_await write_hit(x, view, age_s);
}

// RFC 5861 §4: the upstream failed while a stale copy may still answer for it.
asio::awaitable<bool> Session::answer_stale_on_error(Exchange& x, int fwd_status) {
  x.fill.reset();
  x.cache.outcome = CacheOutcome::Hit;
  x.cache.forwarded = true;
  x.cache.stale = true;
  x.cache.fwd = Forward::Stale;
  x.cache.fwd_status = fwd_status;
  x.cache.detail = Detail::StaleIfError;
  x.cache.stored = false;
  proxy_.metrics_.record_stale_response(metrics::StaleReason::IfError);
  const auto age_s = policy::decide_reuse(x.stale.freshness, unix_now_ms(), nullptr).age_s;
  co_return co_await write_hit(x, x.stale, age_s);
}

// The background half of stale-while-revalidate: a conditional request for the stored entry,
// stored like any fill (with the token read before it was sent). It owns everything it uses:
// the client may be gone by the time the upstream answers.
struct BackgroundRevalidation {
  StoreInputs in;
  // The request's settings (a reload meanwhile does not change them); keeps `in.rule` alive.
  std::shared_ptr<const ProxyOptions> options;
  std::string upstream_head;
  store::Value stale_value;
  policy::EntryView stale;
  std::string stored_key;  // where `stale` was found
  Fill fill;
};

// x.stale is the entry being served; the request is rendered as its revalidation.
void Session::revalidate_in_background(Exchange& x, Fill& fill,
                                       const asio::any_io_executor& executor) {
  auto job = std::make_shared<BackgroundRevalidation>();
  job->in = store_inputs(x);
  job->in.request = nullptr;
  job->in.request_fields = upstream::collect_headers(x.parser.get());
  job->stored_key = x.stored_key;
  job->options = options_;
  job->stale_value = x.stale_value;
  job->stale = x.stale;
  job->fill = std::move(fill);
  job->upstream_head = upstream_request_head(x);
  asio::co_spawn(executor, run_background_revalidation(proxy_, std::move(job)), asio::detached);
}

asio::awaitable<void> Session::run_background_revalidation(
    Proxy& proxy, std::shared_ptr<BackgroundRevalidation> job) {
  try {
    const auto& options = *job->options;
    upstream::RequestBody body{};
    upstream::CallOptions call_options;
    call_options.retriable = true;
    call_options.timeout = options.upstream_timeout;
    std::optional<upstream::ResponseParser> response;
    job->in.request_ms = unix_now_ms();
    auto called =
        co_await upstream::call(proxy.pool_, job->upstream_head, body, call_options, response);
    if (called.ec) {
      proxy.metrics_.record_upstream_error();
      co_return;
    }
    job->in.response_ms = unix_now_ms();
    const int status = response->get().result_int();
    auto headers = upstream::collect_headers(response->get());
    const auto& tag_options = options.cache.tags;
    auto tags = collect_tags(job->in, headers, status == 304 ? job->stale.tags : "", tag_options);
    policy::strip_tag_fields(headers, tag_options);
    std::string entry;
    policy::StoreDecision decision;
    std::uint64_t body_bytes = 0;
    bool coded = false;
    std::uint64_t identity_bytes = 0;  // a new body stored gzip: its identity size
    policy::HeaderList stored_fields;
    if (status == 304) {
      if (response->is_done() && upstream::reusable(*response)) {
        proxy.pool_.release(std::move(called.conn));
      }
      const auto head = policy::parse_entry_head(job->stale.head);
      stored_fields =
          policy::freshen_fields(policy::origin_fields(job->stale, head.fields), headers);
      body_bytes = job->stale.body.size();
      decision =
          decide_storing(job->in, options.cache, job->stale.status, stored_fields, body_bytes);
      if (!decision.store()) co_return;
      entry = encode_freshened(job->stale, decision.freshness, head.reason, stored_fields,
                               decision.strip_fields, tags.tags());
      coded = job->stale.gzip_coded();
    } else {
      std::string payload;
      auto buffer = std::make_unique<char[]>(kRelayChunkBytes);
      while (!response->is_done() && payload.size() <= options.cache.max_body_bytes) {
        auto [ec, n] = co_await upstream::read_response_piece(
            *called.conn, *response, buffer.get(), kRelayChunkBytes, options.upstream_timeout);
        if (ec) co_return;
        payload.append(buffer.get(), n);
      }
      if (!response->is_done()) co_return;
      if (upstream::reusable(*response)) proxy.pool_.release(std::move(called.conn));
      stored_fields = headers;
      body_bytes = payload.size();
      decision = decide_storing(job->in, options.cache, status, stored_fields, body_bytes);
      if (!decision.store()) {
        // RFC 9111 §4.3.5, as for a client's own request (drop_outdated).
        if (outdates(job->stale, status, headers)) {
          std::vector<store::EraseTarget> targets;
          targets.push_back({store::EraseTarget::Kind::Exact, job->stored_key});
          co_await proxy.lookup_->invalidate(std::move(targets));
        }
        co_return;
      }
      const auto form = code_for_storing(options.cache.compression, options.cache.max_body_bytes,
                                         stored_fields, payload, proxy.metrics_);
      entry = encode_stored(form, decision.freshness, status, response->get().reason(),
                            stored_fields, payload, decision.strip_fields, tags.tags());
      body_bytes = form.stored_body(payload).size();
      coded = form.coded();
      identity_bytes = form.identity_length;
    }
    const auto variant = variant_for(job->in, stored_fields, coded);
    const auto& dropped = tags.dropped();
    if (dropped.total()) proxy.metrics_.record_tags_dropped(dropped.over_limit, dropped.invalid);
    auto entry_tags = tags.take();
    const auto stored = co_await proxy.lookup_->store(
        job->in.key, variant, job->fill, std::move(entry), decision.ttl,
        job->in.rule->cache_namespace, std::move(entry_tags), body_bytes);
    if (stored == StoreResult::Stored && identity_bytes > 0) {
      proxy.metrics_.record_compression(identity_bytes, body_bytes);
    }
  } catch (...) {
    // Nothing may escape a detached coroutine: it would terminate the process.
    proxy.metrics_.record_worker_exception();
  }
}

}  // namespace cachecar::proxy
