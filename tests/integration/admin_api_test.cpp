// The admin API over real sockets, with a real redis-server and a real upstream: statistics,
// invalidation, clearing, reset, ping, health, routing errors, and shutdown.
#include "integration/harness.hpp"

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
    "    invalidate: [\"GET /api/items/{id}\"]\n"
    "  - match: \"GET /api/users/{id}\"\n"
    "    ttl: 60s\n"
    "    namespace: users\n"
    "  - match: \"GET /api/posts/{id}\"\n"
    "    ttl: 60s\n"
    "    namespace: posts\n";

json::value admin_json(Harness& h, const std::string& method, const std::string& target,
                       int expected_status = 200) {
  auto response = h.admin(method, target);
  EXPECT_EQ(response.status, expected_status) << method << " " << target << ": " << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  return json::parse(response.body);
}

json::value cache_stats(Harness& h) {
  return admin_json(h, "GET", "/metrics/cache");
}

// GET `target`; its cache fill is in Redis by the time the response arrives.
void fill(Harness& h, const std::string& target, const std::string& key) {
  ASSERT_EQ(h.get(target).status, 200);
  ASSERT_TRUE(h.redis_has(key)) << key;
}

TEST(AdminApiTest, CountersAfterAKnownSequenceOfRequests) {
  Harness h{HarnessOptions{.rules = kRules}};
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  ASSERT_TRUE(h.redis_has("GET:/api/items/1"));
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/api/items/1?nocache=true").header("X-Cache"), "BYPASS");  // refreshes it
  ASSERT_EQ(h.app->metrics().snapshot().stores, 2u);  // counted before the response is sent
  EXPECT_EQ(h.request("PUT", "/api/items/1", {}, "{}").status, 200);  // invalidates 1 entry
  EXPECT_EQ(h.get("/unruled").header("X-Cache"), "PASS");

  const auto stats = cache_stats(h);
  EXPECT_EQ(stats.at("hits"), 2);
  EXPECT_EQ(stats.at("misses"), 1);
  EXPECT_EQ(stats.at("bypasses"), 1);
  EXPECT_EQ(stats.at("hit_rate").to_number<double>(), 0.667);
  EXPECT_EQ(stats.at("stores"), 2);
  EXPECT_EQ(stats.at("invalidations"), 1);
  EXPECT_EQ(stats.at("errors"), json::parse(R"({"redis": 0, "upstream": 0})"));
  // Lookups = hits + misses (a bypass does not look up).
  EXPECT_EQ(stats.at("top_keys"), json::parse(R"([["GET:/api/items/1", 3]])"));
  EXPECT_EQ(stats.at("total_cached_keys"), 0);
  EXPECT_TRUE(stats.at("uptime_seconds").is_int64());
  EXPECT_EQ(stats.at("passes"), 2);  // the PUT and /unruled
}

TEST(AdminApiTest, TopKeysAreTheTenMostLookedUpInOrder) {
  Harness h{HarnessOptions{.rules = kRules}};
  HttpClient client(h.port());
  // Key i is looked up i times: 12 distinct keys, the top ten are 12 down to 3.
  for (int i = 1; i <= 12; ++i) {
    for (int n = 0; n < i; ++n) {
      ASSERT_EQ(client.get("/api/items/" + std::to_string(i)).status, 200);
    }
  }
  const auto top = cache_stats(h).at("top_keys").as_array();
  ASSERT_EQ(top.size(), 10u);
  for (std::size_t rank = 0; rank < top.size(); ++rank) {
    const int i = 12 - static_cast<int>(rank);
    EXPECT_EQ(top[rank], (json::array{json::string("GET:/api/items/" + std::to_string(i)), i}))
        << "rank " << rank;
  }
}

TEST(AdminApiTest, TotalCachedKeysCountsOnlyThisInstancesEntries) {
  Harness h{HarnessOptions{.rules = kRules}};
  // Other applications' data in the same database, one of them with a similar prefix.
  h.redis->command({"SET", "session:42", "x"});
  h.redis->command({"SET", "cachecar2:GET:/api/items/1", "x"});
  h.redis->command({"HSET", "other-app:hash", "f", "v"});
  fill(h, "/api/items/1", "GET:/api/items/1");
  fill(h, "/api/items/2", "GET:/api/items/2");
  fill(h, "/api/users/1", "GET:/api/users/1");
  EXPECT_GT(h.redis->command({"DBSIZE"}).integer, 3);  // foreign keys and bookkeeping exist
  EXPECT_EQ(cache_stats(h).at("total_cached_keys"), 3);
}

TEST(AdminApiTest, InvalidateExactKeyPrefixAndNothing) {
  Harness h{HarnessOptions{.rules = kRules}};
  fill(h, "/api/items/1", "GET:/api/items/1");
  fill(h, "/api/items/1?color=red", "GET:/api/items/1?color=red");
  fill(h, "/api/items/2", "GET:/api/items/2");
  fill(h, "/api/users/1", "GET:/api/users/1");

  EXPECT_EQ(admin_json(h, "DELETE", "/invalidate/GET:/api/items/1"),
            json::parse(R"({"deleted": 1})"));
  EXPECT_FALSE(h.redis_has("GET:/api/items/1"));
  EXPECT_TRUE(h.redis_has("GET:/api/items/1?color=red"));  // exact means exact
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  ASSERT_TRUE(h.redis_has("GET:/api/items/1"));

  // The query is part of the key; percent-encoding is decoded once.
  EXPECT_EQ(admin_json(h, "DELETE", "/invalidate/GET%3A%2Fapi%2Fitems%2F1%3Fcolor%3Dred"),
            json::parse(R"({"deleted": 1})"));
  EXPECT_FALSE(h.redis_has("GET:/api/items/1?color=red"));

  EXPECT_EQ(admin_json(h, "DELETE", "/invalidate/GET:/api/items/*"),
            json::parse(R"({"deleted": 2})"));
  EXPECT_FALSE(h.redis_has("GET:/api/items/2"));
  EXPECT_TRUE(h.redis_has("GET:/api/users/1"));

  EXPECT_EQ(admin_json(h, "DELETE", "/invalidate/GET:/api/items/*", 404),
            json::parse(R"({"deleted": 0})"));
  EXPECT_EQ(admin_json(h, "DELETE", "/invalidate/GET:/nothing/here", 404),
            json::parse(R"({"deleted": 0})"));
}

TEST(AdminApiTest, GlobCharactersInKeysAreMatchedLiterally) {
  Harness h{HarnessOptions{.rules = kRules}};
  fill(h, "/api/users/1", "GET:/api/users/1");
  fill(h, "/api/users/2", "GET:/api/users/2");
  h.redis->command({"SET", "session:1", "x"});
  // KEYS-style patterns would match these; here they are literal keys that do not exist.
  for (const char* target :
       {"/invalidate/GET:/api/users/?", "/invalidate/GET:/api/users/[12]",
        "/invalidate/GET:/api/users/%2A", "/invalidate/*:/api/users/1", "/invalidate/session:*x"}) {
    EXPECT_EQ(h.admin("DELETE", target).status, 404) << target;
  }
  EXPECT_TRUE(h.redis_has("GET:/api/users/1"));
  EXPECT_TRUE(h.redis_has("GET:/api/users/2"));
  EXPECT_EQ(h.redis->command({"EXISTS", "session:1"}).integer, 1);
  EXPECT_EQ(h.admin("DELETE", "/invalidate/GET:/api/users/%zz").status, 400);
}

TEST(AdminApiTest, ClearDeletesOnlyThisInstancesEntries) {
  Harness h{HarnessOptions{.rules = kRules}};
  h.redis->command({"SET", "session:42", "x"});
  h.redis->command({"SET", "cachecar2:GET:/api/items/1", "x"});
  h.redis->command({"HSET", "other-app:hash", "f", "v"});
  fill(h, "/api/items/1", "GET:/api/items/1");
  fill(h, "/api/users/1", "GET:/api/users/1");

  EXPECT_EQ(admin_json(h, "DELETE", "/cache/clear"), json::parse(R"({"deleted": 2})"));
  EXPECT_FALSE(h.redis_has("GET:/api/items/1"));
  EXPECT_FALSE(h.redis_has("GET:/api/users/1"));
  EXPECT_EQ(h.redis->command({"EXISTS", "session:42"}).integer, 1);
  EXPECT_EQ(h.redis->command({"EXISTS", "cachecar2:GET:/api/items/1"}).integer, 1);
  EXPECT_EQ(h.redis->command({"HGET", "other-app:hash", "f"}).str, "v");
  EXPECT_EQ(cache_stats(h).at("total_cached_keys"), 0);
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
}

TEST(AdminApiTest, ClearOneNamespace) {
  Harness h{HarnessOptions{.rules = kRules}};
  fill(h, "/api/users/1", "GET:/api/users/1");
  fill(h, "/api/users/2", "GET:/api/users/2");
  fill(h, "/api/posts/1", "GET:/api/posts/1");
  fill(h, "/api/items/1", "GET:/api/items/1");

  EXPECT_EQ(admin_json(h, "POST", "/cache/clear/users"),
            json::parse(R"({"deleted": 2, "namespace": "users"})"));
  EXPECT_FALSE(h.redis_has("GET:/api/users/1"));
  EXPECT_FALSE(h.redis_has("GET:/api/users/2"));
  EXPECT_TRUE(h.redis_has("GET:/api/posts/1"));
  EXPECT_TRUE(h.redis_has("GET:/api/items/1"));
  EXPECT_EQ(admin_json(h, "POST", "/cache/clear/users"),
            json::parse(R"({"deleted": 0, "namespace": "users"})"));
  EXPECT_EQ(admin_json(h, "POST", "/cache/clear/nobody", 404).at("error"), "unknown_namespace");
}

TEST(AdminApiTest, ResetStatsZeroesJsonCountersButNotPrometheus) {
  Harness h{HarnessOptions{.rules = kRules}};
  fill(h, "/api/items/1", "GET:/api/items/1");
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  EXPECT_EQ(cache_stats(h).at("hits"), 1);

  EXPECT_EQ(admin_json(h, "POST", "/cache/reset-stats"), json::parse(R"({"reset": true})"));
  auto stats = cache_stats(h);
  EXPECT_EQ(stats.at("hits"), 0);
  EXPECT_EQ(stats.at("misses"), 0);
  EXPECT_EQ(stats.at("stores"), 0);
  EXPECT_EQ(stats.at("hit_rate").to_number<double>(), 0.0);
  EXPECT_EQ(stats.at("top_keys"), json::array());
  EXPECT_EQ(stats.at("total_cached_keys"), 1);  // entries are not statistics

  const auto text = h.admin("GET", "/metrics").body;
  EXPECT_NE(text.find("cachecar_requests_total{cache=\"hit\",method=\"GET\","
                      "rule=\"GET /api/items/{id}\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  stats = cache_stats(h);
  EXPECT_EQ(stats.at("hits"), 1);
  EXPECT_EQ(stats.at("top_keys"), json::parse(R"([["GET:/api/items/1", 1]])"));
}

TEST(AdminApiTest, PingReportsRoundTripAndFailure) {
  Harness h{HarnessOptions{.rules = kRules}};
  auto ok = admin_json(h, "GET", "/cache/ping");
  EXPECT_EQ(ok.at("status"), "ok");
  EXPECT_EQ(ok.at("store"), "redis");
  EXPECT_GE(ok.at("round_trip_ms").to_number<double>(), 0.0);
  h.redis->kill();
  auto down = admin_json(h, "GET", "/cache/ping", 503);
  EXPECT_EQ(down.at("status"), "down");
}

// The "status" of GET /health once it equals `status` (polling), or the last one seen.
std::string wait_for_health(Harness& h, const std::string& status, int http_status) {
  std::string last;
  wait_until(
      [&] {
        auto r = h.admin("GET", "/health");
        last = std::string(json::parse(r.body).at("status").as_string());
        return r.status == http_status && last == status;
      },
      15s, 20ms);
  return last;
}

TEST(AdminApiTest, HealthDegradesWhileRedisIsDownAndRecovers) {
  // Two workers, two Redis clients: health combines them.
  Harness h{HarnessOptions{.rules = kRules, .threads = 2}};
  // Redis connects in the background after start-up.
  ASSERT_EQ(wait_for_health(h, "healthy", 200), "healthy");
  EXPECT_EQ(admin_json(h, "GET", "/health"), json::parse(R"({"status": "healthy",
      "redis": "connected", "upstream": "reachable", "cache_fallback": "enabled",
      "store": "redis", "circuit_breaker": "closed", "redis_writes": "ok",
      "pending_invalidations": 0})"));

  h.redis->kill();
  ASSERT_EQ(wait_for_health(h, "degraded", 200), "degraded");  // still 200: it can serve
  const auto degraded = admin_json(h, "GET", "/health");
  EXPECT_EQ(degraded.at("redis"), "down");
  EXPECT_EQ(degraded.at("upstream"), "reachable");
  EXPECT_EQ(degraded.at("cache_fallback"), "enabled");
  EXPECT_EQ(h.get("/api/items/1").status, 200);  // and the proxy does serve

  h.redis->restart();
  EXPECT_EQ(wait_for_health(h, "healthy", 200), "healthy");
  EXPECT_EQ(admin_json(h, "GET", "/health").at("redis"), "connected");
}

TEST(AdminApiTest, HealthIs503WhenTheUpstreamIsUnreachable) {
  Harness h{HarnessOptions{.rules = kRules}};
  ASSERT_EQ(wait_for_health(h, "healthy", 200), "healthy");
  h.upstream.stop();
  const auto body = admin_json(h, "GET", "/health", 503);
  EXPECT_EQ(body.at("status"), "unhealthy");
  EXPECT_EQ(body.at("upstream"), "unreachable");
  EXPECT_EQ(body.at("redis"), "connected");
}

TEST(AdminApiTest, UnknownRouteAndWrongMethod) {
  Harness h{HarnessOptions{.rules = kRules}};
  EXPECT_EQ(admin_json(h, "GET", "/api/items/1", 404).at("error"), "not_found");
  auto wrong = h.admin("POST", "/health");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("Allow"), "GET, HEAD");
  EXPECT_EQ(json::parse(wrong.body).at("error"), "method_not_allowed");
  wrong = h.admin("GET", "/invalidate/GET:/x");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("Allow"), "DELETE");
  wrong = h.admin("DELETE", "/cache/reset-stats");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("Allow"), "POST");
}

TEST(AdminApiTest, AdminRoutesNeverShadowProxiedOnes) {
  Harness h{HarnessOptions{.rules = kRules}};
  EXPECT_EQ(h.get("/metrics").status, 200);
  EXPECT_EQ(h.get("/health").status, 200);
  EXPECT_EQ(h.upstream.requests("/metrics"), 1u);
  EXPECT_EQ(h.upstream.requests("/health"), 1u);
}

TEST(AdminApiTest, WorksWithTheMemoryStore) {
  Harness h{HarnessOptions{.rules = kRules, .memory_store = true}};
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  auto stats = cache_stats(h);
  EXPECT_EQ(stats.at("store"), "memory");
  EXPECT_EQ(stats.at("total_cached_keys"), 1);
  EXPECT_EQ(admin_json(h, "DELETE", "/cache/clear"), json::parse(R"({"deleted": 1})"));
  EXPECT_EQ(admin_json(h, "GET", "/health").at("status"), "healthy");
}

TEST(AdminApiTest, StopClosesIdleAdminConnectionsAtOnce) {
  Harness h{HarnessOptions{.rules = kRules}};
  HttpClient client(h.admin_port());
  EXPECT_EQ(client.get("/health").status, 200);  // keep-alive: the connection stays open
  const auto start = std::chrono::steady_clock::now();
  h.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(client.closed_by_server());
}

}  // namespace
}  // namespace cachecar::test
