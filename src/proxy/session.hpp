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
#include "policy/uri.hpp"
#include "proxy/lookup.hpp"
#include "proxy/outcome.hpp"
#include "proxy/proxy.hpp"
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
  std::string_view rule_name;          // the matching rule (caching or invalidating), for metrics
  std::string key;
  // Set: the upstream's answer may be stored (the lookup's fill token and coalescer lease).
  std::optional<Fill> fill;

  CacheResult cache;
  int status = 0;
};

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
  net::asio::awaitable<bool> receive_request_body(Exchange& x);
  net::asio::awaitable<bool> serve_cacheable(Exchange& x, const policy::Rule& rule);
  std::optional<std::string> cache_host(const Exchange& x) const;
  net::asio::awaitable<bool> forward(Exchange& x);
  std::string upstream_request_head(const Exchange& x) const;
  net::asio::awaitable<void> invalidate(Exchange& x, const net::http::response_header<>& response);
  net::asio::awaitable<bool> relay_response(Exchange& x, std::unique_ptr<upstream::Connection> conn,
                                            upstream::ResponseParser& response);
  std::optional<std::chrono::milliseconds> storable_for(Exchange& x,
                                                        const policy::HeaderList& headers,
                                                        std::uint64_t body_bytes) const;
  net::asio::awaitable<void> store_response(Exchange& x, const policy::HeaderList& headers,
                                            std::string_view reason, std::string_view body,
                                            std::chrono::milliseconds ttl);

  // respond.cpp: what goes to the client.
  net::asio::awaitable<bool> write_hit(Exchange& x, const policy::EntryView& entry);
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
  const ProxyOptions& options_;
  net::ServerConnection& client_;
  metrics::Metrics::ClientConnection open_connection_;  // the open client connections gauge
  std::string client_ip_;
  bool trusted_peer_ = false;  // client_ip_ is in trusted_proxies
  std::unique_ptr<char[]> relay_buffer_;
};

inline constexpr std::size_t kRelayChunkBytes = 64 * 1024;

std::int64_t unix_now_ms() noexcept;

}  // namespace cachecar::proxy
