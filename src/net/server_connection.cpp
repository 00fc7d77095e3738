#include "net/server_connection.hpp"

#include "core/strings.hpp"
#include "net/http_read.hpp"

#include <boost/asio/write.hpp>

#include <array>

namespace cachecar::net {
namespace {

constexpr auto kLinger = std::chrono::milliseconds(500);
constexpr std::size_t kMaxDrainBytes = 1 << 20;
constexpr std::size_t kDrainReadBytes = 64 * 1024;

std::optional<tcp::endpoint> remote_of(const tcp::socket& socket) {
  error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return std::nullopt;
  return remote;
}

}  // namespace

ServerConnection::ServerConnection(tcp::socket socket, ConnectionTracker& tracker,
                                   const ServerLimits& limits)
    : stream_(std::move(socket)),
      tracker_(tracker),
      registration_(tracker, stream_.socket()),
      limits_(limits),
      remote_(remote_of(stream_.socket())) {
  buffer_.max_size(read_buffer_limit(limits_.max_header_bytes));
}

template <class Body>
asio::awaitable<void> ServerConnection::run(RequestHandler<Body>& handler) {
  const RequestLimits parser_limits{limits_.max_header_bytes, limits_.max_body_bytes};
  bool first = true;
  while (!tracker_.stopping()) {
    RequestParser<Body> parser;
    configure_request_parser(parser, parser_limits);
    registration_.set_idle(true);
    // The first head is due within the header timeout of the accept; a later one may be
    // awaited for the idle timeout, but once its first byte is here, it gets the header timeout.
    if (!first && buffer_.size() == 0) {  // pipelined bytes: no wait, no coroutine frame
      const auto idle_ec = co_await await_request_start(stream_, buffer_, limits_.idle_timeout);
      if (idle_ec) break;
    }
    first = false;
    stream_.expires_after(limits_.header_timeout);
    auto [ec, ignored] = co_await http::async_read_header(stream_, buffer_, parser, use_nothrow);
    registration_.set_idle(false);
    std::optional<Rejection> rejection;
    if (ec) {
      rejection = rejection_for_read_error(ec);
    } else {
      rejection = check_request_framing(parser.get());
    }
    if (rejection) {
      // Refused before the body: it is unread, so the connection cannot go on.
      co_await refuse(*rejection);
      break;
    }
    if (ec) break;
    // An unread body would be parsed as the next request.
    if (!co_await handler.handle(parser) || !parser.is_done()) break;
  }
  co_await close_gracefully();
}

template asio::awaitable<void> ServerConnection::run<http::buffer_body>(
    RequestHandler<http::buffer_body>&);
template asio::awaitable<void> ServerConnection::run<http::string_body>(
    RequestHandler<http::string_body>&);

asio::awaitable<error_code> ServerConnection::send(std::string_view a, std::string_view b,
                                                   std::string_view c) {
  const std::array<asio::const_buffer, 3> buffers{asio::buffer(a), asio::buffer(b),
                                                  asio::buffer(c)};
  stream_.expires_after(limits_.body_timeout);
  auto [ec, written] = co_await asio::async_write(stream_, buffers, use_nothrow);
  co_return ec;
}

asio::awaitable<error_code> ServerConnection::continue_if_expected(
    const http::request_header<>& head) {
  if (head.version() < 11 || !core::iequals(head[http::field::expect], "100-continue")) {
    co_return error_code{};
  }
  co_return co_await send("HTTP/1.1 100 Continue\r\n\r\n");
}

asio::awaitable<error_code> ServerConnection::read_body_some(http::basic_parser<true>& parser) {
  stream_.expires_after(limits_.body_timeout);
  co_return co_await net::read_body_some(stream_, buffer_, parser);
}

asio::awaitable<error_code> ServerConnection::read_body(http::basic_parser<true>& parser) {
  while (!parser.is_done()) {
    stream_.expires_after(limits_.body_timeout);
    const auto ec = co_await net::read_body_some(stream_, buffer_, parser);
    if (ec) co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<std::pair<error_code, std::size_t>> ServerConnection::read_body_piece(
    RequestParser<http::buffer_body>& parser, char* data, std::size_t capacity) {
  parser.get().body().data = data;
  parser.get().body().size = capacity;
  stream_.expires_after(limits_.body_timeout);
  auto ec = co_await net::read_body_some(stream_, buffer_, parser);
  if (ec == http::error::need_buffer) ec = {};
  co_return std::pair{ec, capacity - parser.get().body().size};
}

asio::awaitable<void> ServerConnection::refuse(const Rejection& rejection) {
  const std::string response = render_rejection(rejection);
  co_await send(response);
}

asio::awaitable<void> ServerConnection::refuse(const error_code& read_error) {
  const auto rejection = rejection_for_read_error(read_error);
  if (rejection) co_await refuse(*rejection);
}

asio::awaitable<void> ServerConnection::close_gracefully() {
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLinger);
  // Drained through the read buffer: whatever it held is of no use any more.
  buffer_.clear();
  for (std::size_t drained = 0; drained < kMaxDrainBytes;) {
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kDrainReadBytes), use_nothrow);
    if (ec) break;
    drained += n;
  }
  buffer_.clear();
}

}  // namespace cachecar::net
