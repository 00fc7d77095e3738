// One pipelined Redis connection over TCP or TLS (Transport), confined to one executor (no locks).
// Commands from many coroutines are coalesced into single writes; replies complete them in
// FIFO order. Never throws on the request path: failures come back as error codes.
#pragma once

#include "store/redis/resp.hpp"
#include "store/redis/transport.hpp"

#include <boost/asio/any_completion_handler.hpp>
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
  std::string user;      // ACL user: AUTH user password (empty: AUTH password)
  std::string password;  // empty: no AUTH
  int db = 0;            // non-zero: SELECT db
  TlsOptions tls;        // no context: plain TCP
  // Budget for the whole handshake: resolve, TCP connect, TLS, AUTH, SELECT and a PING reply.
  std::chrono::milliseconds connect_timeout{1000};
  std::size_t max_pending = 4096;  // commands awaiting replies; beyond this execute() fails fast
  // Lua scripts to SCRIPT LOAD during the handshake, so EVALSHA on this connection never meets
  // NOSCRIPT (whose EVAL retry would be ordered after commands sent meanwhile).
  std::vector<std::string> scripts;
  // Commands run after the scripts are loaded, each reply (error replies too: they do not fail
  // the handshake) handed to on_setup_reply with the command's index.
  std::vector<std::vector<std::string>> setup_commands;
  std::function<void(std::size_t index, const Reply& reply)> on_setup_reply;
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

  // Resolves, connects (TCP_NODELAY), does the TLS handshake, authenticates, selects the db
  // and waits for a PING reply, all within options.connect_timeout. Call once. Errors:
  // errc::timeout, errc::store_unavailable (resolve/connect/TLS failure),
  // errc::store_reply_error (AUTH/SELECT refused), errc::shutting_down (closed meanwhile). A
  // failed connection is closed, and failure() says why.
  boost::asio::awaitable<boost::system::error_code> connect();

  // Why connect() failed, for logs and /health ("TLS handshake with 127.0.0.1:6380 failed:
  // certificate verify failed: unable to get local issuer certificate", "AUTH refused:
  // WRONGPASS ..."). Never holds the password. Empty after a successful connect().
  const std::string& failure() const noexcept { return failure_; }

  // Sends one command and waits for its reply, at most `timeout`. The arguments are encoded
  // before the first suspension, so they need to stay valid only until then. Error replies
  // ("-ERR ...") are returned as a Reply of type Error, not as an error code. Errors:
  // errc::timeout (the late reply is dropped when it arrives), errc::store_unavailable (not
  // open, closed while waiting, or too many pending commands), errc::store_protocol_error.
  boost::asio::awaitable<result<Reply>> execute(std::span<const std::string_view> args,
                                                std::chrono::milliseconds timeout);

  // Closes the socket and fails every pending command with `reason`. Idempotent.
  void close(boost::system::error_code reason = errc::store_unavailable);

  void set_close_handler(CloseHandler handler) { close_handler_ = std::move(handler); }

  bool is_open() const noexcept { return ready_ && !closed_; }
  std::size_t pending() const noexcept { return pending_.size(); }

 private:
  // One command awaiting its reply, in send order. `resume` is the waiting coroutine; the
  // reader hands it the reply, the watchdog a timeout. A timed-out command stays queued, with
  // an empty `resume`, until its reply arrives, so the FIFO stays aligned with the server's.
  struct Pending {
    std::chrono::steady_clock::time_point deadline;
    boost::asio::any_completion_handler<void(result<Reply>)> resume;
  };

  Connection(boost::asio::any_io_executor executor, ConnectionOptions options);

  boost::asio::awaitable<boost::system::error_code> handshake(
      std::chrono::steady_clock::time_point deadline);
  // `what` names the step in failure() ("AUTH"); the arguments may hold a secret.
  boost::asio::awaitable<boost::system::error_code> expect_status(
      std::string_view what, std::span<const std::string_view> args,
      std::chrono::steady_clock::time_point deadline);
  std::string endpoint_text() const;
  boost::asio::awaitable<result<Reply>> send(std::span<const std::string_view> args,
                                             std::chrono::milliseconds timeout);
  boost::asio::awaitable<void> read_loop(std::shared_ptr<Connection> keep_alive);
  boost::asio::awaitable<void> write_loop(std::shared_ptr<Connection> keep_alive);
  boost::asio::awaitable<void> watchdog_loop(std::shared_ptr<Connection> keep_alive);
  void enqueue(Pending pending);
  void complete(Pending& pending, result<Reply> outcome);
  // Times out the overdue commands; returns the earliest deadline still waiting, if any.
  std::optional<std::chrono::steady_clock::time_point> expire_overdue();
  void fail(boost::system::error_code ec);

  boost::asio::any_io_executor executor_;
  ConnectionOptions options_;
  Transport transport_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;  // handshake watchdog
  boost::asio::steady_timer writer_wake_;    // the idle writer sleeps on this
  // One timer for all command deadlines, re-armed only when it fires (not per command: each
  // re-arm of the earliest timer is a timerfd_settime syscall).
  boost::asio::steady_timer watchdog_;
  bool connect_started_ = false;
  bool connect_timed_out_ = false;
  bool socket_up_ = false;  // reader/writer running: commands may be sent
  bool ready_ = false;      // handshake done
  bool closed_ = false;
  bool writer_waiting_ = false;
  // When the watchdog wakes next (max: idle until a command arrives).
  std::chrono::steady_clock::time_point watchdog_expiry_ =
      std::chrono::steady_clock::time_point::max();
  std::string out_;      // encoded commands not yet handed to the socket
  std::string writing_;  // the batch currently being written
  std::deque<Pending> pending_;
  ReplyParser parser_;
  CloseHandler close_handler_;
  std::string failure_;
  std::string read_failure_;  // what ended the reader during the handshake
};

}  // namespace cachecar::store::redis
