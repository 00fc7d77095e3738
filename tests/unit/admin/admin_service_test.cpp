// The admin routes end to end on whole messages, over a MemoryStore: no sockets.
#include "admin/admin.hpp"

#include "store/memory_store.hpp"
#include "support/run_awaitable.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace cachecar::admin {
namespace {

namespace http = net::http;
namespace json = boost::json;
using namespace std::chrono_literals;

// Not a capturing lambda coroutine: GCC 12 destroys such closures twice (docs/architecture.md).
net::asio::awaitable<bool> probe(const bool* up) {
  co_return *up;
}

struct Fixture {
  explicit Fixture(std::string token = {}, bool upstream_up = true) : upstream_up(upstream_up) {
    AdminOptions options;
    options.token = std::move(token);
    options.namespaces = {"users"};
    AdminDependencies deps;
    deps.store = &store;
    deps.metrics = &metrics;
    deps.probe_upstream = [this] { return probe(&this->upstream_up); };
    deps.upstream_connections = [] { return std::int64_t{2}; };
    deps.pending_invalidations = [this] { return pending; };
    deps.store_health = [this] { return health; };
    deps.reload_config = [this] {
      ++reloads;
      return reload_result;
    };
    service = std::make_unique<AdminService>(std::move(options), std::move(deps));
  }

  net::SimpleResponse call(http::verb method, std::string target, std::string authorization = {},
                           std::string origin = {}) {
    net::SimpleRequest request;
    request.message = http::request<http::string_body>(method, target, 11);
    if (!authorization.empty()) request.message.set(http::field::authorization, authorization);
    if (!origin.empty()) request.message.set(http::field::origin, origin);
    request.remote = net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), 40000);
    return test::run_awaitable(context, service->handle(request));
  }

  json::value body(const net::SimpleResponse& response) { return json::parse(response.body()); }

  boost::asio::io_context context;
  store::MemoryStore store{1 << 20};
  metrics::Metrics metrics;
  bool upstream_up;
  std::size_t pending = 0;
  store::StoreHealth health;
  ConfigReloadResult reload_result;
  int reloads = 0;
  std::unique_ptr<AdminService> service;
};

TEST(AdminService, UnknownRouteIs404Json) {
  Fixture f;
  auto r = f.call(http::verb::get, "/nope");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(f.body(r).at("error"), "not_found");
}

TEST(AdminService, WrongMethodIs405WithAllow) {
  Fixture f;
  auto r = f.call(http::verb::post, "/metrics/cache");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(r[http::field::allow], "GET, HEAD");
  r = f.call(http::verb::get, "/cache/clear");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(r[http::field::allow], "DELETE");
}

TEST(AdminService, HeadHasTheHeadOfGetWithoutBody) {
  Fixture f;
  auto get = f.call(http::verb::get, "/health");
  auto head = f.call(http::verb::head, "/health");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length], get[http::field::content_length]);
}

TEST(AdminService, MetricsCacheReportsCountersTopKeysAndEntries) {
  Fixture f;
  f.store.put_sync("GET:/a", "v", 60s, "");
  f.store.put_sync("GET:/b", "v", 60s, "");
  f.metrics.record_request({metrics::CacheOutcome::Hit, "", "GET", 200, 1ms});
  f.metrics.record_request({metrics::CacheOutcome::Miss, "", "GET", 200, 1ms});
  f.metrics.record_lookup("GET:/a", true);
  f.metrics.record_lookup("GET:/a", false);
  f.metrics.record_lookup("GET:/b", false);
  auto r = f.call(http::verb::get, "/metrics/cache");
  ASSERT_EQ(r.result_int(), 200);
  auto v = f.body(r);
  EXPECT_EQ(v.at("hits"), 1);
  EXPECT_EQ(v.at("misses"), 1);
  EXPECT_EQ(v.at("hit_rate").to_number<double>(), 0.5);
  EXPECT_EQ(v.at("total_cached_keys"), 2);
  EXPECT_EQ(v.at("errors").at("redis"), 0);
  EXPECT_EQ(v.at("top_keys"), json::parse(R"([["GET:/a", 2], ["GET:/b", 1]])"));
  EXPECT_TRUE(v.at("uptime_seconds").is_number());
}

TEST(AdminService, PrometheusTextWithGaugesFromDependencies) {
  Fixture f;
  auto r = f.call(http::verb::get, "/metrics");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body().find("\ncachecar_upstream_connections 2\n"), std::string::npos);
  EXPECT_NE(r.body().find("cachecar_build_info{"), std::string::npos);
}

TEST(AdminService, HealthFollowsTheUpstreamProbe) {
  Fixture up;
  auto r = up.call(http::verb::get, "/health");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(up.body(r), json::parse(R"({"status": "healthy", "redis": "connected",
      "upstream": "reachable", "cache_fallback": "enabled", "store": "memory",
      "circuit_breaker": "closed", "redis_writes": "ok", "pending_invalidations": 0})"));
  Fixture down({}, false);
  r = down.call(http::verb::get, "/health");
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(down.body(r).at("status"), "unhealthy");
  EXPECT_EQ(down.body(r).at("upstream"), "unreachable");
}

// The proxy still serves (200), but the cache is not doing its job: writes refused, or
// invalidations waiting for their replay.
TEST(AdminService, HealthIsDegradedWhileWritesAreRefusedOrInvalidationsPending) {
  Fixture f;
  f.health.writes_refused = true;
  auto r = f.call(http::verb::get, "/health");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(f.body(r).at("status"), "degraded");
  EXPECT_EQ(f.body(r).at("redis_writes"), "refused");

  f.health.writes_refused = false;
  f.pending = 3;
  r = f.call(http::verb::get, "/health");
  EXPECT_EQ(f.body(r).at("status"), "degraded");
  EXPECT_EQ(f.body(r).at("pending_invalidations"), 3);
  EXPECT_NE(f.call(http::verb::get, "/metrics").body().find("cachecar_pending_invalidations 3"),
            std::string::npos);
}

TEST(AdminService, PingReportsTheRoundTrip) {
  Fixture f;
  auto r = f.call(http::verb::get, "/cache/ping");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(f.body(r).at("status"), "ok");
  EXPECT_TRUE(f.body(r).at("round_trip_ms").is_number());
}

TEST(AdminService, InvalidateExactPrefixAndNothing) {
  Fixture f;
  for (const char* k : {"GET:/p/1", "GET:/p/1?x=1", "GET:/p/2", "GET:/q"}) {
    f.store.put_sync(k, "v", 60s, "");
  }
  auto r = f.call(http::verb::delete_, "/invalidate/GET:/p/1");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(f.body(r), json::parse(R"({"deleted": 1})"));
  EXPECT_TRUE(f.store.get_sync("GET:/p/1?x=1"));  // exact means exact
  r = f.call(http::verb::delete_, "/invalidate/GET:/p/*");
  EXPECT_EQ(f.body(r), json::parse(R"({"deleted": 2})"));
  EXPECT_TRUE(f.store.get_sync("GET:/q"));
  r = f.call(http::verb::delete_, "/invalidate/GET:/p/*");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(f.body(r), json::parse(R"({"deleted": 0})"));
  EXPECT_EQ(f.metrics.cache_stats().invalidations, 3u);
}

TEST(AdminService, GlobCharactersInKeysAreLiteral) {
  Fixture f;
  f.store.put_sync("GET:/a", "v", 60s, "");
  f.store.put_sync("GET:/ab", "v", 60s, "");
  EXPECT_EQ(f.call(http::verb::delete_, "/invalidate/GET:/a?").result_int(), 404);
  EXPECT_EQ(f.call(http::verb::delete_, "/invalidate/GET:/%2A").result_int(), 404);
  EXPECT_EQ(f.call(http::verb::delete_, "/invalidate/GET:/[a]b").result_int(), 404);
  EXPECT_EQ(f.store.count_sync(), 2u);
}

TEST(AdminService, ClearAllAndNamespace) {
  Fixture f;
  f.store.put_sync("GET:/u/1", "v", 60s, "users");
  f.store.put_sync("GET:/u/2", "v", 60s, "users");
  f.store.put_sync("GET:/p/1", "v", 60s, "");
  auto r = f.call(http::verb::post, "/cache/clear/users");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(f.body(r), json::parse(R"({"deleted": 2, "namespace": "users"})"));
  EXPECT_EQ(f.store.count_sync(), 1u);
  r = f.call(http::verb::post, "/cache/clear/nobody");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(f.body(r).at("error"), "unknown_namespace");
  r = f.call(http::verb::delete_, "/cache/clear");
  EXPECT_EQ(f.body(r), json::parse(R"({"deleted": 1})"));
  EXPECT_EQ(f.store.count_sync(), 0u);
}

TEST(AdminService, ConfigReloadNamesWhatWasNotApplied) {
  Fixture f;
  f.reload_result.reloaded = true;
  f.reload_result.not_applied = {"threads", "redis.url"};
  auto r = f.call(http::verb::post, "/config/reload");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(f.reloads, 1);
  EXPECT_EQ(f.body(r), json::parse(R"({"reloaded": true, "not_applied": ["threads", "redis.url"]})"));
  f.reload_result.not_applied.clear();
  EXPECT_EQ(f.body(f.call(http::verb::post, "/config/reload")),
            json::parse(R"({"reloaded": true, "not_applied": []})"));
}

TEST(AdminService, ConfigReloadOfAnInvalidFileIs422WithTheError) {
  Fixture f;
  f.reload_result.error = "cachecar.yaml:5: rules[0].ttl: expected a duration";
  auto r = f.call(http::verb::post, "/config/reload");
  EXPECT_EQ(r.result_int(), 422);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(f.body(r), json::parse(R"({"reloaded": false, "error": "cachecar.yaml:5: rules[0].ttl: expected a duration"})"));
}

TEST(AdminService, ConfigReloadNeedsTheToken) {
  Fixture f("s3cret");
  f.reload_result.reloaded = true;
  EXPECT_EQ(f.call(http::verb::post, "/config/reload").result_int(), 401);
  EXPECT_EQ(f.call(http::verb::post, "/config/reload", "Bearer wrong").result_int(), 401);
  EXPECT_EQ(f.reloads, 0);
  EXPECT_EQ(f.call(http::verb::post, "/config/reload", "Bearer s3cret").result_int(), 200);
  EXPECT_EQ(f.reloads, 1);
}

TEST(AdminService, NewOptionsApplyToTheNextRequest) {
  Fixture f("s3cret");
  AdminOptions rotated;
  rotated.token = "n3w";
  rotated.namespaces = {"users", "orders"};
  f.service->set_options(rotated);
  EXPECT_EQ(f.call(http::verb::post, "/cache/clear/orders", "Bearer s3cret").result_int(), 401);
  EXPECT_EQ(f.call(http::verb::post, "/cache/clear/orders", "Bearer n3w").result_int(), 200);
}

TEST(AdminService, ResetStats) {
  Fixture f;
  f.metrics.record_request({metrics::CacheOutcome::Hit, "", "GET", 200, 1ms});
  f.metrics.record_lookup("GET:/a", true);
  auto r = f.call(http::verb::post, "/cache/reset-stats");
  EXPECT_EQ(r.result_int(), 200);
  auto v = f.body(f.call(http::verb::get, "/metrics/cache"));
  EXPECT_EQ(v.at("hits"), 0);
  EXPECT_EQ(v.at("top_keys"), json::array());
}

TEST(AdminService, TokenGuardsStateChangingRoutesOnly) {
  Fixture f("s3cret");
  f.store.put_sync("GET:/a", "v", 60s, "");
  for (auto [method, target] : {std::pair{http::verb::delete_, "/invalidate/GET:/a"},
                                std::pair{http::verb::delete_, "/cache/clear"},
                                std::pair{http::verb::post, "/cache/clear/users"},
                                std::pair{http::verb::post, "/cache/reset-stats"}}) {
    auto missing = f.call(method, target);
    EXPECT_EQ(missing.result_int(), 401) << target;
    EXPECT_EQ(missing[http::field::www_authenticate], "Bearer realm=\"cachecar-admin\"");
    EXPECT_EQ(f.body(missing).at("error"), "unauthorized");
    EXPECT_EQ(f.call(method, target, "Bearer wrong").result_int(), 401) << target;
  }
  EXPECT_EQ(f.store.count_sync(), 1u);  // nothing was deleted
  for (const char* target : {"/metrics", "/metrics/cache", "/health", "/cache/ping"}) {
    EXPECT_EQ(f.call(http::verb::get, target).result_int(), 200) << target;
  }
  auto ok = f.call(http::verb::delete_, "/invalidate/GET:/a", "Bearer s3cret");
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(f.store.count_sync(), 0u);
}

TEST(AdminService, WithoutATokenWebPagesCannotChangeState) {
  Fixture f;  // no token: loopback admin, where scripts need none
  f.store.put_sync("GET:/a", "v", 60s, "users");
  for (auto [method, target] : {std::pair{http::verb::delete_, "/invalidate/GET:/a"},
                                std::pair{http::verb::delete_, "/cache/clear"},
                                std::pair{http::verb::post, "/cache/clear/users"},
                                std::pair{http::verb::post, "/cache/reset-stats"}}) {
    auto refused = f.call(method, target, {}, "http://evil.example");
    EXPECT_EQ(refused.result_int(), 403) << target;
    EXPECT_EQ(f.body(refused).at("error"), "browser_request") << target;
  }
  EXPECT_EQ(f.store.count_sync(), 1u);  // nothing was deleted
  // Reads stay open to pages (dashboards), and scripts without Origin still work.
  EXPECT_EQ(f.call(http::verb::get, "/metrics/cache", {}, "http://dash.example").result_int(), 200);
  EXPECT_EQ(f.call(http::verb::post, "/cache/clear/users").result_int(), 200);
  EXPECT_EQ(f.store.count_sync(), 0u);
}

TEST(AdminService, ATokenAlsoAdmitsBrowserRequests) {
  Fixture f("s3cret");
  f.store.put_sync("GET:/a", "v", 60s, "");
  EXPECT_EQ(
      f.call(http::verb::delete_, "/invalidate/GET:/a", {}, "http://evil.example").result_int(),
      401);
  EXPECT_EQ(f.call(http::verb::delete_, "/invalidate/GET:/a", "Bearer s3cret", "http://ops.example")
                .result_int(),
            200);
  EXPECT_EQ(f.store.count_sync(), 0u);
}

TEST(AdminService, MalformedKeyIs400AfterAuth) {
  Fixture f("s3cret");
  EXPECT_EQ(f.call(http::verb::delete_, "/invalidate/%zz").result_int(), 401);
  EXPECT_EQ(f.call(http::verb::delete_, "/invalidate/%zz", "Bearer s3cret").result_int(), 400);
}

}  // namespace
}  // namespace cachecar::admin
