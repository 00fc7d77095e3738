// The Redis client's handshake and connection handling against a real server: AUTH, SELECT,
// name resolution, several pipelined connections.
#include "conformance/redis_fixture.hpp"
#include "store/redis/client.hpp"
#include "store/redis/redis_store.hpp"
#include "support/redis_server.hpp"
#include "support/run_awaitable.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace cachecar::store::redis {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;
using test::run_awaitable;
using test::wait_until;

class RedisClient : public test::RedisServerTest {
 protected:
  void TearDown() override {
    clients_.clear();
    drain_context();
  }

  Client::Options options() const {
    Client::Options o;
    o.host = server_->host();
    o.port = server_->port();
    o.command_timeout = 2s;
    o.connect_timeout = 2s;
    return o;
  }

  Client& make_client(Client::Options o) {
    clients_.push_back(std::make_unique<Client>(ctx_.get_executor(), std::move(o)));
    return *clients_.back();
  }

  result<Reply> execute(Client& client, std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    return run_awaitable(ctx_, client.execute(views));
  }

  std::vector<std::unique_ptr<Client>> clients_;
};

TEST_F(RedisClient, SelectsTheConfiguredDatabase) {
  auto o = options();
  o.db = 3;
  auto& client = make_client(o);
  auto set = execute(client, {"SET", "in-db-3", "yes"});
  ASSERT_TRUE(set.has_value()) << set.error().message();
  EXPECT_EQ(set->str, "OK");
  // The fixture's helper connection uses db 0: look into db 3 from a script.
  const auto seen = server_->command(
      {"EVAL", "redis.call('SELECT', 3) return redis.call('GET', KEYS[1])", "1", "in-db-3"});
  EXPECT_EQ(seen.str, "yes");
  EXPECT_EQ(server_->command({"EXISTS", "in-db-3"}).integer, 0);
}

TEST_F(RedisClient, AuthenticatesWithThePassword) {
  server_->command({"CONFIG", "SET", "requirepass", "s3cret"});
  auto o = options();
  o.password = "s3cret";
  auto& good = make_client(o);
  auto pong = execute(good, {"PING"});
  ASSERT_TRUE(pong.has_value()) << pong.error().message();
  EXPECT_EQ(pong->str, "PONG");

  o.password = "wrong";
  auto& bad = make_client(o);
  auto refused = execute(bad, {"PING"});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), errc::store_unavailable);
  EXPECT_FALSE(bad.health().connected);
  EXPECT_NE(bad.health().state, BreakerState::Closed);
}

TEST_F(RedisClient, ResolvesHostNames) {
  auto o = options();
  o.host = "localhost";
  auto& client = make_client(o);
  auto pong = execute(client, {"PING"});
  ASSERT_TRUE(pong.has_value()) << pong.error().message();
  EXPECT_EQ(pong->str, "PONG");
}

TEST_F(RedisClient, SeveralConnectionsShareTheCommands) {
  auto o = options();
  o.connections = 3;
  auto& client = make_client(o);
  constexpr int kCommands = 150;
  std::vector<std::string> ids(kCommands);
  int done = 0;
  for (int i = 0; i < kCommands; ++i) {
    boost::asio::co_spawn(
        ctx_,
        [&, i]() -> boost::asio::awaitable<void> {
          const std::array<std::string_view, 2> id{"CLIENT", "ID"};
          auto r = co_await client.execute(id);
          if (r && r->type == Reply::Type::Integer) ids[i] = std::to_string(r->integer);
          ++done;
        },
        boost::asio::detached);
  }
  ASSERT_TRUE(wait_until(
      [&] {
        ctx_.run_one_for(10ms);
        return done == kCommands;
      },
      30s, 0ms));
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.count(""), 0u);
  EXPECT_EQ(distinct.size(), 3u);  // round-robin over three connections
}

TEST_F(RedisClient, ErrorRepliesAreValuesNotFailures) {
  auto& client = make_client(options());
  for (int i = 0; i < 5; ++i) {
    auto r = execute(client, {"INCR", "not-a-number-" + std::to_string(i), "extra"});
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->is_error()) << *r;
  }
  EXPECT_EQ(client.health().state, BreakerState::Closed);
  EXPECT_TRUE(client.health().connected);
}

TEST_F(RedisClient, RedisStoreReportsReplyErrors) {
  RedisStore store(ctx_.get_executor(), options(), "cc-client:");
  ASSERT_TRUE(run_awaitable(ctx_, store.count()).has_value());  // the bookkeeping exists
  server_->command({"DEL", "cc-client:__expiry"});
  server_->command({"HSET", "cc-client:__expiry", "f", "v"});
  auto r = run_awaitable(ctx_, store.count());  // ZRANGEBYSCORE on a hash: WRONGTYPE
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::store_reply_error);
  // Something else at an entry's key is not an entry: the lookup (MGET) reads it as a miss.
  server_->command({"HSET", "cc-client:GET:/h", "f", "v"});
  auto h = run_awaitable(ctx_, store.get("GET:/h"));
  ASSERT_TRUE(h.has_value()) << h.error().message();
  EXPECT_FALSE(*h);
  store.stop();
}

}  // namespace
}  // namespace cachecar::store::redis
