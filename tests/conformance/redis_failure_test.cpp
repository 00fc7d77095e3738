// Redis going away, stalling and coming back: commands must fail fast or time out (never
// hang), the breaker must open, and caching must resume by itself.
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

#include <algorithm>
#include <array>
#include <atomic>
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

constexpr auto kAnswered = 2s;

class RedisFailure : public test::RedisServerTest {
 protected:
  void TearDown() override {
    if (server_) server_->resume();  // never leave a stopped process behind
    store_.reset();
    client_.reset();
    drain_context();
  }

  Client::Options options(std::chrono::milliseconds command_timeout = 300ms) const {
    Client::Options o;
    o.host = server_->host();
    o.port = server_->port();
    o.command_timeout = command_timeout;
    o.connect_timeout = 500ms;
    return o;
  }

  RedisStore& make_store(std::chrono::milliseconds command_timeout = 300ms) {
    store_ =
        std::make_unique<RedisStore>(ctx_.get_executor(), options(command_timeout), "cc-fail:");
    return *store_;
  }

  // Every command completes within kAnswered, whatever state the server is in: a liveness
  // bound several times the command and connect timeouts below, not a speed assertion. A
  // command that hangs fails the test here (run_awaitable throws) instead of after 30 s.
  template <class T>
  T run(boost::asio::awaitable<T> coroutine) {
    return run_awaitable(ctx_, std::move(coroutine), kAnswered);
  }

  bool put_and_get_work() {
    if (run(store_->put("GET:/k", "v", 60s, "", {}))) return false;
    auto value = run(store_->get("GET:/k"));
    return value && *value && **value == "v";
  }

  std::unique_ptr<RedisStore> store_;
  std::unique_ptr<Client> client_;
};

TEST_F(RedisFailure, KilledServerFailsFastAndOpensTheBreaker) {
  auto& store = make_store();
  ASSERT_TRUE(put_and_get_work());
  server_->kill();

  // The first command may be in flight when the connection drops; either way it fails.
  auto first = run(store.get("GET:/k"));
  ASSERT_FALSE(first.has_value());
  EXPECT_TRUE(first.error() == errc::store_unavailable || first.error() == errc::timeout)
      << first.error().message();

  EXPECT_TRUE(wait_until(
      [&] {
        (void)run(store.get("GET:/k"));
        return store.health().state != BreakerState::Closed;
      },
      10s));
  EXPECT_FALSE(store.health().connected);
  // While down, commands are refused without waiting for anything.
  for (int i = 0; i < 5; ++i) {
    auto r = run(store.get("GET:/k"));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::store_unavailable);
    auto erased = run(store.erase({{EraseTarget::Kind::Prefix, "GET:/"}}));
    EXPECT_FALSE(erased.has_value());
  }
}

TEST_F(RedisFailure, PausedServerTimesOutThenRecoversAfterResume) {
  auto& store = make_store(200ms);
  ASSERT_TRUE(put_and_get_work());
  server_->pause();

  auto stalled = run(store.get("GET:/k"));
  ASSERT_FALSE(stalled.has_value());
  EXPECT_EQ(stalled.error(), errc::timeout);

  // Consecutive timeouts open the breaker; after that commands fail fast.
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = run(store.get("GET:/k"));
        return !r && r.error() == errc::store_unavailable &&
               store.health().state != BreakerState::Closed;
      },
      10s));
  // Reconnection probes keep failing while the server accepts connections but is silent.
  EXPECT_NE(store.health().state, BreakerState::Closed);

  server_->resume();
  EXPECT_TRUE(wait_until([&] { return put_and_get_work(); }, 20s, 20ms));
  EXPECT_EQ(store.health().state, BreakerState::Closed);
  EXPECT_TRUE(store.health().connected);
}

TEST_F(RedisFailure, RestartedServerIsReconnectedAutomatically) {
  auto& store = make_store();
  ASSERT_TRUE(put_and_get_work());
  server_->restart();  // same port, empty data
  EXPECT_TRUE(wait_until([&] { return put_and_get_work(); }, 20s, 20ms));
  EXPECT_TRUE(store.health().connected);
  auto count = run(store.count());  // scripts are re-sent after the restart flushed them
  ASSERT_TRUE(count.has_value()) << count.error().message();
  EXPECT_EQ(*count, 1u);
}

TEST_F(RedisFailure, ServerDownAtStartupIsRetriedInTheBackground) {
  server_->kill();
  auto& store = make_store();
  auto r = run(store.get("GET:/k"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::store_unavailable);
  server_->restart();
  EXPECT_TRUE(wait_until([&] { return put_and_get_work(); }, 20s, 20ms));
}

TEST_F(RedisFailure, PipelinedConcurrentCommandsAllGetTheirOwnReplies) {
  std::atomic<int> observed{0};
  client_ = std::make_unique<Client>(
      ctx_.get_executor(), options(2s),
      [&](std::string_view, std::chrono::nanoseconds, boost::system::error_code) { ++observed; });
  constexpr int kCommands = 200;
  std::vector<std::optional<result<Reply>>> replies(kCommands);
  int done = 0;
  for (int i = 0; i < kCommands; ++i) {
    boost::asio::co_spawn(
        ctx_,
        [&, i]() -> boost::asio::awaitable<void> {
          const std::string payload = "payload-" + std::to_string(i) + std::string(i, 'x');
          const std::array<std::string_view, 2> echo{"ECHO", payload};
          replies[i] = co_await client_->execute(echo);
          const std::array<std::string_view, 2> incr{"INCR", "cc-fail:counter"};
          (void)co_await client_->execute(incr);
          ++done;
        },
        boost::asio::detached);
  }
  ASSERT_TRUE(wait_until(
      [&] {
        ctx_.poll();
        ctx_.run_one_for(10ms);
        return done == kCommands;
      },
      30s, 0ms));
  for (int i = 0; i < kCommands; ++i) {
    ASSERT_TRUE(replies[i].has_value());
    ASSERT_TRUE(replies[i]->has_value()) << i << ": " << replies[i]->error().message();
    EXPECT_EQ((*replies[i])->str, "payload-" + std::to_string(i) + std::string(i, 'x'));
  }
  EXPECT_EQ(server_->command({"GET", "cc-fail:counter"}).str, std::to_string(kCommands));
  EXPECT_EQ(observed.load(), 2 * kCommands);
}

TEST_F(RedisFailure, PendingCommandsAreBounded) {
  Client::Options o = options(300ms);
  o.max_pending = 8;
  o.breaker.failure_threshold = 1000;  // keep the connection while the server is stopped
  client_ = std::make_unique<Client>(ctx_.get_executor(), o);
  const std::array<std::string_view, 1> ping{"PING"};
  ASSERT_TRUE(run(client_->execute(ping)).has_value());

  server_->pause();
  constexpr int kCommands = 20;
  std::vector<boost::system::error_code> errors;
  for (int i = 0; i < kCommands; ++i) {
    boost::asio::co_spawn(
        ctx_,
        [&]() -> boost::asio::awaitable<void> {
          auto r = co_await client_->execute(ping);
          errors.push_back(r ? boost::system::error_code{} : r.error());
        },
        boost::asio::detached);
  }
  // Each is answered (timed out or refused) within the liveness bound.
  ASSERT_TRUE(wait_until(
      [&] {
        ctx_.run_one_for(10ms);
        return errors.size() == kCommands;
      },
      kAnswered, 0ms));
  const auto timeouts = std::count(errors.begin(), errors.end(), errc::timeout);
  const auto refused = std::count(errors.begin(), errors.end(), errc::store_unavailable);
  EXPECT_EQ(timeouts, 8);
  EXPECT_EQ(refused, kCommands - 8);
}

TEST_F(RedisFailure, ObserverSeesEveryCommandWithItsOutcome) {
  std::vector<std::pair<std::string, boost::system::error_code>> seen;
  client_ = std::make_unique<Client>(ctx_.get_executor(), options(),
                                     [&](std::string_view command, std::chrono::nanoseconds latency,
                                         boost::system::error_code ec) {
                                       EXPECT_GE(latency.count(), 0);
                                       seen.emplace_back(std::string(command), ec);
                                     });
  const std::array<std::string_view, 2> get{"GET", "x"};
  const std::array<std::string_view, 1> bogus{"NOSUCHCOMMAND"};
  ASSERT_TRUE(run(client_->execute(get)).has_value());
  auto err = run(client_->execute(bogus));
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(err->is_error());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, "GET");
  EXPECT_FALSE(seen[0].second);
  EXPECT_EQ(seen[1].first, "NOSUCHCOMMAND");
  EXPECT_EQ(seen[1].second, errc::store_reply_error);
  EXPECT_EQ(client_->health().state, BreakerState::Closed);  // error replies are not failures
}

TEST_F(RedisFailure, StopLetsTheIoContextRunOut) {
  auto& store = make_store();
  ASSERT_TRUE(put_and_get_work());
  store.stop();
  auto r = run(store.get("GET:/k"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), errc::shutting_down);
  ctx_.restart();
  ctx_.run_for(10s);
  EXPECT_TRUE(ctx_.stopped());  // out of work: nothing left running in the background
}

TEST_F(RedisFailure, StopWhileTheServerIsPausedCancelsPendingCommands) {
  auto& store = make_store(30s);  // pending commands would wait a long time
  ASSERT_TRUE(put_and_get_work());
  server_->pause();
  std::optional<result<Value>> outcome;
  boost::asio::co_spawn(
      ctx_, [&]() -> boost::asio::awaitable<void> { outcome = co_await store.get("GET:/k"); },
      boost::asio::detached);
  ctx_.poll();  // the command is written and waiting
  store.stop();
  ASSERT_TRUE(wait_until(
      [&] {
        ctx_.poll();
        return outcome.has_value();
      },
      10s));
  ASSERT_FALSE(outcome->has_value());
  EXPECT_EQ(outcome->error(), errc::shutting_down);
}

}  // namespace
}  // namespace cachecar::store::redis
