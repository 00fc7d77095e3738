// Which connections the upstream keep-alive pool hands out again and which it closes (limits,
// idle age, stale ones), against a loopback acceptor (no HTTP; the kernel completes the
// handshake from the listen backlog).
#include "upstream/pool.hpp"

#include "support/run_awaitable.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <poll.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace cachecar::upstream {
namespace {

using namespace std::chrono_literals;
using test::run_awaitable;
using test::wait_until;

class PoolReuseTest : public ::testing::Test {
 protected:
  PoolOptions options(std::size_t max_idle = 8) const {
    PoolOptions o;
    o.host = "127.0.0.1";
    o.port = acceptor_.local_endpoint().port();
    o.connect_timeout = 5s;
    o.max_idle_connections = max_idle;
    return o;
  }

  std::unique_ptr<Connection> acquire(
      Pool& pool, std::chrono::milliseconds max_idle_age = std::chrono::milliseconds::max()) {
    auto connection = run_awaitable(ctx_, pool.acquire(max_idle_age), 10s);
    EXPECT_TRUE(connection.has_value()) << connection.error().message();
    return connection ? std::move(*connection) : nullptr;
  }

  // The client-side port, which tells connections apart.
  static std::uint16_t id(const Connection& connection) {
    return connection.stream.socket().local_endpoint().port();
  }

  // The server side of the next connection (already established by the kernel).
  net::tcp::socket accept() { return acceptor_.accept(); }

  // True once the peer of `server_side` has closed its end (EOF), within a liveness bound.
  static bool closed_by_pool(net::tcp::socket& server_side) {
    server_side.non_blocking(true);
    return wait_until(
        [&] {
          char byte;
          net::error_code ec;
          server_side.read_some(asio::buffer(&byte, 1), ec);
          return ec == asio::error::eof || ec == asio::error::connection_reset;
        },
        5s);
  }

  // The pool compares idle time in milliseconds: lets the clock move past a release (this
  // waits for nothing else).
  static void let_a_few_milliseconds_pass() {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start <= 2ms) std::this_thread::sleep_for(1ms);
  }

  asio::io_context ctx_;
  net::tcp::acceptor acceptor_{ctx_, {asio::ip::make_address("127.0.0.1"), 0}};
  ConnectionCounter counter_;  // outlives the pools and connections of each test
};

TEST_F(PoolReuseTest, AReleasedConnectionIsHandedOutAgainWarmestFirst) {
  Pool pool(ctx_.get_executor(), options(), counter_);
  auto a = acquire(pool);
  auto b = acquire(pool);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(a->reused);
  EXPECT_FALSE(b->reused);
  const auto a_id = id(*a), b_id = id(*b);
  pool.release(std::move(a));
  pool.release(std::move(b));

  auto first = acquire(pool);
  auto second = acquire(pool);
  auto third = acquire(pool);
  ASSERT_TRUE(first && second && third);
  EXPECT_TRUE(first->reused);
  EXPECT_EQ(id(*first), b_id);  // LIFO: the last released has been idle the shortest time
  EXPECT_TRUE(second->reused);
  EXPECT_EQ(id(*second), a_id);
  EXPECT_FALSE(third->reused);  // the idle list is empty: a new connection
  EXPECT_NE(id(*third), a_id);
  EXPECT_NE(id(*third), b_id);
  EXPECT_EQ(counter_.open(), 3);
}

TEST_F(PoolReuseTest, IdleConnectionsAreBoundedByMaxIdleConnections) {
  Pool pool(ctx_.get_executor(), options(/*max_idle=*/2), counter_);
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < 3; ++i) connections.push_back(acquire(pool));
  std::vector<net::tcp::socket> server_sides;
  for (int i = 0; i < 3; ++i) server_sides.push_back(accept());
  for (auto& connection : connections) pool.release(std::move(connection));
  // The third released connection was closed, not kept: its peer sees EOF.
  EXPECT_EQ(counter_.open(), 2);
  EXPECT_TRUE(closed_by_pool(server_sides[2]));

  auto first = acquire(pool);
  auto second = acquire(pool);
  auto third = acquire(pool);
  EXPECT_TRUE(first->reused);
  EXPECT_TRUE(second->reused);
  EXPECT_FALSE(third->reused);
}

TEST_F(PoolReuseTest, WithNoIdleConnectionsAllowedNothingIsKept) {
  Pool pool(ctx_.get_executor(), options(/*max_idle=*/0), counter_);
  pool.release(acquire(pool));
  EXPECT_EQ(counter_.open(), 0);
  EXPECT_FALSE(acquire(pool)->reused);
}

TEST_F(PoolReuseTest, AConnectionIdleLongerThanMaxIdleAgeIsClosedInsteadOfReused) {
  Pool pool(ctx_.get_executor(), options(), counter_);
  pool.release(acquire(pool));
  auto server_side = accept();
  auto young = acquire(pool, 1h);
  ASSERT_TRUE(young);
  EXPECT_TRUE(young->reused);
  pool.release(std::move(young));
  let_a_few_milliseconds_pass();
  auto fresh = acquire(pool, 0ms);
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->reused);
  EXPECT_TRUE(closed_by_pool(server_side));
  EXPECT_EQ(counter_.open(), 1);
}

// Bytes that arrive on an idle connection answer nothing (an error page before a close, say):
// a request sent on it would read them as its response.
TEST_F(PoolReuseTest, AnIdleConnectionThePeerWroteToIsSkipped) {
  Pool pool(ctx_.get_executor(), options(), counter_);
  auto connection = acquire(pool);
  ASSERT_TRUE(connection);
  auto server_side = accept();
  Connection* idle = connection.get();  // stays alive in the pool's idle list
  pool.release(std::move(connection));
  const std::string junk = "HTTP/1.1 408 Request Timeout\r\n\r\n";
  asio::write(server_side, asio::buffer(junk));
  ASSERT_TRUE(wait_until([&] { return idle->stream.socket().available() > 0; }, 5s));

  auto next = acquire(pool);
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->reused);
  EXPECT_TRUE(closed_by_pool(server_side));
}

// An upstream that closes an idle keep-alive connection (its keep-alive timeout) sends a FIN,
// which available() does not show: handed out again, the connection would fail on first use,
// and a request that may not be retried (POST) would get a 502.
TEST_F(PoolReuseTest, AnIdleConnectionTheUpstreamClosedIsSkipped) {
  Pool pool(ctx_.get_executor(), options(), counter_);
  auto connection = acquire(pool);
  ASSERT_TRUE(connection);
  auto server_side = accept();
  const int fd = connection->stream.socket().native_handle();  // stays open in the idle list
  pool.release(std::move(connection));
  server_side.close();
  // Waits for the FIN to reach this end (the kernel's, not the pool's view of it).
  ASSERT_TRUE(wait_until(
      [&] {
        pollfd entry{fd, POLLRDHUP, 0};
        return ::poll(&entry, 1, 0) == 1 && (entry.revents & POLLRDHUP) != 0;
      },
      5s));

  auto next = acquire(pool);
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->reused);
}

TEST_F(PoolReuseTest, AConnectionWithBytesBufferedPastItsResponseIsNotKept) {
  Pool pool(ctx_.get_executor(), options(), counter_);
  auto connection = acquire(pool);
  ASSERT_TRUE(connection);
  auto server_side = accept();
  const std::string extra = "HTTP/1.1 200 OK\r\n";  // read past the last response
  connection->buffer.commit(
      asio::buffer_copy(connection->buffer.prepare(extra.size()), asio::buffer(extra)));
  pool.release(std::move(connection));
  EXPECT_TRUE(closed_by_pool(server_side));
  EXPECT_FALSE(acquire(pool)->reused);
}

TEST_F(PoolReuseTest, AClosedConnectionIsNotKept) {
  Pool pool(ctx_.get_executor(), options(), counter_);
  auto connection = acquire(pool);
  ASSERT_TRUE(connection);
  connection->stream.socket().close();
  pool.release(std::move(connection));
  pool.release(nullptr);  // and a null one is ignored
  EXPECT_EQ(counter_.open(), 0);
  EXPECT_FALSE(acquire(pool)->reused);
}

TEST_F(PoolReuseTest, CloseIdleClosesEveryIdleConnection) {
  Pool pool(ctx_.get_executor(), options(), counter_);
  auto a = acquire(pool);
  auto b = acquire(pool);
  auto server_a = accept();
  auto server_b = accept();
  pool.release(std::move(a));
  pool.release(std::move(b));
  pool.close_idle();
  EXPECT_TRUE(closed_by_pool(server_a));
  EXPECT_TRUE(closed_by_pool(server_b));
  EXPECT_FALSE(acquire(pool)->reused);
}

TEST_F(PoolReuseTest, ConnectingWhereNothingListensFails) {
  const auto o = options();
  acceptor_.close();  // the port now refuses connections
  Pool pool(ctx_.get_executor(), o, counter_);
  auto connection = run_awaitable(ctx_, pool.acquire(), 10s);
  ASSERT_FALSE(connection.has_value());
  EXPECT_EQ(connection.error(), errc::upstream_connect_failed);
  EXPECT_EQ(counter_.open(), 0);
}

}  // namespace
}  // namespace cachecar::upstream
