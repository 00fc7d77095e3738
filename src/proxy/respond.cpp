// What a Session writes to its client: hits, stored fills, relayed responses, errors, and the
// access-log line. Cache-Status and X-Cache come from the request's CacheResult only.
#include "core/strings.hpp"
#include "net/wire.hpp"
#include "policy/conditional.hpp"
#include "policy/entry.hpp"
#include "proxy/coding.hpp"
#include "proxy/session.hpp"
#include "upstream/forwarding.hpp"

#include <spdlog/spdlog.h>

namespace cachecar::proxy {

namespace asio = net::asio;
namespace http = net::http;
using net::error_code;

bool is_timeout(const error_code& ec) {
  return ec == cachecar::errc::timeout || ec == net::beast::error::timeout;
}

namespace {

// What a response from the cache (or a fill) becomes for this request: the client's
// preconditions first (RFC 9110 §13.2.2), then a single byte range (§14.2).
struct Representation {
  enum class Kind { Full, NotModified, Partial, Unsatisfiable };
  Kind kind = Kind::Full;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

template <class ValidatorsFn>
Representation choose_representation(const Exchange& x, int status, std::uint64_t length,
                                     ValidatorsFn&& validators_of) {
  Representation chosen;
  if (status < 200 || status >= 300 || status == 206) return chosen;
  const auto& request = x.parser.get();
  const bool conditional = request.find(http::field::if_none_match) != request.end() ||
                           request.find(http::field::if_modified_since) != request.end();
  const bool ranged =
      !x.head_only && status == 200 && request.find(http::field::range) != request.end();
  if (!conditional && !ranged) return chosen;  // the common case reads no stored field
  const policy::Validators validators = validators_of();
  if (conditional) {
    const std::string if_none_match = combined_field(request, http::field::if_none_match);
    if (policy::not_modified(if_none_match, request[http::field::if_modified_since], validators)) {
      chosen.kind = Representation::Kind::NotModified;
      return chosen;
    }
  }
  if (!ranged) return chosen;
  const auto answer = policy::evaluate_range(request[http::field::range],
                                             request[http::field::if_range], length, validators);
  switch (answer.kind) {
    case policy::RangeKind::Single:
      chosen.kind = Representation::Kind::Partial;
      chosen.first = answer.first;
      chosen.last = answer.last;
      break;
    case policy::RangeKind::Unsatisfiable:
      chosen.kind = Representation::Kind::Unsatisfiable;
      break;
    case policy::RangeKind::Whole:
    case policy::RangeKind::Multiple:
      break;
  }
  return chosen;
}

std::string content_range(const Representation& chosen, std::uint64_t length) {
  if (chosen.kind == Representation::Kind::Unsatisfiable) {
    return "bytes */" + std::to_string(length);
  }
  return "bytes " + std::to_string(chosen.first) + "-" + std::to_string(chosen.last) + "/" +
         std::to_string(length);
}

// Calls fn(name, value) for each field line of a rendered head (after its status line).
template <class Fn>
void for_each_head_field(std::string_view head, Fn&& fn) {
  auto line_end = head.find("\r\n");
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    if (line_end == std::string_view::npos) break;
    const std::string_view line = head.substr(0, line_end);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    fn(line.substr(0, colon), core::trim(line.substr(colon + 1)));
  }
}

}  // namespace

char* Session::relay_buffer() {
  if (!relay_buffer_) relay_buffer_ = std::make_unique<char[]>(kRelayChunkBytes);
  return relay_buffer_.get();
}

asio::awaitable<error_code> Session::send(std::string_view a, std::string_view b,
                                          std::string_view c) {
  co_return co_await client_.send(a, b, c);
}

void Session::finish_client_head(std::string& head, const Exchange& x) const {
  head.append(x.client_fields);
  head.append(x.limit.fields);
  net::append_field(head, "X-Cache", x.cache.x_cache());
  net::append_field(head, "Cache-Status", x.cache.cache_status());
  if (!x.keep_alive) net::append_field(head, "Connection", "close");
  head.append("\r\n");
}

bool client_accepts_gzip(const http::request_header<>& request) {
  if (request.find(http::field::accept_encoding) == request.end()) {
    return policy::accepts_gzip(std::nullopt);
  }
  const std::string accept_encoding = combined_field(request, http::field::accept_encoding);
  return policy::accepts_gzip(accept_encoding);
}

asio::awaitable<bool> Session::write_hit(Exchange& x, const policy::EntryView& entry,
                                         std::int64_t age_s) {
  x.status = entry.status;
  // An unread request body would be parsed as the next request: close instead.
  if (x.body_streaming) x.keep_alive = false;
  // A body stored gzip goes as it is to clients that accept gzip; the others get the identity
  // representation (its own head and ETag), decompressed only when a body is sent.
  std::string identity_head_text;
  std::string identity_text;
  std::string_view head = entry.head;
  std::string_view full_body = entry.body;
  auto length = static_cast<std::uint64_t>(entry.body.size());
  const bool decode = entry.gzip_coded() && !client_accepts_gzip(x.parser.get());
  if (decode) {
    identity_head_text = identity_head(entry);
    head = identity_head_text;
    length = entry.identity_length;
  }
  const auto chosen =
      choose_representation(x, entry.status, length, [head] { return entry_validators(head); });
  if (chosen.kind == Representation::Kind::NotModified) {
    co_return co_await write_not_modified(x, head, nullptr, age_s);
  }
  if (decode && !x.head_only && chosen.kind != Representation::Kind::Unsatisfiable) {
    proxy_.metrics_.record_decompression();
    auto decoded = identity_body(entry, static_cast<std::size_t>(options_->cache.max_body_bytes));
    if (!decoded) {
      const error_code ec = decoded.error();
      co_return co_await respond_undecodable(x, ec);
    }
    identity_text = std::move(*decoded);
    full_body = identity_text;
  }
  std::string tail;
  tail.reserve(160);
  std::string ranged_head;
  std::string_view body = x.head_only ? std::string_view{} : full_body;
  if (chosen.kind != Representation::Kind::Full) {
    const bool partial = chosen.kind == Representation::Kind::Partial;
    x.status = partial ? 206 : 416;
    net::append_status_line(ranged_head, x.status, {});
    ranged_head.append(head.substr(head.find("\r\n") + 2));
    head = ranged_head;
    net::append_field(tail, "Content-Range", content_range(chosen, length));
    body = partial ? full_body.substr(chosen.first, chosen.last - chosen.first + 1)
                   : std::string_view{};
    net::append_field(tail, "Content-Length", static_cast<unsigned long long>(body.size()));
  } else if (entry.status != 204) {  // RFC 9110 §8.6: never on a 204
    net::append_field(tail, "Content-Length", static_cast<unsigned long long>(length));
  }
  net::append_field(tail, "Age", static_cast<unsigned long long>(age_s));
  // cache.expose_tags: the entry's tags, as its fill's client saw them (relay_response).
  if (options_->cache.tags.expose && !entry.tags.empty()) {
    net::append_field(tail, options_->cache.tags.header, entry.tags);
  }
  finish_client_head(tail, x);
  auto ec = co_await send(head, tail, body);
  co_return !ec;
}

// A stored gzip body that does not decompress within cache.max_body_size (corrupt, or stored
// under a larger limit before a reload): 502, and the entry goes so that the next request
// fetches it again.
asio::awaitable<bool> Session::respond_undecodable(Exchange& x, const error_code& ec) {
  proxy_.metrics_.record_store_error(metrics::StoreOperation::Decode);
  std::uint64_t suppressed = 0;
  if (proxy_.options_->logs->store_errors.allow(&suppressed)) {
    spdlog::warn(
        "stored gzip body of {} cannot be served decompressed: {} ({} similar errors "
        "suppressed)",
        x.target, ec.message(), suppressed);
  }
  x.fill.reset();
  x.cache.stored = false;
  std::vector<store::EraseTarget> targets;
  targets.push_back({store::EraseTarget::Kind::Exact, x.stored_key.empty() ? x.key : x.stored_key});
  co_await proxy_.lookup_->invalidate(std::move(targets));
  const std::string body = net::json_error_body(
      "bad_gateway", "the stored response cannot be decompressed within cache.max_body_size");
  co_return co_await respond(x, 502, body);
}

// RFC 9110 §15.4.5: a 304 carries the fields a 200 would have among ETag, Last-Modified,
// Cache-Control, Expires, Vary, Content-Location and Date; from a stored head or a field list.
asio::awaitable<bool> Session::write_not_modified(Exchange& x, std::string_view stored_head,
                                                  const policy::HeaderList* fields,
                                                  std::int64_t age_s) {
  x.status = 304;
  std::string head;
  head.reserve(256);
  net::append_status_line(head, 304, {});
  auto add = [&head](std::string_view name, std::string_view value) {
    if (policy::is_not_modified_field(name)) net::append_field(head, name, value);
  };
  if (fields) {
    for (const auto& [name, value] : *fields) add(name, value);
  } else {
    for_each_head_field(stored_head, add);
  }
  net::append_field(head, "Age", static_cast<unsigned long long>(age_s));
  finish_client_head(head, x);
  auto ec = co_await send(head, {}, {});
  co_return !ec;
}

asio::awaitable<bool> Session::respond_only_if_cached(Exchange& x) {
  if (!co_await admit(x)) co_return co_await refuse(x);
  x.fill.reset();
  x.cache.outcome = metrics::CacheOutcome::Miss;
  x.cache.fwd = Forward::Miss;
  x.cache.detail = Detail::OnlyIfCached;
  const std::string body = net::json_error_body(
      "gateway_timeout", "only-if-cached: no stored response can answer this request");
  co_return co_await respond(x, 504, body);
}

asio::awaitable<bool> Session::respond_must_revalidate(Exchange& x) {
  x.fill.reset();
  proxy_.metrics_.record_upstream_error();
  x.cache.detail = Detail::None;
  x.cache.stored = false;
  const std::string body = net::json_error_body(
      "gateway_timeout",
      "the stored response must be revalidated and the upstream cannot be reached");
  co_return co_await respond(x, 504, body);
}

// A fill's whole body, read (and stored) before the client gets it, with its length.
asio::awaitable<bool> Session::write_stored(Exchange& x, std::unique_ptr<upstream::Connection> conn,
                                            upstream::ResponseParser& response,
                                            const policy::HeaderList& headers,
                                            std::string_view body) {
  const bool reusable = upstream::reusable(response);
  if (reusable) proxy_.pool_.release(std::move(conn));
  // The client's preconditions and Range were not sent with the fill: answered here, as a hit
  // would answer them.
  const auto length = static_cast<std::uint64_t>(body.size());
  const auto chosen = choose_representation(x, x.status, length,
                                            [&headers] { return response_validators(headers); });
  if (chosen.kind == Representation::Kind::NotModified) {
    co_return co_await write_not_modified(x, {}, &headers, 0);
  }
  std::string head;
  head.reserve(512);
  // A HEAD gets the Content-Length its GET would (RFC 9110 §9.3.2); the body is dropped below.
  std::string_view payload = body;
  if (chosen.kind == Representation::Kind::Full) {
    net::append_status_line(head, x.status, response.get().reason());
    upstream::append_relayable_fields(head, headers, false);
  } else {
    const bool partial = chosen.kind == Representation::Kind::Partial;
    x.status = partial ? 206 : 416;
    net::append_status_line(head, x.status, {});
    upstream::append_relayable_fields(head, headers, false);
    net::append_field(head, "Content-Range", content_range(chosen, length));
    payload =
        partial ? body.substr(chosen.first, chosen.last - chosen.first + 1) : std::string_view{};
  }
  if (x.status != 204) {  // RFC 9110 §8.6: never on a 204
    net::append_field(head, "Content-Length", static_cast<unsigned long long>(payload.size()));
  }
  finish_client_head(head, x);
  if (x.head_only) payload = {};
  auto ec = co_await send(head, payload, {});
  co_return !ec;
}

asio::awaitable<bool> Session::stream_response(Exchange& x,
                                               std::unique_ptr<upstream::Connection> conn,
                                               upstream::ResponseParser& response,
                                               const policy::HeaderList& headers,
                                               std::string_view prefix) {
  x.fill.reset();  // nothing will be stored: waiters fetch on their own now
  const auto framing =
      upstream::choose_relay_framing(x.head_only, x.status, response, x.parser.get().version());
  if (framing == upstream::RelayFraming::UntilClose) x.keep_alive = false;

  std::string lead;
  lead.reserve(512);
  net::append_status_line(lead, x.status, response.get().reason());
  upstream::append_relayable_fields(lead, headers,
                                    framing == upstream::RelayFraming::None && x.status != 204);
  if (framing == upstream::RelayFraming::Length) {
    const auto length = response.content_length().value_or(prefix.size());
    net::append_field(lead, "Content-Length", static_cast<unsigned long long>(length));
  } else if (framing == upstream::RelayFraming::Chunked) {
    net::append_field(lead, "Transfer-Encoding", "chunked");
  }
  finish_client_head(lead, x);

  if (framing == upstream::RelayFraming::None) {
    auto ec = co_await send(lead, {}, {});
    if (response.is_done() && upstream::reusable(response)) {
      proxy_.pool_.release(std::move(conn));
    }
    co_return !ec;
  }
  const auto relayed =
      co_await upstream::relay_body(*conn, response, *this, lead, prefix, framing, relay_buffer(),
                                    kRelayChunkBytes, options_->upstream_timeout);
  if (relayed.upstream_failed) {
    if (!relayed.wrote_any) co_return co_await respond_upstream_failure(x, relayed.ec);
    // Mid-body failure: the status is already sent, so only closing tells the client.
    proxy_.metrics_.record_upstream_error();
    x.keep_alive = false;
    co_return false;
  }
  if (relayed.ec) co_return false;
  if (upstream::reusable(response)) proxy_.pool_.release(std::move(conn));
  co_return true;
}

// The client's body could not be read: over the limit (chunked bodies only find out here)
// 413, trailers too large 431, invalid chunked framing 400; a timeout or reset leaves no one
// to answer. The connection closes either way: where the next request starts is unknown.
asio::awaitable<void> Session::reject_body(Exchange& x, const error_code& ec) {
  x.keep_alive = false;
  const auto rejection = net::rejection_for_read_error(ec);
  if (!rejection) co_return;
  x.cache.fwd = Forward::Request;
  x.cache.detail = Detail::None;
  x.cache.stored = false;
  const std::string body = net::json_error_body(rejection->code, rejection->detail);
  co_await respond(x, rejection->status, body);
}

asio::awaitable<bool> Session::respond_upstream_failure(Exchange& x, const error_code& ec) {
  x.fill.reset();
  proxy_.metrics_.record_upstream_error();
  const bool timeout = is_timeout(ec);
  std::uint64_t suppressed = 0;
  if (proxy_.options_->logs->upstream_errors.allow(&suppressed)) {
    spdlog::warn("upstream request {} {} failed: {} ({} similar errors suppressed)", x.method,
                 x.target, ec.message(), suppressed);
  }
  if (x.body_streaming) x.keep_alive = false;  // part of the request body may be unread
  x.cache.detail = Detail::None;
  x.cache.stored = false;
  const int status = timeout ? 504 : 502;
  // A response that arrived but cannot be relayed (bad framing, oversized head or trailers) is
  // not an unreachable upstream: say which, so an operator looks in the right place.
  const bool invalid_response =
      ec.category() == http::make_error_code(http::error::bad_method).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message;
  std::string body;
  if (timeout) {
    body = net::json_error_body("gateway_timeout", "the upstream did not answer in time");
  } else if (invalid_response) {
    body = net::json_error_body(
        "bad_gateway", "the upstream sent a response that cannot be relayed: " + ec.message());
  } else {
    body = net::json_error_body("bad_gateway", "the upstream is unreachable");
  }
  co_return co_await respond(x, status, body);
}

asio::awaitable<bool> Session::respond(Exchange& x, int status, std::string_view body) {
  x.status = status;
  std::string extra = x.limit.fields;
  net::append_field(extra, "X-Cache", x.cache.x_cache());
  net::append_field(extra, "Cache-Status", x.cache.cache_status());
  auto response = net::render_response(status, "application/json", body, x.keep_alive, extra);
  // RFC 9110 §9.3.2: no content in a response to HEAD (the fields, Content-Length included,
  // are those a GET would get); bytes sent there would start the connection's next response.
  if (x.head_only) response.resize(response.size() - body.size());
  auto ec = co_await send(response, {}, {});
  co_return !ec;
}

void Session::log_access(const Exchange& x) const {
  const auto elapsed = std::chrono::steady_clock::now() - x.start;
  proxy_.metrics_.record_request({x.cache.outcome, x.rule_name, x.method, x.status, elapsed});
  if (!options_->access_log) return;
  const auto& logger = options_->logs->access;
  auto& sink = logger ? *logger : *spdlog::default_logger();
  if (!sink.should_log(spdlog::level::info)) return;
  const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
  if (options_->json_access_log) {
    std::string line = "{\"method\": \"";
    net::append_json_escaped(line, x.method);
    line.append("\", \"target\": \"");
    net::append_json_escaped(line, x.target);
    line.append("\", \"client\": \"");
    line.append(client_ip_);
    line.append("\", \"status\": ");
    line.append(std::to_string(x.status));
    line.append(", \"cache\": \"");
    line.append(x.cache.x_cache());
    line.append("\", \"duration_ms\": ");
    line.append(fmt::format("{:.3f}", ms));
    line.append("}");
    sink.info(line);
  } else {
    sink.info("{} {} {} {} {} {:.3f}ms", client_ip_, x.method, x.target, x.status,
              x.cache.x_cache(), ms);
  }
}

}  // namespace cachecar::proxy
