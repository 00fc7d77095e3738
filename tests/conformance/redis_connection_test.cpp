// One pipelined connection against a real server: reply ordering after timeouts, connection
// loss, handshake failures.
#include "conformance/redis_fixture.hpp"
#include "store/redis/connection.hpp"
#include "support/redis_server.hpp"
#include "support/run_awaitable.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>

namespace cachecar::store::redis {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;
using test::run_awaitable;
using test::wait_until;

class RedisConnection : public test::RedisServerTest {
 protected:
  void TearDown() override {
    if (server_) server_->resume();
    if (conn_) conn_->close();
    conn_.reset();
    drain_context();
  }

  ConnectionOptions options(std::chrono::milliseconds connect_timeout = 2s) const {
    ConnectionOptions o;
    o.host = server_->host();
    o.port = server_->port();
    o.connect_timeout = connect_timeout;
    return o;
  }

  boost::system::error_code connect(ConnectionOptions o) {
    conn_ = Connection::create(ctx_.get_executor(), std::move(o));
    return run_awaitable(ctx_, conn_->connect());
  }

  result<Reply> execute(std::vector<std::string_view> args, std::chrono::milliseconds timeout) {
    return run_awaitable(ctx_, conn_->execute(args, timeout));
  }

  std::shared_ptr<Connection> conn_;
};

TEST_F(RedisConnection, LateReplyOfATimedOutCommandIsDropped) {
  ASSERT_FALSE(connect(options()));
  // BLPOP blocks this connection server-side for 500ms: far beyond our 50ms deadline.
  auto blocked = execute({"BLPOP", "cc-conn:empty", "0.5"}, 50ms);
  ASSERT_FALSE(blocked.has_value());
  EXPECT_EQ(blocked.error(), errc::timeout);
  EXPECT_TRUE(conn_->is_open());
  // The next reply on the wire is BLPOP's nil: it must not be given to ECHO.
  auto echo = execute({"ECHO", "mine"}, 10s);
  ASSERT_TRUE(echo.has_value()) << echo.error().message();
  EXPECT_EQ(echo->str, "mine");
  EXPECT_EQ(conn_->pending(), 0u);
}

TEST_F(RedisConnection, LostConnectionFailsPendingCommandsAndCallsTheCloseHandler) {
  ASSERT_FALSE(connect(options()));
  int closed = 0;
  boost::system::error_code close_reason;
  conn_->set_close_handler([&](boost::system::error_code ec) {
    ++closed;
    close_reason = ec;
  });
  std::optional<result<Reply>> outcome;
  boost::asio::co_spawn(
      ctx_,
      [&]() -> boost::asio::awaitable<void> {
        const std::array<std::string_view, 3> blpop{"BLPOP", "cc-conn:empty", "0"};
        outcome = co_await conn_->execute(blpop, std::chrono::minutes(1));
      },
      boost::asio::detached);
  ctx_.poll();
  server_->kill();
  ASSERT_TRUE(wait_until(
      [&] {
        ctx_.run_one_for(10ms);
        return outcome.has_value();
      },
      10s, 0ms));
  ASSERT_FALSE(outcome->has_value());
  EXPECT_EQ(outcome->error(), errc::store_unavailable);
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(close_reason, errc::store_unavailable);
  EXPECT_FALSE(conn_->is_open());
  auto after = execute({"PING"}, 1s);
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error(), errc::store_unavailable);
}

TEST_F(RedisConnection, CloseFailsPendingCommandsWithTheReason) {
  ASSERT_FALSE(connect(options()));
  std::optional<result<Reply>> outcome;
  boost::asio::co_spawn(
      ctx_,
      [&]() -> boost::asio::awaitable<void> {
        const std::array<std::string_view, 3> blpop{"BLPOP", "cc-conn:empty", "0"};
        outcome = co_await conn_->execute(blpop, std::chrono::minutes(1));
      },
      boost::asio::detached);
  ctx_.poll();
  conn_->close(errc::shutting_down);
  ctx_.poll();
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(outcome->has_value());
  EXPECT_EQ(outcome->error(), errc::shutting_down);
}

TEST_F(RedisConnection, ConnectToAPausedServerTimesOut) {
  server_->pause();  // TCP connects succeed (kernel backlog), PING is never answered
  const auto ec = connect(options(200ms));
  EXPECT_EQ(ec, errc::timeout);
  EXPECT_FALSE(conn_->is_open());
}

TEST_F(RedisConnection, ConnectRefusedIsUnavailable) {
  server_->kill();
  const auto ec = connect(options());
  EXPECT_EQ(ec, errc::store_unavailable);
}

TEST_F(RedisConnection, RefusedAuthIsAReplyError) {
  auto o = options();
  o.password = "nobody-set-a-password";
  EXPECT_EQ(connect(o), errc::store_reply_error);
}

TEST_F(RedisConnection, CommandsBeforeConnectAreRefused) {
  conn_ = Connection::create(ctx_.get_executor(), options());
  auto r = execute({"PING"}, 1s);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::store_unavailable);
}

}  // namespace
}  // namespace cachecar::store::redis
