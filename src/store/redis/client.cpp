#include "store/redis/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

namespace cachecar::store::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

// Everything the background coroutines touch lives here, owned jointly by the Client and by
// those coroutines, so destroying the Client while they are suspended is safe.
struct Client::State {
  State(asio::any_io_executor ex, Options opts, Observer obs)
      : executor(std::move(ex)),
        options(std::move(opts)),
        observer(std::move(obs)),
        breaker(options.breaker),
        connections(std::max<std::size_t>(options.connections, 1)),
        wake(executor) {}

  asio::any_io_executor executor;
  Options options;
  Observer observer;
  CircuitBreaker breaker;
  std::vector<std::shared_ptr<Connection>> connections;  // null: down
  std::shared_ptr<Connection> connecting;                // handshake in progress
  std::size_t next = 0;
  asio::steady_timer wake;  // the maintainer sleeps on this; cancel() wakes it
  // Commands that arrived before the first connection attempt finished.
  std::vector<std::shared_ptr<asio::steady_timer>> first_connect_waiters;
  bool first_attempt_done = false;
  bool stopped = false;
  // Published for health(), which other threads may call.
  std::atomic<bool> connected{false};
  std::atomic<CircuitBreaker::State> breaker_state{CircuitBreaker::State::Closed};
  mutable std::mutex last_error_mutex;  // health() reads it from other threads
  std::string last_error;

  ConnectionOptions connection_options() const {
    ConnectionOptions o;
    o.host = options.host;
    o.port = options.port;
    o.user = options.user;
    o.password = options.password;
    o.db = options.db;
    o.tls = options.tls;
    o.connect_timeout = options.connect_timeout;
    o.max_pending = options.max_pending;
    o.scripts = options.scripts;
    o.setup_commands = options.setup_commands;
    o.on_setup_reply = options.on_setup_reply;
    return o;
  }

  void set_last_error(std::string error) {
    const std::lock_guard lock(last_error_mutex);
    last_error = std::move(error);
  }

  std::shared_ptr<Connection> pick() {
    for (std::size_t n = 0; n < connections.size(); ++n) {
      auto& conn = connections[next++ % connections.size()];
      if (conn && conn->is_open()) return conn;
    }
    return nullptr;
  }

  bool all_open() const {
    return std::all_of(connections.begin(), connections.end(),
                       [](const auto& c) { return c && c->is_open(); });
  }

  void publish() {
    connected.store(std::any_of(connections.begin(), connections.end(),
                                [](const auto& c) { return c && c->is_open(); }),
                    std::memory_order_relaxed);
    breaker_state.store(breaker.state(), std::memory_order_relaxed);
  }

  // Closing a connection runs its close handler (on_connection_lost), which comes back here:
  // the slots are emptied first so that re-entry finds nothing left to close.
  void disconnect_all(error_code reason) {
    auto doomed = connections;
    for (auto& c : connections) c.reset();
    for (auto& c : doomed) {
      if (c) c->close(reason);
    }
  }

  void on_connection_lost() {
    if (stopped) return;
    breaker.trip(Clock::now());
    disconnect_all(errc::store_unavailable);
    wake.cancel();
    publish();
  }

  void on_command_timeout() {
    breaker.on_failure(Clock::now());
    if (breaker.state() == CircuitBreaker::State::Open) {
      disconnect_all(errc::store_unavailable);
      wake.cancel();
    }
    publish();
  }

  void release_first_connect_waiters() {
    auto waiters = std::move(first_connect_waiters);
    first_connect_waiters.clear();
    for (auto& t : waiters) t->cancel();
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    disconnect_all(errc::shutting_down);
    if (connecting) connecting->close(errc::shutting_down);
    wake.cancel();
    release_first_connect_waiters();
    publish();
  }
};

namespace {

using State = Client::State;

// Opens every missing connection, one after the other. True when all are open.
asio::awaitable<bool> connect_all(std::shared_ptr<State> s) {
  for (auto& slot : s->connections) {
    if (slot && slot->is_open()) continue;
    auto conn = Connection::create(s->executor, s->connection_options());
    s->connecting = conn;
    const error_code ec = co_await conn->connect();
    s->connecting.reset();
    if (s->stopped) {
      conn->close(errc::shutting_down);
      co_return false;
    }
    if (ec) {
      s->set_last_error(conn->failure());
      if (s->options.on_connect_failure) s->options.on_connect_failure(conn->failure());
      co_return false;
    }
    conn->set_close_handler([weak = std::weak_ptr<State>(s)](error_code) {
      if (auto state = weak.lock()) state->on_connection_lost();
    });
    slot = std::move(conn);
  }
  co_return s->all_open();
}

// The one background coroutine: (re)connects whenever a connection is missing, pacing its
// attempts with the breaker's backoff; each attempt is the breaker's half-open probe.
asio::awaitable<void> maintain(std::shared_ptr<State> s) {
  while (!s->stopped) {
    if (s->all_open()) {
      s->wake.expires_at(asio::steady_timer::time_point::max());
      co_await s->wake.async_wait(kUseTuple);
      continue;
    }
    if (!s->breaker.allow(Clock::now())) {  // open: wait out the backoff
      s->wake.expires_at(s->breaker.retry_at());
      co_await s->wake.async_wait(kUseTuple);
      continue;
    }
    s->publish();
    const bool ok = co_await connect_all(s);
    if (s->stopped) break;
    if (ok) {
      s->breaker.on_success();
      s->set_last_error({});
    } else {
      s->disconnect_all(errc::store_unavailable);
      s->breaker.trip(Clock::now());
    }
    s->first_attempt_done = true;
    s->release_first_connect_waiters();
    s->publish();
  }
}

asio::awaitable<result<Reply>> run(std::shared_ptr<State> s,
                                   std::span<const std::string_view> args) {
  if (s->stopped) co_return errc::shutting_down;
  if (s->breaker.state() != CircuitBreaker::State::Closed) co_return errc::store_unavailable;
  auto conn = s->pick();
  if (!conn) {
    const bool bounded = s->first_connect_waiters.size() < s->options.max_pending;
    if (s->first_attempt_done || !bounded) co_return errc::store_unavailable;
    auto timer = std::make_shared<asio::steady_timer>(s->executor, s->options.command_timeout);
    s->first_connect_waiters.push_back(timer);
    co_await timer->async_wait(kUseTuple);
    if (s->stopped) co_return errc::shutting_down;
    conn = s->pick();
    if (!conn) co_return errc::store_unavailable;
  }
  auto reply = co_await conn->execute(args, s->options.command_timeout);
  if (reply) {
    s->breaker.on_success();
  } else if (reply.error() == errc::timeout) {
    s->on_command_timeout();
  }
  // Other failures: a lost connection has already tripped the breaker through its close
  // handler; a full pending queue is back-pressure, not a sign that Redis is down.
  co_return reply;
}

}  // namespace

Client::Client(asio::any_io_executor executor, Options options, Observer observer)
    : state_(
          std::make_shared<State>(std::move(executor), std::move(options), std::move(observer))) {
  asio::co_spawn(state_->executor, maintain(state_), asio::detached);
}

Client::~Client() {
  stop();
}

asio::awaitable<result<Reply>> Client::execute(std::span<const std::string_view> args) {
  auto s = state_;
  const auto start = Clock::now();
  result<Reply> reply = co_await run(s, args);
  if (s->observer) {
    error_code ec;
    if (!reply) {
      ec = reply.error();
    } else if (reply->is_error()) {
      ec = errc::store_reply_error;
    }
    s->observer(args.empty() ? std::string_view() : args[0], Clock::now() - start, ec);
  }
  co_return reply;
}

StoreHealth Client::health() const {
  StoreHealth health;
  health.connected = state_->connected.load(std::memory_order_relaxed);
  health.state = state_->breaker_state.load(std::memory_order_relaxed);
  if (!health.connected) {
    const std::lock_guard lock(state_->last_error_mutex);
    health.last_error = state_->last_error;
  }
  return health;
}

const Client::Options& Client::options() const noexcept {
  return state_->options;
}

void Client::stop() {
  state_->stop();
}

}  // namespace cachecar::store::redis
