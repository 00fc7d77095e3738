// HTTP/1.1 serving for handlers that work on whole messages (admin API, bundled backend, test
// upstreams): ServerConnection's loop (as the proxy's) with a handler that buffers bodies.
#pragma once

#include "net/http_types.hpp"
#include "net/listener.hpp"
#include "net/server_connection.hpp"

#include <functional>

namespace cachecar::net {

struct SimpleRequest {
  http::request<http::string_body> message;
  tcp::endpoint remote;
  // The connection, for a handler that writes interim responses (RFC 9110 §15.2) before
  // returning its final one (test upstreams).
  ServerConnection* connection = nullptr;
};

using SimpleResponse = http::response<http::string_body>;
using SimpleHandler = std::function<asio::awaitable<SimpleResponse>(SimpleRequest&)>;

using SimpleServerLimits = ServerLimits;

// Serves requests on `socket` until the client closes, an error occurs or the tracker stops.
// Refusals are the proxy's (ServerConnection: 400, 413, 431, 501 with the same JSON error
// codes); then the connection closes. The handler should not throw; if it does, the client gets
// a 500 and the connection closes.
asio::awaitable<void> serve_simple(tcp::socket socket, SimpleHandler handler,
                                   SimpleServerLimits limits, ConnectionTracker& tracker);

// A JSON response with Content-Type application/json and the given body.
SimpleResponse json_response(int status, std::string body, unsigned version = 11,
                             bool keep_alive = true);

}  // namespace cachecar::net
