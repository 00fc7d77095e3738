// The cache is an accelerator, never a point of failure: Redis killed, paused or restarted
// under a running proxy.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

namespace cachecar::test {
namespace {

const std::string kRules =
    "  - match: \"GET /api/items/{id}\"\n"
    "    ttl: 60s\n"
    "  - match: \"PUT /api/items/{id}\"\n"
    "    invalidate: [\"GET /api/items/{id}\"]\n";

TEST(RedisFailureTest, RedisKilledRequestsStillServedFromUpstream) {
  Harness h{HarnessOptions{.rules = kRules}};
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  h.redis->kill();
  for (int i = 0; i < 5; ++i) {
    auto response = h.get("/api/items/1");  // the client's 10 s timeout bounds the latency
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("X-Cache"), "MISS");
  }
  auto put = h.request("PUT", "/api/items/1", {}, "{}");
  EXPECT_EQ(put.status, 200);
  EXPECT_GE(h.app->metrics().snapshot().store_errors, 1u);
  EXPECT_EQ(h.upstream.requests("/api/items/1"), 7u);
}

TEST(RedisFailureTest, CachingResumesByItselfWhenRedisReturns) {
  Harness h{HarnessOptions{.rules = kRules}};
  h.redis->kill();
  EXPECT_EQ(h.get("/api/items/2").status, 200);
  h.redis->restart();
  EXPECT_TRUE(h.wait_for_hit("/api/items/2"));
}

TEST(RedisFailureTest, PausedRedisCostsATimeoutNotAnError) {
  Harness h{HarnessOptions{.rules = kRules}};
  h.get("/api/items/3");
  h.redis->pause();
  for (int i = 0; i < 4; ++i) {
    auto response = h.get("/api/items/3");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("X-Cache"), "MISS");
  }
  EXPECT_GE(h.app->metrics().snapshot().store_errors, 1u);
  h.redis->resume();
  EXPECT_TRUE(h.wait_for_hit("/api/items/3"));
}

}  // namespace
}  // namespace cachecar::test
