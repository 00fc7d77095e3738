#include "store/redis/connection.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <string>

namespace cachecar::store::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Time left until `deadline`, rounded up to whole milliseconds (zero when past).
std::chrono::milliseconds remaining(Clock::time_point deadline) {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return std::chrono::milliseconds::zero();
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

}  // namespace

std::shared_ptr<Connection> Connection::create(asio::any_io_executor executor,
                                               ConnectionOptions options) {
  return std::shared_ptr<Connection>(new Connection(std::move(executor), std::move(options)));
}

Connection::Connection(asio::any_io_executor executor, ConnectionOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      transport_(executor_, options_.tls),
      resolver_(executor_),
      connect_timer_(executor_),
      writer_wake_(executor_),
      watchdog_(executor_) {}

Connection::~Connection() = default;

asio::awaitable<error_code> Connection::connect() {
  if (connect_started_ || closed_) co_return errc::store_unavailable;
  connect_started_ = true;
  auto self = shared_from_this();
  const auto deadline = Clock::now() + options_.connect_timeout;

  // Watchdog: when the budget runs out, closing the connection aborts whichever step
  // (resolve, connect, AUTH, SELECT, PING) is in progress.
  connect_timer_.expires_at(deadline);
  connect_timer_.async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    if (auto conn = weak.lock()) {
      conn->connect_timed_out_ = true;
      conn->fail(errc::timeout);
    }
  });

  error_code ec = co_await handshake(deadline);
  connect_timer_.cancel();
  if (connect_timed_out_) {
    ec = errc::timeout;
    failure_ = "no answer from " + endpoint_text() + " within " +
               std::to_string(options_.connect_timeout.count()) + "ms (connect" +
               (transport_.tls() ? ", TLS handshake" : "") + ", AUTH, SELECT, PING)";
  }
  if (!ec && closed_) ec = errc::shutting_down;
  if (ec) {
    if (failure_.empty() && !read_failure_.empty()) {
      // TLS 1.3: a server that refuses our certificate says so after the client's handshake.
      failure_ = std::string(transport_.tls() ? "TLS session with " : "connection to ") +
                 endpoint_text() + " failed: " + read_failure_;
    }
    if (failure_.empty()) failure_ = "connection to " + endpoint_text() + " failed";
    fail(ec);
    co_return ec;
  }
  failure_.clear();
  ready_ = true;
  co_return error_code{};
}

std::string Connection::endpoint_text() const {
  return (options_.host.find(':') != std::string::npos ? "[" + options_.host + "]"
                                                       : options_.host) +
         ":" + std::to_string(options_.port);
}

asio::awaitable<error_code> Connection::handshake(Clock::time_point deadline) {
  error_code ec;
  auto& socket = transport_.socket();
  const auto address = asio::ip::make_address(options_.host, ec);
  if (!ec) {
    auto [cec] = co_await socket.async_connect({address, options_.port}, kUseTuple);
    if (cec) {
      failure_ = "cannot connect to " + endpoint_text() + ": " + cec.message();
      co_return errc::store_unavailable;
    }
  } else {
    auto [rec, endpoints] =
        co_await resolver_.async_resolve(options_.host, std::to_string(options_.port), kUseTuple);
    if (rec || closed_) {
      failure_ = "cannot resolve " + options_.host + ": " + rec.message();
      co_return errc::store_unavailable;
    }
    auto [cec, endpoint] = co_await asio::async_connect(socket, endpoints, kUseTuple);
    (void)endpoint;
    if (cec) {
      failure_ = "cannot connect to " + endpoint_text() + ": " + cec.message();
      co_return errc::store_unavailable;
    }
  }
  if (closed_) co_return errc::shutting_down;
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  std::string reason;
  if (auto tec = co_await transport_.handshake(options_.host, &reason)) {
    if (!closed_) failure_ = "TLS handshake with " + endpoint_text() + " failed: " + reason;
    co_return errc::store_unavailable;
  }
  if (closed_) co_return errc::shutting_down;

  socket_up_ = true;
  auto self = shared_from_this();
  asio::co_spawn(executor_, read_loop(self), asio::detached);
  asio::co_spawn(executor_, write_loop(self), asio::detached);
  asio::co_spawn(executor_, watchdog_loop(self), asio::detached);

  // Each step must be answered before the deadline: a stopped server (SIGSTOP) accepts TCP
  // connections but never replies, and such a connection must not count as up.
  if (!options_.password.empty()) {
    std::vector<std::string_view> auth{"AUTH"};
    if (!options_.user.empty()) auth.emplace_back(options_.user);
    auth.emplace_back(options_.password);
    if (auto aec = co_await expect_status("AUTH", auth, deadline)) co_return aec;
  }
  if (options_.db != 0) {
    const std::string db = std::to_string(options_.db);
    const std::array<std::string_view, 2> select{"SELECT", db};
    const std::string what = "SELECT " + db;
    if (auto sec = co_await expect_status(what, select, deadline)) co_return sec;
  }
  const std::array<std::string_view, 1> ping{"PING"};
  if (auto pec = co_await expect_status("PING", ping, deadline)) co_return pec;
  for (const auto& script : options_.scripts) {
    const std::array<std::string_view, 3> load{"SCRIPT", "LOAD", script};
    auto reply = co_await send(load, remaining(deadline));
    if (!reply) co_return reply.error();
    if (reply->type != Reply::Type::String) {
      failure_ = "SCRIPT LOAD refused: " + (reply->is_error() ? reply->str : "unexpected reply");
      co_return errc::store_reply_error;
    }
  }
  for (std::size_t i = 0; i < options_.setup_commands.size(); ++i) {
    const auto& command = options_.setup_commands[i];
    const std::vector<std::string_view> args(command.begin(), command.end());
    auto reply = co_await send(args, remaining(deadline));
    if (!reply) co_return reply.error();
    if (options_.on_setup_reply) options_.on_setup_reply(i, *reply);
  }
  co_return error_code{};
}

asio::awaitable<error_code> Connection::expect_status(std::string_view what,
                                                      std::span<const std::string_view> args,
                                                      Clock::time_point deadline) {
  auto reply = co_await send(args, remaining(deadline));
  if (!reply) co_return reply.error();
  if (reply->type != Reply::Type::Status) {
    // Redis's error text ("WRONGPASS invalid username-password pair ...") never echoes it.
    failure_ = std::string(what) +
               " refused: " + (reply->is_error() ? reply->str : std::string("unexpected reply"));
    co_return errc::store_reply_error;
  }
  co_return error_code{};
}

asio::awaitable<result<Reply>> Connection::execute(std::span<const std::string_view> args,
                                                   std::chrono::milliseconds timeout) {
  if (!ready_ || closed_) co_return errc::store_unavailable;
  co_return co_await send(args, timeout);
}

asio::awaitable<result<Reply>> Connection::send(std::span<const std::string_view> args,
                                                std::chrono::milliseconds timeout) {
  if (!socket_up_ || closed_) co_return errc::store_unavailable;
  if (pending_.size() >= options_.max_pending) co_return errc::store_unavailable;
  auto self = shared_from_this();  // completion touches members: stay alive until then
  encode_command(args, out_);
  const auto deadline = Clock::now() + timeout;
  auto wait_for_reply = [this, deadline](auto resume) { enqueue({deadline, std::move(resume)}); };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(result<Reply>)>(
      wait_for_reply, asio::use_awaitable);
}

void Connection::enqueue(Pending pending) {
  pending_.push_back(std::move(pending));
  if (writer_waiting_) {
    writer_waiting_ = false;
    writer_wake_.cancel();
  }
  const auto deadline = pending_.back().deadline;
  if (deadline < watchdog_expiry_) {  // idle, or this command has a shorter timeout
    watchdog_expiry_ = deadline;
    watchdog_.cancel();
  }
}

// Resumes the waiting coroutine later, from the event loop: never inside the reader's or the
// watchdog's loop, which must not see pending_ change under them.
void Connection::complete(Pending& pending, result<Reply> outcome) {
  if (!pending.resume) return;  // timed out earlier: nobody waits for this reply any more
  asio::post(executor_, asio::append(std::move(pending.resume), std::move(outcome)));
  pending.resume = nullptr;
}

std::optional<Clock::time_point> Connection::expire_overdue() {
  const auto now = Clock::now();
  std::optional<Clock::time_point> earliest;
  for (auto& pending : pending_) {
    if (!pending.resume) continue;
    if (pending.deadline <= now) {
      complete(pending, errc::timeout);
    } else if (!earliest || pending.deadline < *earliest) {
      earliest = pending.deadline;
    }
  }
  return earliest;
}

// Sleeps until the earliest deadline it knew of; a reply arriving first does not re-arm it,
// it simply finds nothing overdue when it wakes and sleeps until the next deadline.
asio::awaitable<void> Connection::watchdog_loop(std::shared_ptr<Connection> /*keep_alive*/) {
  while (!closed_) {
    const auto earliest = expire_overdue();
    watchdog_expiry_ = earliest ? *earliest : Clock::time_point::max();
    watchdog_.expires_at(watchdog_expiry_);
    co_await watchdog_.async_wait(kUseTuple);
  }
}

// Single writer: everything queued since the last write goes out in one write, so commands
// issued by many coroutines in the same event-loop turn share one syscall.
asio::awaitable<void> Connection::write_loop(std::shared_ptr<Connection> /*keep_alive*/) {
  while (!closed_) {
    if (out_.empty()) {
      writer_waiting_ = true;
      writer_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await writer_wake_.async_wait(kUseTuple);
      writer_waiting_ = false;
      continue;
    }
    writing_.swap(out_);
    auto [ec, written] = co_await transport_.async_write(asio::buffer(writing_), kUseTuple);
    (void)written;
    writing_.clear();
    if (ec) {
      fail(errc::store_unavailable);
      co_return;
    }
  }
}

// Single reader: parses as many replies as each read delivers and completes the pending
// commands in order.
asio::awaitable<void> Connection::read_loop(std::shared_ptr<Connection> /*keep_alive*/) {
  while (!closed_) {
    const auto space = parser_.prepare();
    auto [ec, n] =
        co_await transport_.async_read_some(asio::buffer(space.data(), space.size()), kUseTuple);
    if (ec) {
      if (!ready_ && !closed_) read_failure_ = Transport::describe(ec);
      fail(errc::store_unavailable);
      co_return;
    }
    parser_.commit(n);
    for (;;) {
      auto parsed = parser_.next();
      if (!parsed) {
        fail(errc::store_protocol_error);
        co_return;
      }
      if (!*parsed) break;
      if (pending_.empty()) {  // a reply nobody asked for: we are out of step
        fail(errc::store_protocol_error);
        co_return;
      }
      complete(pending_.front(), std::move(**parsed));
      pending_.pop_front();
    }
  }
}

void Connection::fail(error_code ec) {
  if (closed_) return;
  const bool was_ready = ready_;
  closed_ = true;
  ready_ = false;
  socket_up_ = false;
  transport_.close();
  resolver_.cancel();
  connect_timer_.cancel();
  writer_wake_.cancel();
  watchdog_.cancel();
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& waiting : pending) complete(waiting, ec);
  out_.clear();
  if (was_ready && close_handler_) {
    auto handler = std::move(close_handler_);
    close_handler_ = nullptr;
    handler(ec);
  }
}

void Connection::close(error_code reason) {
  fail(reason);
}

}  // namespace cachecar::store::redis
