#include "net/simple_server.hpp"

#include "net/wire.hpp"

#include <spdlog/spdlog.h>
#include <boost/beast/http/write.hpp>

#include <exception>

namespace cachecar::net {

SimpleResponse json_response(int status, std::string body, unsigned version, bool keep_alive) {
  SimpleResponse res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

namespace {

// The whole-message adapter: reads the body into the request, calls the handler, writes its
// response with Beast's serializer.
class WholeMessages final : public RequestHandler<http::string_body> {
 public:
  WholeMessages(ServerConnection& connection, SimpleHandler& handler)
      : connection_(connection), handler_(handler) {}

  asio::awaitable<bool> handle(RequestParser<http::string_body>& parser) override {
    if (!parser.is_done()) {
      if (co_await connection_.continue_if_expected(parser.get())) co_return false;
      const auto read_ec = co_await connection_.read_body(parser);
      if (read_ec) {
        co_await connection_.refuse(read_ec);
        co_return false;
      }
    }
    const bool keep_alive = parser.get().keep_alive();
    SimpleRequest request{parser.release(), connection_.remote().value_or(tcp::endpoint{}),
                          &connection_};
    const unsigned version = request.message.version();
    SimpleResponse response;
    try {
      response = co_await handler_(request);
    } catch (const std::exception& e) {
      spdlog::error("handler failed for {}: {}", std::string_view(request.message.target()),
                    e.what());
      response =
          json_response(500, json_error_body("internal_error", "handler failed"), version, false);
    }
    response.version(version);
    // Checked after the handler: a shutdown that began meanwhile closes the connection.
    if (!keep_alive || connection_.stopping()) response.keep_alive(false);
    const bool close = !response.keep_alive();
    connection_.stream().expires_after(connection_.limits().body_timeout);
    auto [write_ec, written] =
        co_await http::async_write(connection_.stream(), response, use_nothrow);
    co_return !write_ec && !close;
  }

 private:
  ServerConnection& connection_;
  SimpleHandler& handler_;
};

}  // namespace

asio::awaitable<void> serve_simple(tcp::socket socket, SimpleHandler handler,
                                   SimpleServerLimits limits, ConnectionTracker& tracker) {
  ServerConnection connection(std::move(socket), tracker, limits);
  WholeMessages adapter(connection, handler);
  co_await connection.run(adapter);
}

}  // namespace cachecar::net
