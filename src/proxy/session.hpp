// One client connection of the proxy (internal to proxy/). For each request the flow is:
//   handle: normalise the target, read a small body, match a rule
//   GET/HEAD with a caching rule → serve_cacheable: key → LookupTier::lookup
//       hit / collapsed → write_hit
//       miss / bypass   → forward → relay_response: decide (policy::decide_store),
//                         store (LookupTier::store) before the client is answered, respond
//   anything else → forward → (a write: invalidate via LookupTier) → relay
// session.cpp holds that flow; respond.cpp what is written to the client.
#pragma once

#include "net/framing.hpp"
#include "net/server_connection.hpp"
#include "policy/conditional.hpp"
#include "policy/tags.hpp"
#include "policy/uri.hpp"
#include "proxy/lookup.hpp"
#include "proxy/outcome.hpp"
#include "proxy/proxy.hpp"
#include "proxy/rate_limit.hpp"
#include "upstream/client.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cachecar::proxy {

using RequestParser = net::RequestParser<net::http::buffer_body>;

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
  std::vector<std::string> rule_tags;  // its tags for this request's path (unchecked)
  policy::TagCollector tags;           // a fill's tags (store_entry stores them)
  std::string_view rule_name;          // the matching rule (caching or invalidating), for metrics
  std::string key;
  // Set: the upstream's answer may be stored (the lookup's fill token and coalescer lease).
  std::optional<Fill> fill;
  bool fill_variant_only = false;     // a fill whose key is a variant (the lookup found the index)
  bool variants_on_encoding = false;  // that index names Accept-Encoding

  // The request's Cache-Control (RFC 9111 §5.2.1): honoured (client_cc applies) or not.
  policy::RequestCacheControl client_cc;
  bool honor_client = false;
  bool needs_shared_authorization = false;  // Authorization on an upstream-mode rule (§3.5)
  // A stored entry the upstream is asked about (revalidation or refetch), kept as the
  // stale-if-error fallback; `revalidating`: its validators were sent.
  store::Value stale_value;
  policy::EntryView stale;
  policy::ReuseDecision stale_reuse;
  bool revalidating = false;
  std::string stored_key;  // where the lookup found (or would have found) the entry
  // Fields for this client only, after the stored head (a revalidation's Set-Cookie).
  std::string client_fields;
  std::int64_t request_ms = 0;   // unix ms: the request was sent upstream
  std::int64_t response_ms = 0;  // unix ms: the response head arrived

  CacheResult cache;
  int status = 0;
  RateLimitState limit;  // the rule's rate limit (proxy/rate_limit.cpp)
};

// What storing an answer needs besides the response itself (a background revalidation keeps a
// copy: it outlives its client).
struct StoreInputs {
  const policy::Rule* rule = nullptr;
  std::string key;  // the primary stored key
  bool has_authorization = false;
  bool client_no_store = false;
  std::int64_t request_ms = 0;
  std::int64_t response_ms = 0;
  bool variants_on_encoding = false;  // the key's variant index names Accept-Encoding
  std::vector<std::string> rule_tags;
  // For the Vary secondary key: the request, or (in a background revalidation, which outlives
  // it) a copy of its fields.
  const net::http::request_header<>* request = nullptr;
  policy::HeaderList request_fields;
};
struct BackgroundRevalidation;

class Session final : public net::RequestHandler<net::http::buffer_body>,
                      public upstream::ResponseSink {
 public:
  Session(Proxy& proxy, net::ServerConnection& client);

  net::asio::awaitable<bool> handle(RequestParser& parser) override;
  net::asio::awaitable<net::error_code> send(std::string_view a, std::string_view b,
                                             std::string_view c) override;

 private:
  friend class ClientBody;
  // session.cpp: the flow.
  void take_options_snapshot();
  net::asio::awaitable<bool> receive_request_body(Exchange& x);
  net::asio::awaitable<bool> serve_cacheable(Exchange& x, const policy::Rule& rule);
  std::optional<std::string> cache_host(const Exchange& x) const;
  net::asio::awaitable<bool> forward(Exchange& x);
  std::string upstream_request_head(const Exchange& x) const;
  net::asio::awaitable<void> invalidate(Exchange& x, const net::http::response_header<>& response);
  net::asio::awaitable<bool> relay_response(Exchange& x, std::unique_ptr<upstream::Connection> conn,
                                            upstream::ResponseParser& response);
  std::optional<policy::StoreDecision> storable_for(Exchange& x, int status,
                                                    const policy::HeaderList& headers,
                                                    std::uint64_t body_bytes) const;
  StoreInputs store_inputs(const Exchange& x) const;
  net::asio::awaitable<void> store_entry(Exchange& x, const policy::HeaderList& headers,
                                         std::string entry, const policy::StoreDecision& decision,
                                         std::uint64_t body_bytes, bool coded = false);
  net::asio::awaitable<void> drop_outdated(Exchange& x, const policy::HeaderList& headers);
  net::asio::awaitable<bool> answer_not_modified(Exchange& x,
                                                 std::unique_ptr<upstream::Connection> conn,
                                                 upstream::ResponseParser& response);
  net::asio::awaitable<bool> answer_stale_on_error(Exchange& x, int fwd_status);
  void revalidate_in_background(Exchange& x, Fill& fill,
                                const net::asio::any_io_executor& executor);
  static net::asio::awaitable<void> run_background_revalidation(
      Proxy& proxy, std::shared_ptr<BackgroundRevalidation> job);

  // rate_limit.cpp: the rule's rate limit, asked before anything answers the request.
  void start_rate_limit(Exchange& x, const policy::Rule* rule);
  void settle_rate_limit(Exchange& x, const result<store::RateDecision>& decision);
  net::asio::awaitable<bool> admit(Exchange& x);  // false: refuse(x) answers
  net::asio::awaitable<LookupResult> lookup_admitted(Exchange& x, const LookupRequest& request);
  net::asio::awaitable<bool> refuse(Exchange& x);

  // respond.cpp: what goes to the client.
  net::asio::awaitable<bool> write_hit(Exchange& x, const policy::EntryView& entry,
                                       std::int64_t age_s);
  net::asio::awaitable<bool> write_not_modified(Exchange& x, std::string_view stored_head,
                                                const policy::HeaderList* fields,
                                                std::int64_t age_s);
  net::asio::awaitable<bool> respond_undecodable(Exchange& x, const net::error_code& ec);
  net::asio::awaitable<bool> respond_only_if_cached(Exchange& x);
  net::asio::awaitable<bool> respond_must_revalidate(Exchange& x);
  net::asio::awaitable<bool> write_stored(Exchange& x, std::unique_ptr<upstream::Connection> conn,
                                          upstream::ResponseParser& response,
                                          const policy::HeaderList& headers, std::string_view body);
  net::asio::awaitable<bool> stream_response(Exchange& x,
                                             std::unique_ptr<upstream::Connection> conn,
                                             upstream::ResponseParser& response,
                                             const policy::HeaderList& headers,
                                             std::string_view prefix);
  net::asio::awaitable<void> reject_body(Exchange& x, const net::error_code& ec);
  net::asio::awaitable<bool> respond_upstream_failure(Exchange& x, const net::error_code& ec);
  net::asio::awaitable<bool> respond(Exchange& x, int status, std::string_view body);
  void finish_client_head(std::string& head, const Exchange& x) const;
  void log_access(const Exchange& x) const;
  char* relay_buffer();

  Proxy& proxy_;
  // The settings of the current request (take_options_snapshot); never null.
  std::shared_ptr<const ProxyOptions> options_;
  net::ServerConnection& client_;
  metrics::Metrics::ClientConnection open_connection_;  // the open client connections gauge
  std::string client_ip_;
  bool trusted_peer_ = false;  // client_ip_ is in trusted_proxies
  std::unique_ptr<char[]> relay_buffer_;
};

inline constexpr std::size_t kRelayChunkBytes = 64 * 1024;

std::int64_t unix_now_ms() noexcept;
bool is_timeout(const net::error_code& ec);
// Every line of a request field, combined as RFC 9110 §5.3 allows.
std::string combined_field(const net::http::request_header<>& request, net::http::field name);
// The validators of a stored entry's head, and of a received response's fields.
policy::Validators entry_validators(std::string_view head) noexcept;
policy::Validators response_validators(const policy::HeaderList& headers) noexcept;
// RFC 9111 §4.3.5: a 2xx answer whose validators differ from the stored entry's outdates it.
bool outdates(const policy::EntryView& stored, int status, const policy::HeaderList& headers);
// An entry's tags (policy/tags.hpp): the rule's, the tag fields of `headers` (the response, or
// a 304 refreshing an entry), and those `recorded` with the refreshed entry.
policy::TagCollector collect_tags(const StoreInputs& in, const policy::HeaderList& headers,
                                  std::string_view recorded, const policy::TagOptions& options);

// The request's Accept-Encoding lets it have gzip (policy::accepts_gzip over every line).
bool client_accepts_gzip(const net::http::request_header<>& request);
// The request's Cache-Control says only-if-cached (RFC 9111 §5.2.1.7).
bool asks_only_if_cached(const net::http::request_header<>& request);

}  // namespace cachecar::proxy
