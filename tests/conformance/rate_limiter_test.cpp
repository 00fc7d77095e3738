// One suite, both rate limiters: MemoryRateLimiter and redis::RedisRateLimiter (a private
// redis-server), then what only Redis has: key names and expiry, budgets shared by several
// clients (cachecar instances), the script cache, a server that is gone.
#include "store/rate_limiter.hpp"
#include "store/memory_rate_limiter.hpp"
#include "store/redis/client.hpp"
#include "store/redis/key_names.hpp"
#include "store/redis/rate_limiter.hpp"
#include "support/redis_server.hpp"
#include "support/run_awaitable.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <vector>

namespace cachecar::store {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;
using test::run_awaitable;
using test::wait_until;
using redis::KeyHash;

redis::Client::Options client_options(const RedisServer& server) {
  redis::Client::Options o;
  o.host = server.host();
  o.port = server.port();
  o.command_timeout = 2s;  // generous: shared CI machines; no test measures time
  o.connect_timeout = 2s;
  o.scripts.push_back(redis::RedisRateLimiter::script().body);
  return o;
}

class Limiters {
 public:
  virtual ~Limiters() = default;
  virtual RateLimiter& limiter() = 0;
  virtual RedisServer* redis() { return nullptr; }
};

class MemoryLimiters final : public Limiters {
 public:
  RateLimiter& limiter() override { return limiter_; }

 private:
  MemoryRateLimiter limiter_;
};

class RedisLimiters final : public Limiters {
 public:
  explicit RedisLimiters(boost::asio::io_context& ctx)
      : ctx_(ctx),
        client_(ctx.get_executor(), client_options(server_)),
        limiter_(client_, redis::KeyNames("rl-test:", redis::KeyHash::None)) {}
  ~RedisLimiters() override {
    client_.stop();
    ctx_.restart();
    ctx_.run_for(5s);  // let the cancelled operations finish
  }
  RateLimiter& limiter() override { return limiter_; }
  RedisServer* redis() override { return &server_; }

 private:
  boost::asio::io_context& ctx_;
  RedisServer server_;
  redis::Client client_;
  redis::RedisRateLimiter limiter_;
};

enum class Kind { Memory, Redis };

class RateLimiterConformance : public testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::Redis) {
      if (!RedisServer::binary()) GTEST_SKIP() << "redis-server is not installed";
      harness_ = std::make_unique<RedisLimiters>(ctx_);
    } else {
      harness_ = std::make_unique<MemoryLimiters>();
    }
  }

  result<RateDecision> acquire(std::string_view name, std::uint64_t limit,
                               std::chrono::milliseconds window) {
    return run_awaitable(ctx_, harness_->limiter().acquire(name, limit, window));
  }
  bool allowed(std::string_view name, std::uint64_t limit, std::chrono::milliseconds window) {
    auto decision = acquire(name, limit, window);
    EXPECT_TRUE(decision) << decision.error().message();
    return decision && decision->allowed;
  }

  boost::asio::io_context ctx_;  // before harness_: destroyed after it
  std::unique_ptr<Limiters> harness_;
};

TEST_P(RateLimiterConformance, ExactlyTheLimitThenRefused) {
  for (std::uint64_t n = 1; n <= 5; ++n) {
    const auto decision = acquire("__rl:GET /a:ip:192.0.2.7", 5, 60s);
    ASSERT_TRUE(decision) << decision.error().message();
    EXPECT_TRUE(decision->allowed) << n;
    EXPECT_EQ(decision->remaining, 5 - n);
    // n requests drain in n * 12 s, less the little time that passed since the first.
    EXPECT_LE(decision->reset, std::chrono::milliseconds(n * 12'000));
    EXPECT_GT(decision->reset, std::chrono::milliseconds(n * 12'000 - 2'000));
  }
  const auto refused = acquire("__rl:GET /a:ip:192.0.2.7", 5, 60s);
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->allowed);
  EXPECT_EQ(refused->remaining, 0u);
  // One request drains every 12 s; the bucket's clock ran a little since it filled.
  EXPECT_GT(refused->retry_after, 11s);
  EXPECT_LE(refused->retry_after, 12s);
  EXPECT_LE(refused->reset, 60s);
}

TEST_P(RateLimiterConformance, IdentitiesAndRulesHaveTheirOwnBudgets) {
  ASSERT_TRUE(allowed("__rl:GET /a:ip:192.0.2.7", 1, 60s));
  EXPECT_FALSE(allowed("__rl:GET /a:ip:192.0.2.7", 1, 60s));
  EXPECT_TRUE(allowed("__rl:GET /a:ip:192.0.2.8", 1, 60s));
  EXPECT_TRUE(allowed("__rl:GET /b:ip:192.0.2.7", 1, 60s));
}

TEST_P(RateLimiterConformance, BudgetComesBackAfterTheWindow) {
  ASSERT_TRUE(allowed("__rl:r:ip:a", 2, 1s));
  ASSERT_TRUE(allowed("__rl:r:ip:a", 2, 1s));
  ASSERT_FALSE(allowed("__rl:r:ip:a", 2, 1s));
  const auto filled = std::chrono::steady_clock::now();
  // Real time: Redis's clock is the one that counts. Refused requests cost nothing, so
  // polling does not delay the moment.
  ASSERT_TRUE(wait_until([&] { return allowed("__rl:r:ip:a", 2, 1s); }, 10s));
  EXPECT_GE(std::chrono::steady_clock::now() - filled, 400ms)
      << "one request drains after window / limit = 500 ms";
}

INSTANTIATE_TEST_SUITE_P(Stores, RateLimiterConformance, testing::Values(Kind::Memory, Kind::Redis),
                         [](const auto& param_info) {
                           return std::string(param_info.param == Kind::Memory ? "Memory"
                                                                               : "Redis");
                         });

// --- Redis only ---

class RedisRateLimiterTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::binary()) GTEST_SKIP() << "redis-server is not installed";
    server_ = std::make_unique<RedisServer>();
  }
  void TearDown() override {
    limiters_.clear();
    for (auto& client : clients_) client->stop();
    ctx_.restart();
    ctx_.run_for(5s);
    clients_.clear();
  }

  redis::RedisRateLimiter& make_limiter(KeyHash hash = KeyHash::None,
                                        std::vector<std::string> scripts = {
                                            redis::RedisRateLimiter::script().body}) {
    auto options = client_options(*server_);
    options.scripts = std::move(scripts);
    clients_.push_back(std::make_unique<redis::Client>(ctx_.get_executor(), options));
    limiters_.push_back(std::make_unique<redis::RedisRateLimiter>(
        *clients_.back(), redis::KeyNames("rl-test:", hash)));
    return *limiters_.back();
  }
  result<RateDecision> acquire(RateLimiter& limiter, std::string_view name, std::uint64_t limit,
                               std::chrono::milliseconds window) {
    return run_awaitable(ctx_, limiter.acquire(name, limit, window));
  }

  boost::asio::io_context ctx_;
  std::unique_ptr<RedisServer> server_;
  std::vector<std::unique_ptr<redis::Client>> clients_;
  std::vector<std::unique_ptr<redis::RedisRateLimiter>> limiters_;
};

TEST_F(RedisRateLimiterTest, KeyIsNamedThroughKeyNamesAndExpiresWithTheBudget) {
  auto& limiter = make_limiter();
  ASSERT_TRUE(acquire(limiter, "__rl:GET /a:ip:192.0.2.7", 3, 60s));
  const std::string key = "rl-test:__rl:GET /a:ip:192.0.2.7";
  ASSERT_EQ(server_->command({"EXISTS", key}).integer, 1);
  // One request of three per minute drains in 20 s: the key goes then, not later.
  const auto ttl = server_->command({"PTTL", key}).integer;
  EXPECT_GT(ttl, 15'000);
  EXPECT_LE(ttl, 20'000);
  ASSERT_TRUE(acquire(limiter, "__rl:GET /a:ip:192.0.2.7", 3, 60s));
  ASSERT_TRUE(acquire(limiter, "__rl:GET /a:ip:192.0.2.7", 3, 60s));
  const auto full = server_->command({"PTTL", key}).integer;
  EXPECT_GT(full, 55'000);
  EXPECT_LE(full, 60'000) << "never longer than the window";
}

TEST_F(RedisRateLimiterTest, HashedKeyNamesCarryNoIdentity) {
  auto& limiter = make_limiter(KeyHash::Sha256);
  ASSERT_TRUE(acquire(limiter, "__rl:GET /a:ip:192.0.2.7", 3, 60s));
  const auto key = redis::KeyNames("rl-test:", KeyHash::Sha256).of("__rl:GET /a:ip:192.0.2.7");
  EXPECT_EQ(key.find("192.0.2.7"), std::string::npos);
  EXPECT_EQ(server_->command({"EXISTS", key}).integer, 1);
  EXPECT_EQ(server_->command({"EXISTS", "rl-test:__rl:GET /a:ip:192.0.2.7"}).integer, 0);
}

TEST_F(RedisRateLimiterTest, InstancesShareOneBudget) {
  auto& first = make_limiter();
  auto& second = make_limiter();
  int allowed = 0;
  for (int i = 0; i < 10; ++i) {
    auto& limiter = i % 2 == 0 ? first : second;
    const auto decision = acquire(limiter, "__rl:r:key:shared", 6, 60s);
    ASSERT_TRUE(decision) << decision.error().message();
    if (decision->allowed) ++allowed;
  }
  EXPECT_EQ(allowed, 6);
}

TEST_F(RedisRateLimiterTest, RunsWithEvalWhenTheServerForgotTheScript) {
  // Not loaded on connect, and flushed: EVALSHA meets NOSCRIPT, EVAL runs (and caches) it.
  auto& limiter = make_limiter(KeyHash::None, {});
  server_->command({"SCRIPT", "FLUSH"});
  const auto decision = acquire(limiter, "__rl:r:ip:a", 2, 60s);
  ASSERT_TRUE(decision) << decision.error().message();
  EXPECT_TRUE(decision->allowed);
  EXPECT_EQ(decision->remaining, 1u);
  EXPECT_EQ(server_->command({"SCRIPT", "EXISTS", redis::RedisRateLimiter::script().sha1})
                .elements.at(0)
                .integer,
            1);
}

TEST_F(RedisRateLimiterTest, AValueThatIsNotABudgetStartsAFreshOne) {
  auto& limiter = make_limiter();
  server_->command({"SET", "rl-test:__rl:r:ip:a", "garbage"});
  const auto decision = acquire(limiter, "__rl:r:ip:a", 2, 60s);
  ASSERT_TRUE(decision) << decision.error().message();
  EXPECT_TRUE(decision->allowed);
  EXPECT_EQ(decision->remaining, 1u);
}

TEST_F(RedisRateLimiterTest, ServerGoneIsAnErrorNotADecision) {
  auto& limiter = make_limiter();
  ASSERT_TRUE(acquire(limiter, "__rl:r:ip:a", 2, 60s));
  server_->kill();
  const auto decision = acquire(limiter, "__rl:r:ip:a", 2, 60s);
  EXPECT_FALSE(decision);
}

TEST_F(RedisRateLimiterTest, BadArgumentsAreRefusedBeforeRedis) {
  auto& limiter = make_limiter();
  EXPECT_FALSE(acquire(limiter, "__rl:r:ip:a", 0, 60s));
  EXPECT_FALSE(acquire(limiter, "__rl:r:ip:a", 1, 0s));
}

}  // namespace
}  // namespace cachecar::store
