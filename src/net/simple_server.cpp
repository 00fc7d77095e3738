#include "net/simple_server.hpp"

#include "net/wire.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>

#include <exception>
#include <optional>

namespace cachecar::net {
namespace {

// Status for a request that failed to parse; nullopt = the client went away, just close.
std::optional<int> status_for_read_error(const error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec.category() == make_error_code(http::error::end_of_stream).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return 400;
  }
  return std::nullopt;
}

}  // namespace

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
  bool first = true;
  while (!tracker.stopping()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(limits.max_header_bytes);
    parser.body_limit(limits.max_body_bytes);
    registration.set_idle(true);
    stream.expires_after(first ? limits.header_timeout : limits.idle_timeout);
    first = false;
    auto [read_ec, read_bytes] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    registration.set_idle(false);
    if (read_ec) {
      if (auto status = status_for_read_error(read_ec)) {
        auto bytes = render_response(*status, "application/json",
                                     json_error_body("bad_request", read_ec.message()), false);
        co_await asio::async_write(stream, asio::buffer(bytes), use_nothrow);
      }
      break;
    }
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
