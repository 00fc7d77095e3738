// The cache is an accelerator, never a point of failure: Redis killed, paused or restarted
// under a running proxy.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;

const std::string kRules =
    "  - match: \"GET /api/items/{id}\"\n"
    "    ttl: 60s\n"
    "  - match: \"PUT /api/items/{id}\"\n"
    "    invalidate: [\"GET /api/items/{id}\"]\n";

// Every request is answered within kAnswered while Redis is down or stalled: a liveness bound
// twenty times the Redis timeout (a lookup and a put may each wait for one), not a speed test.
constexpr auto kRedisTimeout = "100ms";
constexpr auto kAnswered = 2s;

HarnessOptions options() {
  return HarnessOptions{.rules = kRules, .redis_timeout = kRedisTimeout};
}

// Redis comes back in the background (reconnect backoff, then PING): poll until a GET is
// `status`, on fresh connections.
bool eventually(Harness& h, const std::string& target, const std::string& status) {
  return wait_until([&] { return h.get(target).header("Cache-Status") == status; }, 15s, 10ms);
}

TEST(RedisFailureTest, RedisKilledRequestsStillServedFromUpstream) {
  Harness h{options()};
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  h.redis->kill();
  for (int i = 0; i < 5; ++i) {
    auto response = h.request_within(kAnswered, "GET", "/api/items/1");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("X-Cache"), "MISS");
  }
  auto put = h.request_within(kAnswered, "PUT", "/api/items/1", "{}");
  EXPECT_EQ(put.status, 200);
  EXPECT_GE(h.app->metrics().snapshot().store_errors, 1u);
  EXPECT_EQ(h.upstream.requests("/api/items/1"), 7u);
}

TEST(RedisFailureTest, CachingResumesByItselfWhenRedisReturns) {
  Harness h{options()};
  h.redis->kill();
  EXPECT_EQ(h.request_within(kAnswered, "GET", "/api/items/2").status, 200);
  h.redis->restart();  // empty
  ASSERT_TRUE(eventually(h, "/api/items/2", "cachecar; fwd=miss; stored"));
  // Once a fill is stored again, the next request is a hit at once.
  EXPECT_EQ(h.get("/api/items/2").header("X-Cache"), "HIT");
}

TEST(RedisFailureTest, PausedRedisCostsATimeoutNotAnError) {
  Harness h{options()};
  h.get("/api/items/3");
  ASSERT_TRUE(h.redis_has("GET:/api/items/3"));
  h.redis->pause();
  for (int i = 0; i < 4; ++i) {
    auto response = h.request_within(kAnswered, "GET", "/api/items/3");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("X-Cache"), "MISS");
  }
  EXPECT_GE(h.app->metrics().snapshot().store_errors, 1u);
  h.redis->resume();
  // The entry stored before the pause is served again once the client has reconnected.
  EXPECT_TRUE(eventually(h, "/api/items/3", "cachecar; hit"));
}

}  // namespace
}  // namespace cachecar::test
