#include "upstream/pool.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <sys/socket.h>

#include <cerrno>

namespace cachecar::upstream {

using net::use_nothrow;

namespace {

// Whether an idle connection is still open with nothing to read, without a round trip: a peer
// that closed it (its keep-alive timeout: a FIN, which available() does not show), wrote to it
// (a 408) or reset it makes a one-byte peek return at once. Anything subtler is caught by the
// caller's retry on first read.
bool quiet(Connection& connection) {
  auto& socket = connection.stream.socket();
  if (!socket.is_open()) return false;
  char byte = 0;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

Pool::Pool(asio::any_io_executor executor, PoolOptions options, ConnectionCounter& counter)
    : executor_(std::move(executor)), options_(std::move(options)), counter_(counter) {}

asio::awaitable<result<std::unique_ptr<Connection>>> Pool::acquire(
    std::chrono::milliseconds max_idle_age) {
  const auto now = std::chrono::steady_clock::now();
  while (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    // Compared in milliseconds: max_idle_age may be milliseconds::max(), which overflows in the
    // clock's nanoseconds.
    if (std::chrono::duration_cast<std::chrono::milliseconds>(now - connection->idle_since) >
        max_idle_age) {
      continue;
    }
    if (!quiet(*connection)) continue;
    connection->reused = true;
    co_return connection;
  }
  co_return co_await connect_new();
}

asio::awaitable<result<std::unique_ptr<Connection>>> Pool::connect_new() {
  net::tcp::resolver resolver(executor_);
  auto [resolve_ec, endpoints] =
      co_await resolver.async_resolve(options_.host, std::to_string(options_.port), use_nothrow);
  if (resolve_ec) co_return make_error_code(errc::upstream_connect_failed);
  auto connection = std::make_unique<Connection>(executor_, counter_);
  connection->stream.expires_after(options_.connect_timeout);
  auto [connect_ec, endpoint] = co_await connection->stream.async_connect(endpoints, use_nothrow);
  if (connect_ec) {
    co_return make_error_code(connect_ec == beast::error::timeout ? errc::timeout
                                                                  : errc::upstream_connect_failed);
  }
  connection->stream.expires_never();
  net::error_code ignored;
  // With nothing listening on a port in the ephemeral range, the kernel may connect the socket
  // to itself (TCP simultaneous open). That is a refused connection, not an upstream.
  if (connection->stream.socket().local_endpoint(ignored) == endpoint) {
    co_return make_error_code(errc::upstream_connect_failed);
  }
  connection->stream.socket().set_option(net::tcp::no_delay(true), ignored);
  co_return connection;
}

void Pool::release(std::unique_ptr<Connection> connection) {
  if (!connection || !connection->stream.socket().is_open()) return;
  if (connection->buffer.size() != 0) return;
  if (idle_.size() >= options_.max_idle_connections) return;
  connection->stream.expires_never();
  connection->idle_since = std::chrono::steady_clock::now();
  idle_.push_back(std::move(connection));
}

void Pool::close_idle() {
  idle_.clear();
}

}  // namespace cachecar::upstream
