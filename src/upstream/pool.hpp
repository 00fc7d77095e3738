// Keep-alive connection pool to the upstream for one thread (one per io_context: no locks).
// Hands out connections; the caller speaks HTTP on them and gives reusable ones back.
#pragma once

#include "core/error.hpp"
#include "net/http_types.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cachecar::upstream {

namespace asio = net::asio;
namespace beast = net::beast;

struct PoolOptions {
  std::string host;
  std::uint16_t port = 80;
  std::chrono::milliseconds connect_timeout{2000};
  std::size_t max_idle_connections = 64;
};

// Counts the upstream connections open in the pools that share it, whichever thread they are
// on (the upstream connections gauge). Must outlive every pool and connection counted in it.
class ConnectionCounter {
 public:
  long open() const noexcept { return open_.load(std::memory_order_relaxed); }

 private:
  friend struct Connection;
  std::atomic<long> open_{0};
};

// A connection with its read buffer (bytes read past one response belong to the next).
struct Connection {
  Connection(asio::any_io_executor executor, ConnectionCounter& counter)
      : stream(std::move(executor)), counter_(counter) {
    counter_.open_.fetch_add(1, std::memory_order_relaxed);
  }
  ~Connection() { counter_.open_.fetch_sub(1, std::memory_order_relaxed); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  bool reused = false;  // true when taken from the idle list (it may have gone stale)
  std::chrono::steady_clock::time_point idle_since{};

 private:
  ConnectionCounter& counter_;
};

class Pool {
 public:
  // Every connection the pool opens is counted in `counter` while it exists.
  Pool(asio::any_io_executor executor, PoolOptions options, ConnectionCounter& counter);

  // An idle connection when one exists (reused = true), otherwise a new one. Idle connections
  // older than max_idle_age are closed instead: a request that must not be retried (POST) only
  // gets one the upstream is unlikely to have timed out. Errors: errc::upstream_connect_failed
  // (refused, unresolvable) or errc::timeout (connect_timeout). Runs on the pool's executor.
  asio::awaitable<result<std::unique_ptr<Connection>>> acquire(
      std::chrono::milliseconds max_idle_age = std::chrono::milliseconds::max());
  asio::awaitable<result<std::unique_ptr<Connection>>> connect_new();

  // Gives back a connection whose last response was read completely and that may stay open.
  // One with bytes buffered past that response is closed: they would be read as the next
  // request's response.
  void release(std::unique_ptr<Connection> connection);

  void close_idle();

 private:
  asio::any_io_executor executor_;
  PoolOptions options_;
  ConnectionCounter& counter_;
  std::vector<std::unique_ptr<Connection>> idle_;  // LIFO: the warmest connection first
};

}  // namespace cachecar::upstream
