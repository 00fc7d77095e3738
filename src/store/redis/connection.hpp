// One pipelined Redis connection over an Asio TCP socket, confined to one executor (no locks).
// Commands from many coroutines are coalesced into single writes; replies complete them in
// FIFO order. Never throws on the request path: failures come back as error codes.
#pragma once

#include "store/redis/resp.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::store::redis {

struct ConnectionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;  // empty: no AUTH
  int db = 0;            // non-zero: SELECT db
  // Budget for the whole handshake: resolve, TCP connect, AUTH, SELECT and a PING reply.
  std::chrono::milliseconds connect_timeout{1000};
  std::size_t max_pending = 4096;  // commands awaiting replies; beyond this execute() fails fast
  // Lua scripts to SCRIPT LOAD during the handshake, so EVALSHA on this connection never meets
  // NOSCRIPT (whose EVAL retry would be ordered after commands sent meanwhile).
  std::vector<std::string> scripts;
};

// Always owned by a shared_ptr (create()): the reader and writer coroutines keep it alive
// while they run, so it may be released at any time; close() stops them.
//
// Every member function must be called on the connection's executor.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Called once when an established connection closes for any reason (after the pending
  // commands have been failed). Not called for failed connect() attempts.
  using CloseHandler = std::function<void(boost::system::error_code)>;

  static std::shared_ptr<Connection> create(boost::asio::any_io_executor executor,
                                            ConnectionOptions options);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Resolves, connects (TCP_NODELAY), authenticates, selects the db and waits for a PING
  // reply, all within options.connect_timeout. Call once. Errors: errc::timeout,
  // errc::store_unavailable (resolve/connect failure), errc::store_reply_error (AUTH/SELECT
  // refused), errc::shutting_down (closed meanwhile). A failed connection is closed.
  boost::asio::awaitable<boost::system::error_code> connect();

  // Sends one command and waits for its reply, at most `timeout`. The arguments are encoded
  // before the first suspension, so they need to stay valid only until then. Error replies
  // ("-ERR ...") are returned as a Reply of type Error, not as an error code. Errors:
  // errc::timeout (the late reply is dropped when it arrives), errc::store_unavailable (not
  // open, closed while waiting, or too many pending commands), errc::store_protocol_error.
  // If the awaiting coroutine is cancelled, returns asio::error::operation_aborted.
  boost::asio::awaitable<result<Reply>> execute(std::span<const std::string_view> args,
                                                std::chrono::milliseconds timeout);

  // Closes the socket and fails every pending command with `reason`. Idempotent.
  void close(boost::system::error_code reason = errc::store_unavailable);

  void set_close_handler(CloseHandler handler) { close_handler_ = std::move(handler); }

  bool is_open() const noexcept { return ready_ && !closed_; }
  std::size_t pending() const noexcept { return pending_.size(); }

 private:
  // One command awaiting its reply. The waiter sleeps on `timer` (set to the deadline); the
  // reader stores the outcome and cancels the timer. A timer that fires with no outcome is a
  // timeout: the slot is marked abandoned and stays queued until its reply arrives, so the
  // FIFO stays aligned with the server's replies.
  struct Pending {
    explicit Pending(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    std::optional<result<Reply>> outcome;
    bool abandoned = false;
  };

  Connection(boost::asio::any_io_executor executor, ConnectionOptions options);

  boost::asio::awaitable<boost::system::error_code> handshake(
      std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<boost::system::error_code> expect_status(
      std::span<const std::string_view> args, std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<result<Reply>> send(std::span<const std::string_view> args,
                                             std::chrono::milliseconds timeout);
  boost::asio::awaitable<void> read_loop(std::shared_ptr<Connection> keep_alive);
  boost::asio::awaitable<void> write_loop(std::shared_ptr<Connection> keep_alive);
  void fail(boost::system::error_code ec);
  std::shared_ptr<Pending> acquire_slot();
  void release_slot(std::shared_ptr<Pending> slot);

  boost::asio::any_io_executor executor_;
  ConnectionOptions options_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;  // handshake watchdog
  boost::asio::steady_timer writer_wake_;    // the idle writer sleeps on this
  bool connect_started_ = false;
  bool connect_timed_out_ = false;
  bool socket_up_ = false;  // reader/writer running: commands may be sent
  bool ready_ = false;      // handshake done
  bool closed_ = false;
  bool writer_waiting_ = false;
  std::string out_;      // encoded commands not yet handed to the socket
  std::string writing_;  // the batch currently being written
  std::deque<std::shared_ptr<Pending>> pending_;
  std::vector<std::shared_ptr<Pending>> free_slots_;  // reused slots (timer construction)
  ReplyParser parser_;
  CloseHandler close_handler_;
};

}  // namespace cachecar::store::redis
