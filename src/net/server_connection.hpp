// The server side of one HTTP/1.1 client connection (RFC 9112), shared by the proxy and
// serve_simple: request heads under the limits and timeouts, bodies, 100 Continue, keep-alive and
// pipelining, refusals (400/413/431/501) and the lingering close. What a request means is the
// handler's business; this never looks past the framing.
#pragma once

#include "net/framing.hpp"
#include "net/http_types.hpp"
#include "net/listener.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace cachecar::net {

struct ServerLimits {
  std::uint32_t max_header_bytes = 16 * 1024;  // the head, and the trailer section apart: 431
  std::uint64_t max_body_bytes = 1 << 20;      // 413
  // The first head is due within this of the accept; a later one within this of its first byte.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // between requests, until that first byte
  std::chrono::milliseconds body_timeout{30'000};  // each body read and each response write
};

// What ServerConnection::run hands each request to (as Beast's advanced_server_flex_awaitable
// keeps handle_request apart from its session loop). A virtual call, so the loop costs no
// coroutine frame or std::function per request beyond the handler's own.
template <class Body>
class RequestHandler {
 public:
  // `parser` holds a head that passed check_request_framing; its body is unread unless
  // parser.is_done(). The handler reads it through the connection (read_body, read_body_piece)
  // or answers without it. Returns whether the connection may carry another request: false, or
  // a body left unread, ends it (gracefully). Must not throw: nothing may escape a session.
  virtual asio::awaitable<bool> handle(RequestParser<Body>& parser) = 0;

 protected:
  ~RequestHandler() = default;
};

// One accepted client connection: owns the stream, its read buffer (capped at
// read_buffer_limit), the tracker registration and the limits. Single-threaded: every call on
// the executor of the socket, one operation at a time.
class ServerConnection {
 public:
  ServerConnection(tcp::socket socket, ConnectionTracker& tracker, const ServerLimits& limits);
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // Serves requests until the client closes, a read fails, the handler declines keep-alive or
  // the tracker stops; then closes gracefully. A head that cannot be read or framed is refused
  // (rejection_for_read_error / check_request_framing → render_rejection) and ends the
  // connection. Instantiated for http::buffer_body (the proxy) and http::string_body.
  template <class Body>
  asio::awaitable<void> run(RequestHandler<Body>& handler);

  // Gather write of up to three pieces under the body timeout.
  asio::awaitable<error_code> send(std::string_view a, std::string_view b = {},
                                   std::string_view c = {});
  // RFC 9110 §10.1.1: an HTTP/1.1 request with "Expect: 100-continue" gets an interim 100
  // before its body is read. Call before the first body read; no-op (no error) otherwise.
  asio::awaitable<error_code> continue_if_expected(const http::request_header<>& head);
  // One parser step of the body (read_body_some) under the body timeout.
  asio::awaitable<error_code> read_body_some(http::basic_parser<true>& parser);
  // The whole body into the parser's own body (string_body, say), each read under the body
  // timeout.
  asio::awaitable<error_code> read_body(http::basic_parser<true>& parser);
  // Whatever body bytes are available (at least one parser step) into [data, data + capacity):
  // the error (none for a full buffer) and how many bytes were written.
  asio::awaitable<std::pair<error_code, std::size_t>> read_body_piece(
      RequestParser<http::buffer_body>& parser, char* data, std::size_t capacity);

  // Answers a refused request (render_rejection: JSON body, Connection: close). The caller then
  // ends the connection: the rest of the request is unread.
  asio::awaitable<void> refuse(const Rejection& rejection);
  // The same for a failed read, mapped by rejection_for_read_error; nothing is sent when there
  // is no one to answer (timeout, reset, end of stream).
  asio::awaitable<void> refuse(const error_code& read_error);

  // Half-close, then read and discard what the client still sends (at most 1 MiB for 500 ms):
  // closing with unread data makes the kernel send RST, and the client may lose the last
  // response (a 413, a 400) to ECONNRESET. nginx calls this lingering close. run() ends with it.
  asio::awaitable<void> close_gracefully();

  // The request may be followed by another: its own keep-alive, and the tracker not stopping.
  template <class Body>
  bool keep_alive(const http::request<Body>& request) const {
    return request.keep_alive() && !tracker_.stopping();
  }
  bool stopping() const noexcept { return tracker_.stopping(); }
  // The peer, read once at construction; nullopt when it had already gone.
  const std::optional<tcp::endpoint>& remote() const noexcept { return remote_; }
  const ServerLimits& limits() const noexcept { return limits_; }
  // For writes that bring their own serializer (http::async_write); arm the deadline first.
  beast::tcp_stream& stream() noexcept { return stream_; }

 private:
  beast::tcp_stream stream_;
  ConnectionTracker& tracker_;
  ConnectionTracker::Registration registration_;
  beast::flat_buffer buffer_;
  ServerLimits limits_;
  std::optional<tcp::endpoint> remote_;
};

extern template asio::awaitable<void> ServerConnection::run<http::buffer_body>(
    RequestHandler<http::buffer_body>&);
extern template asio::awaitable<void> ServerConnection::run<http::string_body>(
    RequestHandler<http::string_body>&);

}  // namespace cachecar::net
