#include "net/simple_server.hpp"

#include "net/framing.hpp"
#include "net/http_read.hpp"
#include "net/wire.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>

#include <exception>
#include <optional>

namespace cachecar::net {

SimpleResponse json_response(int status, std::string body, unsigned version, bool keep_alive) {
  SimpleResponse res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

asio::awaitable<void> serve_simple(tcp::socket socket, SimpleHandler handler,
                                   SimpleServerLimits limits, ConnectionTracker& tracker) {
  error_code ec;
  auto remote = socket.remote_endpoint(ec);
  beast::tcp_stream stream(std::move(socket));
  ConnectionTracker::Registration registration(tracker, stream.socket());
  beast::flat_buffer buffer;
  buffer.max_size(read_buffer_limit(limits.max_header_bytes));
  const RequestLimits parser_limits{limits.max_header_bytes, limits.max_body_bytes};
  bool first = true;
  while (!tracker.stopping()) {
    RequestParser<http::string_body> parser;
    configure_request_parser(parser, parser_limits);
    registration.set_idle(true);
    // As in the proxy: header timeout from the accept, or from the first byte of a later request.
    if (!first) {
      const auto idle_ec = co_await await_request_start(stream, buffer, limits.idle_timeout);
      if (idle_ec) break;
    }
    first = false;
    // The whole request (head and body) is due within the header timeout.
    stream.expires_after(limits.header_timeout);
    auto [read_ec, head_bytes] =
        co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    std::optional<Rejection> rejection;
    if (read_ec) {
      rejection = rejection_for_read_error(read_ec);
    } else {
      rejection = check_request_framing(parser.get());
      while (!rejection && !read_ec && !parser.is_done()) {
        read_ec = co_await read_body_some(stream, buffer, parser);
        if (read_ec) rejection = rejection_for_read_error(read_ec);
      }
    }
    registration.set_idle(false);
    if (rejection) {
      const std::string bytes = render_rejection(*rejection);
      co_await asio::async_write(stream, asio::buffer(bytes), use_nothrow);
      break;
    }
    if (read_ec) break;
    SimpleRequest request{parser.release(), remote};
    const bool keep_alive = request.message.keep_alive();
    const unsigned version = request.message.version();
    SimpleResponse response;
    try {
      response = co_await handler(request);
    } catch (const std::exception& e) {
      spdlog::error("handler failed for {}: {}", std::string_view(request.message.target()),
                    e.what());
      response =
          json_response(500, json_error_body("internal_error", "handler failed"), version, false);
    }
    response.version(version);
    if (!keep_alive || tracker.stopping()) response.keep_alive(false);
    const bool close = !response.keep_alive();
    stream.expires_after(limits.idle_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, response, use_nothrow);
    if (write_ec || close) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace cachecar::net
