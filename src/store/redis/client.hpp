// Redis client for one thread: pipelined connection(s), circuit breaker, background
// reconnection. Fails fast while Redis is down instead of making requests wait for it.
#pragma once

#include "store/cache_store.hpp"
#include "store/redis/circuit_breaker.hpp"
#include "store/redis/connection.hpp"
#include "store/redis/resp.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::store::redis {

// Life cycle:
// - Construction starts connecting in the background on `executor` (nothing blocks).
// - execute() picks an open connection round-robin. While the breaker is open or half-open
//   (Redis down or being probed) it fails at once with errc::store_unavailable; before the
//   very first connection attempt has finished it waits for it (bounded by command_timeout).
// - A lost connection, or `breaker.failure_threshold` consecutive command timeouts, opens the
//   breaker: every connection is closed (pending commands fail with store_unavailable) and a
//   background coroutine reconnects after the breaker's backoff (100ms doubling to 5s). A
//   reconnection counts only once PING is answered, so a stopped (SIGSTOP) server that still
//   accepts TCP connections stays "down".
// - stop() (or destruction) cancels the background work so the io_context can run out.
//
// Threading: every member except health() must be called on `executor`'s thread (or while
// its io_context is not running). health() may be called from any thread.
class Client {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string user;      // ACL user (AUTH user password); empty: the default user
    std::string password;  // empty: no AUTH
    int db = 0;            // non-zero: SELECT
    TlsOptions tls;        // no context: plain TCP
    std::chrono::milliseconds command_timeout{100};
    std::size_t connections = 1;                      // pipelined connections, used round-robin
    std::chrono::milliseconds connect_timeout{1000};  // resolve + connect + AUTH/SELECT + PING
    std::size_t max_pending = 4096;                   // per connection
    CircuitBreaker::Options breaker{};
    std::vector<std::string> scripts;  // SCRIPT LOADed on every new connection
    // Run on every new connection after the scripts (see ConnectionOptions).
    std::vector<std::vector<std::string>> setup_commands;
    std::function<void(std::size_t index, const Reply& reply)> on_setup_reply;
    // Called on the executor after each failed (re)connection attempt with why it failed
    // (Connection::failure(): never the password), so that the caller can log it.
    std::function<void(const std::string& failure)> on_connect_failure;
  };

  // Called after each execute() (also when it failed fast). `command` is the first argument.
  using Observer = std::function<void(std::string_view command, std::chrono::nanoseconds latency,
                                      boost::system::error_code ec)>;

  Client(boost::asio::any_io_executor executor, Options options, Observer observer = {});
  ~Client();  // stop()
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs one command with options.command_timeout. Error replies come back as a Reply of
  // type Error (they count as success for the breaker). Errors: errc::timeout,
  // errc::store_unavailable, errc::store_protocol_error, errc::shutting_down.
  // Ordering: when a connection is open, the command is queued on it before execute() first
  // suspends, so with `connections == 1` commands reach Redis in the order execute() was
  // called (with several connections, only per connection).
  boost::asio::awaitable<result<Reply>> execute(std::span<const std::string_view> args);

  // last_error: why the latest connection attempt failed, while not connected.
  StoreHealth health() const;
  const Options& options() const noexcept;

  // Closes the connections (pending commands fail with errc::shutting_down), stops
  // reconnecting. Idempotent; execute() afterwards fails with errc::shutting_down.
  void stop();

  struct State;  // implementation detail, shared with the background coroutines

 private:
  std::shared_ptr<State> state_;
};

}  // namespace cachecar::store::redis
