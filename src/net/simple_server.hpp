// A small HTTP/1.1 server loop for handlers that work on whole messages (admin API, bundled
// backend, test upstreams). The proxy has its own streaming session; this one buffers bodies.
#pragma once

#include "net/http_types.hpp"
#include "net/listener.hpp"

#include <chrono>
#include <cstdint>
#include <functional>

namespace cachecar::net {

struct SimpleRequest {
  http::request<http::string_body> message;
  tcp::endpoint remote;
};

using SimpleResponse = http::response<http::string_body>;
using SimpleHandler = std::function<asio::awaitable<SimpleResponse>(SimpleRequest&)>;

struct SimpleServerLimits {
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
};

// Serves requests on `socket` until the client closes, an error occurs or the tracker stops.
// Malformed requests get 400, oversized heads 431, oversized bodies 413; then the connection
// closes. The handler must not throw; if it does, the client gets a 500 and the connection closes.
asio::awaitable<void> serve_simple(tcp::socket socket, SimpleHandler handler,
                                   SimpleServerLimits limits, ConnectionTracker& tracker);

// A JSON response with Content-Type application/json and the given body.
SimpleResponse json_response(int status, std::string body, unsigned version = 11,
                             bool keep_alive = true);

}  // namespace cachecar::net
