// The keep-alive pool over real loopback sockets: the kernel completes the handshake from the
// listen backlog, so no accept loop is needed.
#include "upstream/pool.hpp"

#include "support/run_awaitable.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

namespace cachecar::upstream {
namespace {

struct PoolFixture {
  asio::io_context ctx;
  net::tcp::acceptor acceptor{ctx, {asio::ip::make_address("127.0.0.1"), 0}};
  ConnectionCounter counter;

  PoolOptions options() {
    PoolOptions o;
    o.host = "127.0.0.1";
    o.port = acceptor.local_endpoint().port();
    return o;
  }
  std::unique_ptr<Connection> acquire(Pool& pool) {
    auto connection = test::run_awaitable(ctx, pool.acquire());
    EXPECT_TRUE(connection.has_value()) << connection.error().message();
    return connection ? std::move(*connection) : nullptr;
  }
};

TEST(Pool, CountsOpenConnectionsInTheCounterItWasGiven) {
  PoolFixture f;
  Pool a(f.ctx.get_executor(), f.options(), f.counter);
  Pool b(f.ctx.get_executor(), f.options(), f.counter);
  auto first = f.acquire(a);
  auto second = f.acquire(b);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(f.counter.open(), 2);
  a.release(std::move(first));
  EXPECT_EQ(f.counter.open(), 2);  // idle, still open
  a.close_idle();
  EXPECT_EQ(f.counter.open(), 1);
  second.reset();
  EXPECT_EQ(f.counter.open(), 0);

  ConnectionCounter other;
  Pool c(f.ctx.get_executor(), f.options(), other);
  auto third = f.acquire(c);
  EXPECT_EQ(other.open(), 1);
  EXPECT_EQ(f.counter.open(), 0);
}

TEST(Pool, HandsAReleasedConnectionOutAgainUntilTheIdleOnesAreClosed) {
  PoolFixture f;
  Pool pool(f.ctx.get_executor(), f.options(), f.counter);
  auto connection = f.acquire(pool);
  ASSERT_TRUE(connection);
  EXPECT_FALSE(connection->reused);
  const auto* raw = connection.get();
  pool.release(std::move(connection));

  connection = f.acquire(pool);
  ASSERT_TRUE(connection);
  EXPECT_TRUE(connection->reused);
  EXPECT_EQ(connection.get(), raw);
  pool.release(std::move(connection));

  pool.close_idle();
  connection = f.acquire(pool);
  ASSERT_TRUE(connection);
  EXPECT_FALSE(connection->reused);
  EXPECT_EQ(f.counter.open(), 1);
}

}  // namespace
}  // namespace cachecar::upstream
