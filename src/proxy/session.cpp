// One client connection: read requests, answer hits from the store, forward everything else to
// the upstream, relay responses (buffering only cache fills, streaming the rest).
#include "core/log_limiter.hpp"
#include "core/strings.hpp"
#include "net/framing.hpp"
#include "net/http_read.hpp"
#include "net/wire.hpp"
#include "policy/cache_key.hpp"
#include "policy/entry.hpp"
#include "policy/invalidation.hpp"
#include "policy/uri.hpp"
#include "proxy/proxy.hpp"
#include "store/pending_invalidations.hpp"
#include "upstream/forwarding.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <charconv>
#include <optional>

namespace cachecar::proxy {
namespace {

namespace asio = net::asio;
namespace beast = net::beast;
namespace http = net::http;
using net::error_code;
using net::use_nothrow;
using RequestParser = net::RequestParser<http::buffer_body>;
using ResponseParser = net::ResponseParser<http::buffer_body>;
using metrics::CacheOutcome;
using upstream::BodyFraming;
using upstream::UpstreamRequestHead;
using upstream::append_relayable_fields;
using upstream::bypass_authorized;
using upstream::collect_headers;
using upstream::render_upstream_request;

constexpr std::size_t kRelayChunkBytes = 64 * 1024;
constexpr std::uint32_t kMaxUpstreamHeaderBytes = 64 * 1024;

// Process-wide: a dead store or upstream must not turn every request into a log line.
core::LogLimiter g_store_error_log;
core::LogLimiter g_upstream_error_log;

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads whatever body bytes are available (at least one parser step) into [data, capacity).
template <class Stream, class Parser>
asio::awaitable<std::pair<error_code, std::size_t>> read_body_piece(Stream& stream,
                                                                    beast::flat_buffer& buffer,
                                                                    Parser& parser, char* data,
                                                                    std::size_t capacity) {
  parser.get().body().data = data;
  parser.get().body().size = capacity;
  auto ec = co_await net::read_body_some(stream, buffer, parser);
  if (ec == http::error::need_buffer) ec = {};
  co_return std::pair{ec, capacity - parser.get().body().size};
}

bool is_timeout(const error_code& ec) {
  return ec == cachecar::errc::timeout || ec == beast::error::timeout;
}

// A pooled connection the upstream closed while idle fails like this on first use, before
// any response byte (partial_message would mean response bytes did arrive: not retried).
bool is_stale_connection_error(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

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

// Non-idempotent requests are never retried, so they only take pooled connections idle for
// less than this: shorter than any common upstream keep-alive timeout (nginx 75 s, Node 5 s).
constexpr auto kMaxIdleForUnretriable = std::chrono::seconds(2);

std::string_view x_cache_value(CacheOutcome outcome) {
  switch (outcome) {
    case CacheOutcome::Hit:
      return "HIT";
    case CacheOutcome::Miss:
      return "MISS";
    case CacheOutcome::Bypass:
      return "BYPASS";
    case CacheOutcome::Uncacheable:
    case CacheOutcome::Pass:
      return "PASS";
  }
  return "PASS";
}

std::int64_t parse_age_seconds(std::string_view value) {
  std::int64_t age = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), age);
  return (ec == std::errc{} && age > 0) ? age : 0;
}

void log_store_error(std::string_view operation, const error_code& ec) {
  std::uint64_t suppressed = 0;
  if (g_store_error_log.allow(&suppressed)) {
    spdlog::warn("cache store {} failed: {} (serving from upstream; {} similar errors suppressed)",
                 operation, ec.message(), suppressed);
  }
}

}  // namespace

// Per-request state, from the request head to the access-log line.
struct Exchange {
  explicit Exchange(RequestParser& p) : parser(p) {}
  RequestParser& parser;
  std::string_view method;
  policy::NormalizedTarget normalized;  // owns what target, path and query view
  std::string_view target;
  std::string_view path;
  std::string_view query;
  bool keep_alive = true;
  bool head_only = false;
  bool has_authorization = false;
  std::chrono::steady_clock::time_point start;

  std::string request_body;     // whole body when it was small enough to buffer
  bool body_streaming = false;  // body still unread in the parser: relay it, never retry

  const policy::Rule* rule = nullptr;  // the caching rule when the request is cacheable
  std::string_view rule_name;          // the matching rule (caching or invalidating), for metrics
  std::string key;
  bool try_store = false;
  // Read with the lookup (misses only: before the upstream is asked); the put checks it. Empty
  // (an unconditional put) for bypasses and for entries that failed to decode.
  store::FillToken fill_token;

  FillCoalescer::Lease lease;  // held while this request fetches a key others wait for
  bool collapsed = false;      // answered with another request's fill (RFC 9211 "collapsed")

  CacheOutcome outcome = CacheOutcome::Pass;
  std::string_view fwd = "method";  // RFC 9211 fwd parameter
  std::string_view detail;          // RFC 9211 detail: why not stored
  bool stored = false;
  int status = 0;

  std::string cache_status() const {
    if (outcome == CacheOutcome::Hit) {
      return detail.empty() ? std::string("cachecar; hit")
                            : "cachecar; hit; detail=" + std::string(detail);
    }
    std::string value = "cachecar; fwd=";
    value.append(fwd);
    if (stored) value.append("; stored");
    if (collapsed) value.append("; collapsed");
    if (!detail.empty()) {
      value.append("; detail=");
      value.append(detail);
    }
    return value;
  }
};

class Session {
 public:
  Session(Proxy& proxy, net::tcp::socket socket)
      : proxy_(proxy),
        options_(proxy.options_),
        stream_(std::move(socket)),
        registration_(proxy.tracker_, stream_.socket()),
        open_connection_(proxy.metrics_) {
    error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) client_ip_ = remote.address().to_string();
    // Once per connection: every request on it comes from the same peer.
    trusted_peer_ = options_.trusted_proxies.contains(client_ip_);
  }

  asio::awaitable<void> run();

 private:
  asio::awaitable<bool> handle(RequestParser& parser);
  asio::awaitable<bool> receive_request_body(Exchange& x);
  asio::awaitable<bool> serve_cacheable(Exchange& x, const policy::Rule& rule);
  asio::awaitable<void> read_fill_token(Exchange& x);
  bool covered_by_pending(const Exchange& x) const;
  asio::awaitable<void> reject_body(Exchange& x, const error_code& ec);
  asio::awaitable<void> close_gracefully();
  asio::awaitable<bool> write_hit(Exchange& x, const policy::EntryView& entry);
  asio::awaitable<bool> forward(Exchange& x);
  asio::awaitable<error_code> send_request(Exchange& x, upstream::Connection& conn,
                                           const std::string& head, bool* client_failed);
  asio::awaitable<error_code> read_response_header(upstream::Connection& conn,
                                                   std::optional<ResponseParser>& response,
                                                   bool head_request);
  asio::awaitable<void> invalidate(Exchange& x, const http::response_header<>& response);
  void keep_pending(const std::vector<store::EraseTarget>& targets, const error_code& ec);
  asio::awaitable<bool> relay_response(Exchange& x, std::unique_ptr<upstream::Connection> conn,
                                       ResponseParser& response);
  asio::awaitable<bool> stream_response(Exchange& x, std::unique_ptr<upstream::Connection> conn,
                                        ResponseParser& response, const policy::HeaderList& headers,
                                        std::string_view prefix);
  asio::awaitable<bool> respond_upstream_failure(Exchange& x, const error_code& ec);
  asio::awaitable<error_code> write_piece(bool chunked, std::string& lead, std::string_view data);
  asio::awaitable<bool> respond(Exchange& x, int status, std::string_view body);
  asio::awaitable<error_code> send(std::string_view a, std::string_view b = {},
                                   std::string_view c = {});
  asio::awaitable<void> store_response(Exchange& x, const policy::HeaderList& headers,
                                       std::string_view reason, std::string_view body,
                                       std::chrono::milliseconds ttl);
  void finish_client_head(std::string& head, const Exchange& x) const;
  std::optional<std::string> cache_host(const Exchange& x) const;
  void log_access(const Exchange& x) const;
  char* relay_buffer();

  Proxy& proxy_;
  const ProxyOptions& options_;
  beast::tcp_stream stream_;
  net::ConnectionTracker::Registration registration_;
  metrics::Metrics::ClientConnection open_connection_;  // the open client connections gauge
  beast::flat_buffer buffer_;
  std::string client_ip_;
  bool trusted_peer_ = false;  // client_ip_ is in trusted_proxies
  std::unique_ptr<char[]> relay_buffer_;
};

Proxy::Proxy(ProxyOptions options, store::CacheStore& store, upstream::Pool& pool,
             metrics::Metrics& metrics, net::ConnectionTracker& tracker)
    : options_(std::move(options)),
      store_(store),
      pool_(pool),
      metrics_(metrics),
      tracker_(tracker),
      access_logger_(spdlog::get("access")) {
  if (!options_.rules) options_.rules = std::make_shared<policy::RuleSet>();
}

asio::awaitable<void> Proxy::serve(net::tcp::socket socket) {
  // Nothing may escape: an exception out of a detached coroutine terminates the process.
  try {
    Session session(*this, std::move(socket));
    co_await session.run();
  } catch (const std::exception& e) {
    spdlog::error("client session failed: {}", e.what());
  } catch (...) {
    spdlog::error("client session failed with an unknown exception");
  }
}

char* Session::relay_buffer() {
  if (!relay_buffer_) relay_buffer_ = std::make_unique<char[]>(kRelayChunkBytes);
  return relay_buffer_.get();
}

asio::awaitable<error_code> Session::send(std::string_view a, std::string_view b,
                                          std::string_view c) {
  const std::array<asio::const_buffer, 3> buffers{asio::buffer(a), asio::buffer(b),
                                                  asio::buffer(c)};
  stream_.expires_after(options_.client_body_timeout);
  auto [ec, written] = co_await asio::async_write(stream_, buffers, use_nothrow);
  co_return ec;
}

asio::awaitable<void> Session::run() {
  buffer_.max_size(net::read_buffer_limit(options_.max_header_bytes));
  const net::RequestLimits limits{options_.max_header_bytes, options_.max_request_body_bytes};
  bool first = true;
  while (!proxy_.tracker_.stopping()) {
    RequestParser parser;
    net::configure_request_parser(parser, limits);
    registration_.set_idle(true);
    // The first head is due within the header timeout of the accept; a later one may be
    // awaited for the idle timeout, but once its first byte is here, it gets the header timeout.
    if (!first && buffer_.size() == 0) {  // pipelined bytes: no wait, no coroutine frame
      auto idle_ec =
          co_await net::await_request_start(stream_, buffer_, options_.client_idle_timeout);
      if (idle_ec) break;
    }
    stream_.expires_after(options_.client_header_timeout);
    auto [ec, ignored] = co_await http::async_read_header(stream_, buffer_, parser, use_nothrow);
    registration_.set_idle(false);
    first = false;
    std::optional<net::Rejection> rejection;
    if (ec) {
      rejection = net::rejection_for_read_error(ec);
    } else {
      rejection = net::check_request_framing(parser.get());
    }
    if (rejection) {
      // Refused before the body: it is unread, so the connection cannot go on.
      const std::string response = net::render_rejection(*rejection);
      co_await send(response);
      break;
    }
    if (ec || !co_await handle(parser)) break;
  }
  co_await close_gracefully();
}

// Half-close, then read and discard what the client still sends (briefly, bounded): closing
// with unread data makes the kernel send RST, and the client may lose our last response
// (a 413 or 400) to ECONNRESET. nginx calls this lingering close.
asio::awaitable<void> Session::close_gracefully() {
  constexpr auto kLinger = std::chrono::milliseconds(500);
  constexpr std::size_t kMaxDrainBytes = 1 << 20;
  error_code ignored;
  stream_.socket().shutdown(net::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLinger);
  char* scratch = relay_buffer();
  for (std::size_t drained = 0; drained < kMaxDrainBytes;) {
    auto [ec, n] =
        co_await stream_.async_read_some(asio::buffer(scratch, kRelayChunkBytes), use_nothrow);
    if (ec) break;
    drained += n;
  }
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
  x.keep_alive = request.keep_alive() && !proxy_.tracker_.stopping();
  x.head_only = request.method() == http::verb::head;
  x.has_authorization = request.find(http::field::authorization) != request.end();

  bool keep = false;
  if (!x.normalized.ok()) {
    x.keep_alive = false;
    x.fwd = "request";
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
      x.fwd = readable ? "uri-miss" : "method";
      x.detail = readable ? "no-rule" : "";
      keep = co_await forward(x);
    }
  }
  log_access(x);
  co_return keep&& x.keep_alive;
}

asio::awaitable<bool> Session::receive_request_body(Exchange& x) {
  auto& parser = x.parser;
  if (parser.is_done()) co_return true;
  if (parser.get().version() >= 11 &&
      core::iequals(parser.get()[http::field::expect], "100-continue")) {
    if (co_await send("HTTP/1.1 100 Continue\r\n\r\n")) co_return false;
  }
  const auto length = parser.content_length();
  if (!length || *length > options_.cache.max_body_bytes) {
    x.body_streaming = true;  // relayed piece by piece once the upstream is connected
    co_return true;
  }
  x.request_body.reserve(*length);
  char* chunk = relay_buffer();
  while (!parser.is_done()) {
    stream_.expires_after(options_.client_body_timeout);
    auto [ec, n] = co_await read_body_piece(stream_, buffer_, parser, chunk, kRelayChunkBytes);
    if (ec) {
      co_await reject_body(x, ec);
      co_return false;
    }
    x.request_body.append(chunk, n);
  }
  co_return true;
}

// The client's body could not be read: over the limit (chunked bodies only find out here)
// 413, trailers too large 431, invalid chunked framing 400; a timeout or reset leaves no one
// to answer. The connection closes either way: where the next request starts is unknown.
asio::awaitable<void> Session::reject_body(Exchange& x, const error_code& ec) {
  x.keep_alive = false;
  const auto rejection = net::rejection_for_read_error(ec);
  if (!rejection) co_return;
  x.fwd = "request";
  x.detail = {};
  x.stored = false;
  const std::string body = net::json_error_body(rejection->code, rejection->detail);
  co_await respond(x, rejection->status, body);
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
  x.key = policy::build_cache_key("GET", x.path, x.query, rule.key_query, options_.bypass_param);
  const auto host = cache_host(x);
  if (!host) {
    x.outcome = CacheOutcome::Uncacheable;
    x.fwd = "request";
    x.detail = "host";
    co_return co_await forward(x);
  }
  x.key = policy::variant_key(x.key, *host);
  if (x.has_authorization && !rule.cache_authorized) {
    x.outcome = CacheOutcome::Uncacheable;
    x.fwd = "request";
    x.detail = "authorization";
    co_return co_await forward(x);
  }
  // Until a failed invalidation that names this key is replayed, the store's copy may predate
  // the write: neither served nor refreshed.
  x.try_store = !covered_by_pending(x);
  // Without the configured token the param is ignored (forward() strips it either way).
  if (policy::query_flag_set(x.query, options_.bypass_param) &&
      bypass_authorized(x.parser.get(), options_.bypass_token)) {
    x.outcome = CacheOutcome::Bypass;
    x.fwd = "bypass";
    if (x.try_store) co_await read_fill_token(x);
    co_return co_await forward(x);
  }
  if (!x.try_store) {
    // A failed invalidation of this key is still pending: the store may hold pre-write data.
    proxy_.metrics_.record_lookup(x.key, false);
    x.outcome = CacheOutcome::Miss;
    x.fwd = "miss";
    x.detail = "pending-invalidation";
    co_return co_await forward(x);
  }
  auto* l1 = options_.l1.get();
  if (l1) {
    if (auto value = l1->get(x.key)) {
      if (auto entry = policy::decode_entry(*value)) {
        proxy_.metrics_.record_lookup(x.key, true);
        x.outcome = CacheOutcome::Hit;
        x.detail = "l1";
        x.status = entry->status;
        co_return co_await write_hit(x, *entry);
      }
    }
  }
  // The L1 token is taken before the round trip: a reply that raced an invalidation of this
  // key is served once but never kept in L1.
  const bool fill_l1 = l1 && l1->active();
  const auto token = fill_l1 ? l1->token(x.key) : store::L1Cache::Token{};
  store::Value value;
  auto found = co_await proxy_.store_.get(x.key, &x.fill_token);
  if (!found) {
    proxy_.metrics_.record_store_error("get");
    log_store_error("get", found.error());
    // No fill token was read, and a put without one is unconditional: it could keep a response
    // that a write (whose invalidation may land meanwhile, or be replayed later) overtook.
    x.try_store = false;
    x.detail = "store-error";
  } else {
    value = std::move(*found);
  }
  if (value) {
    if (auto entry = policy::decode_entry(*value)) {
      if (fill_l1) {
        // Left in Redis: at least the rule's TTL minus the entry's age (the age counts from
        // when the upstream generated it, so this never overshoots the Redis expiry).
        const auto ttl =
            std::min(rule.ttl.value_or(options_.cache.default_ttl), options_.cache.max_ttl);
        const auto left = ttl - std::chrono::milliseconds(unix_now_ms() - entry->stored_at_ms);
        if (left.count() > 0 && !covered_by_pending(x)) l1->fill(x.key, value, left, token);
      }
      proxy_.metrics_.record_lookup(x.key, true);
      x.outcome = CacheOutcome::Hit;
      x.status = entry->status;
      co_return co_await write_hit(x, *entry);
    }
    proxy_.metrics_.record_store_error("decode");
    log_store_error("decode", make_error_code(errc::corrupt_entry));
    co_await read_fill_token(x);  // the lookup found an entry, so it brought no token
  }
  proxy_.metrics_.record_lookup(x.key, false);
  x.outcome = CacheOutcome::Miss;
  x.fwd = "miss";
  if (x.try_store && options_.coalescer && options_.coalesce_wait.count() > 0) {
    auto joined = co_await options_.coalescer->join(x.key, options_.coalesce_wait);
    if (joined.entry) {
      if (auto entry = policy::decode_entry(*joined.entry)) {
        x.collapsed = true;
        x.status = entry->status;
        co_return co_await write_hit(x, *entry);
      }
    }
    x.lease = std::move(joined.lease);
  }
  co_return co_await forward(x);
}

bool Session::covered_by_pending(const Exchange& x) const {
  return options_.pending_invalidations && options_.pending_invalidations->covers(x.key);
}

// An explicit refresh stores what it fetches, so, like a fill after a miss, it reads the fill
// token before asking the upstream: a write that overtakes it keeps its response out of the
// store. Without a token it does not store at all (an unconditional put could keep pre-write
// data). Costs one store round trip on bypasses.
asio::awaitable<void> Session::read_fill_token(Exchange& x) {
  auto token = co_await proxy_.store_.read_fill_token(x.key);
  if (token) {
    x.fill_token = std::move(*token);
    co_return;
  }
  proxy_.metrics_.record_store_error("get");
  log_store_error("get", token.error());
  x.try_store = false;
  x.detail = "store-error";
}

void Session::finish_client_head(std::string& head, const Exchange& x) const {
  net::append_field(head, "X-Cache", x_cache_value(x.outcome));
  net::append_field(head, "Cache-Status", x.cache_status());
  if (!x.keep_alive) net::append_field(head, "Connection", "close");
  head.append("\r\n");
}

asio::awaitable<bool> Session::write_hit(Exchange& x, const policy::EntryView& entry) {
  // An unread request body would be parsed as the next request: close instead.
  if (x.body_streaming) x.keep_alive = false;
  std::string tail;
  tail.reserve(160);
  net::append_field(tail, "Content-Length", static_cast<unsigned long long>(entry.body.size()));
  net::append_field(
      tail, "Age",
      static_cast<unsigned long long>(policy::age_seconds(entry.stored_at_ms, unix_now_ms())));
  finish_client_head(tail, x);
  const std::string_view body = x.head_only ? std::string_view{} : entry.body;
  auto ec = co_await send(entry.head, tail, body);
  co_return !ec;
}

asio::awaitable<bool> Session::forward(Exchange& x) {
  const auto& request = x.parser.get();
  UpstreamRequestHead head;
  // A HEAD that may fill the cache is sent as GET so the body can be stored (as nginx does).
  head.method = (x.try_store && x.head_only) ? std::string_view("GET") : x.method;
  const bool upstream_head = head.method == "HEAD";
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
  head.strip_conditionals = x.try_store;
  if (x.body_streaming) {
    const auto length = x.parser.content_length();
    head.framing = length ? BodyFraming::ContentLength : BodyFraming::Chunked;
    head.content_length = length.value_or(0);
  } else if (!x.request_body.empty() || x.parser.content_length() ||
             request.method() == http::verb::post || request.method() == http::verb::put ||
             request.method() == http::verb::patch) {
    head.framing = BodyFraming::ContentLength;
    head.content_length = x.request_body.size();
  }
  const std::string head_bytes = render_upstream_request(request, head);

  std::unique_ptr<upstream::Connection> conn;
  std::optional<ResponseParser> response;
  const auto upstream_start = std::chrono::steady_clock::now();
  const bool retriable = is_idempotent(request.method()) && !x.body_streaming;
  for (int attempt = 0;; ++attempt) {
    // Not `cond ? co_await a : co_await b`: GCC 12 miscompiles co_await inside ?: .
    result<std::unique_ptr<upstream::Connection>> acquired;
    if (attempt > 0 || x.body_streaming) {
      // A streamed body cannot be sent twice: it gets a fresh connection, never a stale one.
      acquired = co_await proxy_.pool_.connect_new();
    } else if (retriable) {
      acquired = co_await proxy_.pool_.acquire();
    } else {
      acquired = co_await proxy_.pool_.acquire(kMaxIdleForUnretriable);
    }
    if (!acquired) {
      proxy_.metrics_.record_upstream_call(std::chrono::steady_clock::now() - upstream_start,
                                           false);
      co_return co_await respond_upstream_failure(x, acquired.error());
    }
    conn = std::move(*acquired);
    bool client_failed = false;
    auto ec = co_await send_request(x, *conn, head_bytes, &client_failed);
    if (client_failed) {
      // The upstream has a partial request: abort it (never pooled), then answer the client.
      conn->stream.close();
      co_await reject_body(x, ec);
      co_return false;
    }
    const bool sent = !ec;
    if (!ec) ec = co_await read_response_header(*conn, response, upstream_head);
    if (!ec) break;
    // An idle keep-alive connection the upstream closed fails at once; try a fresh one.
    if (attempt == 0 && conn->reused && retriable && is_stale_connection_error(ec)) {
      continue;
    }
    proxy_.metrics_.record_upstream_call(std::chrono::steady_clock::now() - upstream_start, false);
    if (sent && policy::is_invalidating_method(x.method)) {
      // The origin may have applied the write although its answer is lost or cannot be
      // relayed (RFC 9111 §4.4 invalidates on success; unknown is treated as success here).
      const http::response_header<> no_response;
      co_await invalidate(x, no_response);
    }
    co_return co_await respond_upstream_failure(x, ec);
  }
  proxy_.metrics_.record_upstream_call(std::chrono::steady_clock::now() - upstream_start, true);
  auto& message = response->get();
  x.status = message.result_int();
  if (policy::is_invalidating_method(x.method) && policy::is_invalidating_status(x.status)) {
    co_await invalidate(x, message);
  }
  co_return co_await relay_response(x, std::move(conn), *response);
}

asio::awaitable<error_code> Session::send_request(Exchange& x, upstream::Connection& conn,
                                                  const std::string& head, bool* client_failed) {
  conn.stream.expires_after(options_.upstream_timeout);
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(x.request_body)};
  auto [ec, written] = co_await asio::async_write(conn.stream, buffers, use_nothrow);
  if (ec || !x.body_streaming) co_return ec;

  // Relay a large or chunked request body without holding it whole.
  const bool chunked = !x.parser.content_length();
  char* chunk = relay_buffer();
  while (!x.parser.is_done()) {
    stream_.expires_after(options_.client_body_timeout);
    auto [read_ec, n] =
        co_await read_body_piece(stream_, buffer_, x.parser, chunk, kRelayChunkBytes);
    if (read_ec) {
      *client_failed = true;
      co_return read_ec;
    }
    if (n == 0) continue;
    char size_line[24];
    auto [end, conv_ec] = std::to_chars(size_line, size_line + 16, n, 16);
    (void)conv_ec;
    *end++ = '\r';
    *end++ = '\n';
    const std::string_view framing = chunked ? std::string_view(size_line, end - size_line) : "";
    const std::array<asio::const_buffer, 3> pieces{
        asio::buffer(framing), asio::buffer(chunk, n),
        asio::buffer(chunked ? std::string_view("\r\n") : std::string_view())};
    conn.stream.expires_after(options_.upstream_timeout);
    auto [write_ec, ignored] = co_await asio::async_write(conn.stream, pieces, use_nothrow);
    if (write_ec) co_return write_ec;
  }
  if (chunked) {
    conn.stream.expires_after(options_.upstream_timeout);
    auto [end_ec, ignored] =
        co_await asio::async_write(conn.stream, asio::buffer("0\r\n\r\n", 5), use_nothrow);
    co_return end_ec;
  }
  co_return error_code{};
}

asio::awaitable<error_code> Session::read_response_header(upstream::Connection& conn,
                                                          std::optional<ResponseParser>& response,
                                                          bool head_request) {
  conn.buffer.max_size(net::read_buffer_limit(kMaxUpstreamHeaderBytes));
  for (;;) {
    response.emplace();
    response->header_limit(kMaxUpstreamHeaderBytes);
    response->trailer_limit(kMaxUpstreamHeaderBytes);
    response->body_limit(boost::none);  // large bodies stream through
    if (head_request) response->skip(true);
    conn.stream.expires_after(options_.upstream_timeout);
    auto [ec, ignored] =
        co_await http::async_read_header(conn.stream, conn.buffer, *response, use_nothrow);
    if (ec) co_return ec;
    const int status = response->get().result_int();
    if (status < 100 || status >= 200 || status == 101) {
      // RFC 9112 §6.1: only chunked is removed and re-framed; anything else would be relayed
      // (or stored) under the wrong framing. 502, and the connection is not reused. A response
      // without a body (to HEAD, 204, 304: RFC 9112 §6.3) has nothing to frame.
      const bool bodiless = head_request || status == 204 || status == 304;
      if (!bodiless && !net::response_framing_ok(response->get())) {
        co_return make_error_code(http::error::bad_transfer_encoding);
      }
      co_return error_code{};
    }
    // Interim 1xx responses (e.g. 100 Continue): we answered Expect ourselves, skip them.
  }
}

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
  // L1 is cleared after Redis: a concurrent L1 fill that read the old value before the Redis
  // erase took its token before this erase, so it cannot land afterwards.
  auto sent = targets;
  auto erased = co_await proxy_.store_.erase(std::move(sent));
  if (!erased) {
    proxy_.metrics_.record_store_error("invalidate");
    // Pending before L1 is cleared: a lookup that misses L1 from now on also sees it pending,
    // so it cannot refill L1 with the old entry from the store.
    keep_pending(targets, erased.error());
  }
  if (options_.l1) options_.l1->erase(targets);
  if (!erased) co_return;
  proxy_.metrics_.record_invalidated(*erased);
}

// The write succeeded at the origin but its invalidation did not reach the store: the old
// entries must not be served (here) until a replay has erased them, and the loss is never
// silent.
void Session::keep_pending(const std::vector<store::EraseTarget>& targets, const error_code& ec) {
  proxy_.metrics_.record_invalidation_failed();
  const std::string described = store::describe_targets(targets);
  std::uint64_t suppressed = 0;
  if (proxy_.invalidation_error_log_.allow(&suppressed)) {
    spdlog::error(
        "invalidation of {} failed: {}; kept pending until the store answers ({} similar "
        "errors suppressed)",
        described, ec.message(), suppressed);
  }
  auto* pending = options_.pending_invalidations.get();
  if (!pending) return;
  if (pending->add(targets) == store::PendingInvalidations::Added::Overflowed) {
    proxy_.metrics_.record_invalidations_overflowed();
    spdlog::error(
        "more than {} invalidations pending: every lookup misses until the whole "
        "cache has been cleared",
        options_.max_pending_invalidations);
  }
}

// Awaited before the response is written: once a client has a response, the entry is in the
// store, so a write it sends next (on any connection, any thread) invalidates it. A
// fire-and-forget fill could land after that invalidation and serve stale data for a whole
// TTL. Costs one store round trip on misses only, bounded by the store's timeout/breaker.
asio::awaitable<void> Session::store_response(Exchange& x, const policy::HeaderList& headers,
                                              std::string_view reason, std::string_view body,
                                              std::chrono::milliseconds ttl) {
  const auto generated_at_ms =
      unix_now_ms() - parse_age_seconds(policy::find_header(headers, "age")) * 1000;
  auto entry = policy::encode_entry(generated_at_ms, x.status, reason, headers, body);
  store::Value for_waiters;
  if (x.lease) for_waiters = std::make_shared<const std::string>(entry);
  // A write whose invalidation failed while this fill was in flight may have answered its client
  // already: its replay has not run, so the token cannot tell. Same outcome as overtaken.
  error_code ec = make_error_code(errc::fill_overtaken);
  if (!covered_by_pending(x)) {
    ec = co_await proxy_.store_.put(x.key, std::move(entry), ttl, x.rule->cache_namespace,
                                    &x.fill_token);
  }
  if (ec == errc::fill_overtaken) {
    // A write (through any cachecar sharing the store) invalidated this key after our token
    // was read, before asking the upstream: the response may predate it. It is served to its
    // own client, but neither kept nor handed to coalesced waiters (releasing the lease
    // unpublished sends them upstream themselves).
    x.lease = {};
    x.detail = "overtaken-by-write";
    co_return;
  }
  // Waiters get the entry even when the store failed: the response itself was storable.
  if (x.lease) x.lease.publish(std::move(for_waiters));
  if (ec) {
    proxy_.metrics_.record_store_error("put");
    log_store_error("put", ec);
    x.detail = "store-error";
    co_return;
  }
  x.stored = true;
  proxy_.metrics_.record_stored(body.size());
}

asio::awaitable<bool> Session::relay_response(Exchange& x,
                                              std::unique_ptr<upstream::Connection> conn,
                                              ResponseParser& response) {
  const auto headers = collect_headers(response.get());
  if (!x.try_store) co_return co_await stream_response(x, std::move(conn), response, headers, {});

  const policy::ResponseView view{x.status, &headers};
  auto decision = policy::decide_store(*x.rule, view, x.has_authorization,
                                       response.content_length().value_or(0), options_.cache);
  if (!decision.store()) {
    if (x.outcome == CacheOutcome::Miss) x.fwd = "uri-miss";
    x.detail = policy::detail_text(decision.reason);
    co_return co_await stream_response(x, std::move(conn), response, headers, {});
  }

  // Cache fill: buffer the body up to max_body_bytes; beyond that, stream what we have.
  std::string body;
  if (auto length = response.content_length()) body.reserve(*length);
  char* chunk = relay_buffer();
  while (!response.is_done() && body.size() <= options_.cache.max_body_bytes) {
    conn->stream.expires_after(options_.upstream_timeout);
    auto [ec, n] =
        co_await read_body_piece(conn->stream, conn->buffer, response, chunk, kRelayChunkBytes);
    if (ec) co_return co_await respond_upstream_failure(x, ec);
    body.append(chunk, n);
  }
  decision = policy::decide_store(*x.rule, view, x.has_authorization, body.size(), options_.cache);
  if (!decision.store()) {
    if (x.outcome == CacheOutcome::Miss) x.fwd = "uri-miss";
    x.detail = policy::detail_text(decision.reason);
    co_return co_await stream_response(x, std::move(conn), response, headers, body);
  }
  const std::string_view reason = response.get().reason();
  co_await store_response(x, headers, reason, body, decision.ttl);

  std::string head;
  head.reserve(512);
  net::append_status_line(head, x.status, response.get().reason());
  append_relayable_fields(head, headers, false);
  net::append_field(head, "Content-Length", static_cast<unsigned long long>(body.size()));
  finish_client_head(head, x);
  const bool reusable = response.get().keep_alive() && !response.need_eof();
  const std::string_view payload = x.head_only ? std::string_view{} : std::string_view(body);
  auto ec = co_await send(head, payload);
  if (reusable) proxy_.pool_.release(std::move(conn));
  co_return !ec;
}

asio::awaitable<bool> Session::stream_response(Exchange& x,
                                               std::unique_ptr<upstream::Connection> conn,
                                               ResponseParser& response,
                                               const policy::HeaderList& headers,
                                               std::string_view prefix) {
  x.lease = {};  // nothing will be stored: let waiters fetch on their own now
  enum class Mode { HeaderOnly, Length, Chunked, UntilClose };
  const int status = x.status;
  const bool bodiless_status = status == 204 || status == 304 || status < 200;
  Mode mode = Mode::Length;
  if (x.head_only || bodiless_status) {
    mode = Mode::HeaderOnly;
  } else if (response.is_done() || response.content_length()) {
    mode = Mode::Length;
  } else if (x.parser.get().version() >= 11) {
    mode = Mode::Chunked;
  } else {
    mode = Mode::UntilClose;
    x.keep_alive = false;
  }

  std::string lead;
  lead.reserve(512);
  net::append_status_line(lead, status, response.get().reason());
  append_relayable_fields(lead, headers, mode == Mode::HeaderOnly && status != 204);
  if (mode == Mode::Length) {
    const auto length = response.content_length().value_or(prefix.size());
    net::append_field(lead, "Content-Length", static_cast<unsigned long long>(length));
  } else if (mode == Mode::Chunked) {
    net::append_field(lead, "Transfer-Encoding", "chunked");
  }
  finish_client_head(lead, x);

  const bool chunked = mode == Mode::Chunked;
  if (mode == Mode::HeaderOnly) {
    auto ec = co_await send(lead);
    if (response.is_done() && response.get().keep_alive() && !response.need_eof()) {
      proxy_.pool_.release(std::move(conn));
    }
    co_return !ec;
  }

  bool wrote_any = false;
  if (!prefix.empty()) {
    if (co_await write_piece(chunked, lead, prefix)) co_return false;
    wrote_any = true;
  }
  char* chunk = relay_buffer();
  while (!response.is_done()) {
    conn->stream.expires_after(options_.upstream_timeout);
    auto [ec, n] =
        co_await read_body_piece(conn->stream, conn->buffer, response, chunk, kRelayChunkBytes);
    if (ec) {
      if (!wrote_any) co_return co_await respond_upstream_failure(x, ec);
      // Mid-body failure: the status is already sent, so only closing tells the client.
      proxy_.metrics_.record_upstream_error();
      x.keep_alive = false;
      co_return false;
    }
    if (n == 0) continue;
    if (co_await write_piece(chunked, lead, std::string_view(chunk, n))) co_return false;
    wrote_any = true;
  }
  if (mode == Mode::Chunked) lead.append("0\r\n\r\n");
  if (!lead.empty() && co_await send(lead)) co_return false;
  if (response.get().keep_alive() && !response.need_eof()) proxy_.pool_.release(std::move(conn));
  co_return true;
}

// Writes one body piece, chunk-framed when `chunked`; `lead` (the head, on the first call) goes
// out in the same write. A member, not a capturing lambda coroutine (GCC 12, see docs).
asio::awaitable<error_code> Session::write_piece(bool chunked, std::string& lead,
                                                 std::string_view data) {
  if (!chunked) {
    auto ec = co_await send(lead, data);
    lead.clear();
    co_return ec;
  }
  char size_line[24];
  auto [end, conv_ec] = std::to_chars(size_line, size_line + 16, data.size(), 16);
  (void)conv_ec;
  lead.append(size_line, end);
  lead.append("\r\n");
  auto ec = co_await send(lead, data, "\r\n");
  lead.clear();
  co_return ec;
}

asio::awaitable<bool> Session::respond_upstream_failure(Exchange& x, const error_code& ec) {
  x.lease = {};
  proxy_.metrics_.record_upstream_error();
  const bool timeout = is_timeout(ec);
  std::uint64_t suppressed = 0;
  if (g_upstream_error_log.allow(&suppressed)) {
    spdlog::warn("upstream request {} {} failed: {} ({} similar errors suppressed)", x.method,
                 x.target, ec.message(), suppressed);
  }
  if (x.body_streaming) x.keep_alive = false;  // part of the request body may be unread
  x.detail = {};
  x.stored = false;
  // Locals, not temporaries in a ?: inside co_await: GCC 12 destroys those twice.
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
  std::string extra;
  net::append_field(extra, "X-Cache", x_cache_value(x.outcome));
  net::append_field(extra, "Cache-Status", x.cache_status());
  auto response = net::render_response(status, "application/json", body, x.keep_alive, extra);
  auto ec = co_await send(response);
  co_return !ec;
}

void Session::log_access(const Exchange& x) const {
  const auto elapsed = std::chrono::steady_clock::now() - x.start;
  proxy_.metrics_.record_request({x.outcome, x.rule_name, x.method, x.status, elapsed});
  if (!options_.access_log) return;
  auto& sink = proxy_.access_logger_ ? *proxy_.access_logger_ : *spdlog::default_logger();
  if (!sink.should_log(spdlog::level::info)) return;
  const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
  if (options_.json_access_log) {
    std::string line = "{\"method\": \"";
    net::append_json_escaped(line, x.method);
    line.append("\", \"target\": \"");
    net::append_json_escaped(line, x.target);
    line.append("\", \"client\": \"");
    line.append(client_ip_);
    line.append("\", \"status\": ");
    line.append(std::to_string(x.status));
    line.append(", \"cache\": \"");
    line.append(x_cache_value(x.outcome));
    line.append("\", \"duration_ms\": ");
    line.append(fmt::format("{:.3f}", ms));
    line.append("}");
    sink.info(line);
  } else {
    sink.info("{} {} {} {} {} {:.3f}ms", client_ip_, x.method, x.target, x.status,
              x_cache_value(x.outcome), ms);
  }
}

}  // namespace cachecar::proxy
