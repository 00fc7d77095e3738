// A write's invalidation that cannot reach Redis is never lost: it is kept, the entries it
// names are not served meanwhile, and it is replayed once Redis takes writes again.
#include "integration/harness.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace cachecar::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kRules =
    "  - match: \"GET /api/items/{id}\"\n"
    "    ttl: 60s\n"
    "  - match: \"PUT /api/items/{id}\"\n"
    "    invalidate: [\"GET /api/items/{id}\"]\n";

json::value health(Harness& h) {
  return json::parse(h.admin("GET", "/health").body);
}

std::uint64_t pending(Harness& h) {
  return health(h).at("pending_invalidations").to_number<std::uint64_t>();
}

// Redis as a replica of a master that does not exist: it keeps its data and answers reads,
// but refuses every write (READONLY), as a full Redis under noeviction refuses them (OOM).
void refuse_writes(Harness& h) {
  h.redis->command({"REPLICAOF", "127.0.0.1", std::to_string(free_port())});
}
void accept_writes(Harness& h) {
  h.redis->command({"REPLICAOF", "NO", "ONE"});
}

TEST(PendingInvalidationTest, RefusedInvalidationIsKeptAndTheOldEntryIsNotServed) {
  Harness h{HarnessOptions{.rules = kRules}};
  ASSERT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  ASSERT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  refuse_writes(h);

  EXPECT_EQ(h.request("PUT", "/api/items/1", {}, "{}").status, 200);
  EXPECT_TRUE(h.redis_has("GET:/api/items/1"));  // Redis still holds the pre-write entry
  auto read = h.get("/api/items/1");
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.header("X-Cache"), "MISS");
  EXPECT_EQ(read.header("Cache-Status"), "cachecar; fwd=miss; detail=pending-invalidation");
  const auto degraded = health(h);
  EXPECT_EQ(degraded.at("status"), "degraded");
  EXPECT_EQ(degraded.at("redis_writes"), "refused");
  EXPECT_EQ(degraded.at("pending_invalidations"), 1);
  const auto metrics = h.admin("GET", "/metrics").body;
  EXPECT_NE(metrics.find("cachecar_invalidations_failed_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("cachecar_pending_invalidations 1"), std::string::npos);

  accept_writes(h);
  ASSERT_TRUE(wait_until([&] { return pending(h) == 0; }, 10s, 10ms));
  EXPECT_FALSE(h.redis_has("GET:/api/items/1"));
  EXPECT_NE(h.admin("GET", "/metrics").body.find("cachecar_invalidations_replayed_total 1"),
            std::string::npos);
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  EXPECT_TRUE(wait_until([&] { return health(h).at("status") == "healthy"; }, 10s, 10ms));
}

// With the circuit breaker open (Redis stalled), the erase is never sent at all.
TEST(PendingInvalidationTest, InvalidationWhileRedisIsStalledIsReplayedWhenItReturns) {
  Harness h{HarnessOptions{.rules = kRules}};
  ASSERT_EQ(h.get("/api/items/2").header("X-Cache"), "MISS");
  const auto before = h.get("/api/items/2");
  ASSERT_EQ(before.header("X-Cache"), "HIT");
  h.redis->pause();
  ASSERT_TRUE(wait_until(
      [&] {
        h.get("/api/items/3");  // timeouts open the breaker
        return health(h).at("circuit_breaker") == "open";
      },
      20s, 10ms));
  EXPECT_EQ(h.request("PUT", "/api/items/2", {}, "{}").status, 200);
  EXPECT_EQ(pending(h), 1u);
  h.redis->resume();
  // From the moment Redis answers again, the pre-write entry is never served.
  ASSERT_TRUE(wait_until(
      [&] {
        EXPECT_NE(h.get("/api/items/2").body, before.body);
        return pending(h) == 0;
      },
      20s, 10ms));
  EXPECT_NE(h.get("/api/items/2").body, before.body);
}

// A Redis at maxmemory under noeviction refuses every write that may grow it, scripts too unless
// they declare allow-oom: invalidations do, so they still complete; fills are refused (misses).
TEST(PendingInvalidationTest, AFullRedisUnderNoevictionStillInvalidates) {
  Harness h{HarnessOptions{.rules = kRules}};
  ASSERT_EQ(h.get("/api/items/4").header("X-Cache"), "MISS");
  ASSERT_EQ(h.get("/api/items/4").header("X-Cache"), "HIT");
  h.redis->command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  h.redis->command({"CONFIG", "SET", "maxmemory", "1"});  // below what it uses: full

  EXPECT_EQ(h.request("PUT", "/api/items/4", {}, "{}").status, 200);
  EXPECT_EQ(pending(h), 0u);  // the erase itself succeeded
  EXPECT_FALSE(h.redis_has("GET:/api/items/4"));
  auto refill = h.get("/api/items/4");
  EXPECT_EQ(refill.header("X-Cache"), "MISS");
  EXPECT_EQ(refill.header("Cache-Status"), "cachecar; fwd=miss; detail=store-error");
  const auto full = health(h);
  EXPECT_EQ(full.at("redis_writes"), "refused");
  EXPECT_EQ(full.at("status"), "degraded");

  h.redis->command({"CONFIG", "SET", "maxmemory", "0"});
  EXPECT_EQ(h.get("/api/items/4").header("Cache-Status"), "cachecar; fwd=miss; stored");
  EXPECT_EQ(health(h).at("redis_writes"), "ok");
}

// A miss whose lookup failed read no fill token; storing its answer unconditionally could keep
// a response that a concurrent write overtook. It is served, not stored.
TEST(PendingInvalidationTest, AMissWhoseLookupFailedIsNotStored) {
  Harness h{HarnessOptions{.rules = kRules}};
  ASSERT_EQ(h.get("/api/items/5").header("X-Cache"), "MISS");  // the connection is up
  h.redis->command({"ACL", "SETUSER", "default", "-mget"});    // lookups fail, puts work
  const auto miss = h.get("/api/items/5?x=1");
  EXPECT_EQ(miss.status, 200);
  EXPECT_EQ(miss.header("Cache-Status"), "cachecar; fwd=miss; detail=store-error");
  EXPECT_FALSE(h.redis_has("GET:/api/items/5?x=1"));
  h.redis->command({"ACL", "SETUSER", "default", "+mget"});
  EXPECT_EQ(h.get("/api/items/5?x=1").header("Cache-Status"), "cachecar; fwd=miss; stored");
}

// The origin may have applied a write whose answer never came back (here: too slow): its
// invalidation runs anyway.
TEST(PendingInvalidationTest, AWriteWithoutAnAnswerStillInvalidates) {
  Harness h{HarnessOptions{.rules = kRules, .upstream_timeout = "300ms"}};
  h.upstream.on("/api/items/6", [](const SeenRequest& request, std::size_t) {
    StubReply reply;
    if (request.method == "PUT") reply.delay = std::chrono::seconds(2);
    return reply;
  });
  ASSERT_EQ(h.get("/api/items/6").header("X-Cache"), "MISS");
  ASSERT_EQ(h.get("/api/items/6").header("X-Cache"), "HIT");
  EXPECT_EQ(h.request("PUT", "/api/items/6", {}, "{}").status, 504);
  EXPECT_EQ(h.get("/api/items/6").header("X-Cache"), "MISS");
}

TEST(PendingInvalidationTest, OverflowMakesEveryLookupMissUntilTheCacheIsCleared) {
  Harness h{HarnessOptions{.rules = kRules, .cache = "  max_pending_invalidations: 1\n"}};
  for (const auto* target : {"/api/items/1", "/api/items/2", "/api/items/3"}) {
    ASSERT_EQ(h.get(target).header("X-Cache"), "MISS");
    ASSERT_EQ(h.get(target).header("X-Cache"), "HIT");
  }
  refuse_writes(h);
  EXPECT_EQ(h.request("PUT", "/api/items/1", {}, "{}").status, 200);
  EXPECT_EQ(h.request("PUT", "/api/items/2", {}, "{}").status, 200);  // overflows
  // Item 3 was never written, but nothing can be trusted once an invalidation was dropped.
  EXPECT_EQ(h.get("/api/items/3").header("Cache-Status"),
            "cachecar; fwd=miss; detail=pending-invalidation");
  EXPECT_NE(h.admin("GET", "/metrics").body.find("cachecar_invalidations_overflowed_total 1"),
            std::string::npos);

  accept_writes(h);
  ASSERT_TRUE(wait_until([&] { return pending(h) == 0; }, 10s, 10ms));
  EXPECT_FALSE(h.redis_has("GET:/api/items/3"));  // the whole cache was cleared
  EXPECT_EQ(h.get("/api/items/3").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/items/3").header("X-Cache"), "HIT");
}

}  // namespace
}  // namespace cachecar::test
