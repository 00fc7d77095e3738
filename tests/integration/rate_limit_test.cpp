// Rate limits of rules through the whole proxy: real redis-server (or memory://), real upstream,
// real sockets, and two real cachecar processes sharing one Redis.
#include "core/strings.hpp"
#include "integration/harness.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

// The value of one series ("name{labels}") in a Prometheus exposition, 0 when absent.
std::uint64_t series_value(const std::string& text, const std::string& series) {
  return static_cast<std::uint64_t>(metric_value(text, series));
}

std::string rate_series(std::string_view result, std::string_view rule) {
  return "cachecar_rate_limit_requests_total{result=\"" + std::string(result) + "\",rule=\"" +
         std::string(rule) + "\"}";
}

std::uint64_t rate_count(Harness& h, std::string_view result, std::string_view rule) {
  return series_value(h.admin("GET", "/metrics").body, rate_series(result, rule));
}

// A rule's requests were all counted (each is counted just after its answer is written).
bool counted(Harness& h, std::string_view result, std::string_view rule, std::uint64_t n) {
  return wait_until([&] { return rate_count(h, result, rule) == n; }, 5s);
}

constexpr std::string_view kItems = "GET /api/items/{id}";
constexpr std::string_view kSearch = "GET /api/search";

HarnessOptions limited(std::string limit, std::string extra = {}) {
  HarnessOptions options;
  options.rules = "  - match: \"GET /api/items/{id}\"\n    ttl: 60s\n    rate_limit: " + limit +
                  "\n  - match: \"GET /api/search\"\n    rate_limit: " + limit +
                  "\n  - match: \"GET /api/free/{id}\"\n    ttl: 60s\n";
  options.extra = std::move(extra);
  return options;
}

void expect_fields(const HttpResponse& r, const std::string& limit, const std::string& remaining,
                   const std::string& policy) {
  EXPECT_EQ(r.header("RateLimit-Limit"), limit);
  EXPECT_EQ(r.header("RateLimit-Remaining"), remaining);
  EXPECT_FALSE(r.header("RateLimit-Reset").empty());
  EXPECT_EQ(r.header("RateLimit-Policy"), policy);
}

TEST(RateLimitTest, OverTheLimitIs429WithRetryAfterAndTheOriginNeverSeesIt) {
  Harness h{limited("{limit: 3, window: 1h}")};
  for (int i = 0; i < 3; ++i) {
    auto allowed = h.get("/api/search?q=x");
    EXPECT_EQ(allowed.status, 200);
    expect_fields(allowed, "3", std::to_string(2 - i), "3;w=3600");
    EXPECT_FALSE(allowed.has_header("Retry-After"));
  }
  for (int i = 0; i < 2; ++i) {
    auto refused = h.get("/api/search?q=x");
    EXPECT_EQ(refused.status, 429);
    expect_fields(refused, "3", "0", "3;w=3600");
    // One request drips back every window / limit = 20 minutes.
    const int retry_after = std::stoi(refused.header("Retry-After"));
    EXPECT_GT(retry_after, 1100);
    EXPECT_LE(retry_after, 1200);
    EXPECT_EQ(refused.header("Content-Type"), "application/json");
    EXPECT_EQ(refused.header("Cache-Status"), "cachecar; fwd=request; detail=rate-limited");
    const json::value body = json::parse(refused.body);
    EXPECT_EQ(body.at("error").as_string(), "rate_limited");
    EXPECT_EQ(body.at("retry_after").to_number<int>(), retry_after);
  }
  // A refusal keeps the connection: the next request on it is answered too.
  HttpClient client(h.port());
  auto first = client.get("/api/search");
  EXPECT_EQ(first.status, 429);
  EXPECT_TRUE(first.keep_alive);
  EXPECT_EQ(client.get("/api/free/2").status, 200);
  EXPECT_EQ(h.upstream.requests("/api/search"), 3u);
  // A rule without a limit is not limited, and its responses carry no fields.
  auto free = h.get("/api/free/1");
  EXPECT_EQ(free.status, 200);
  EXPECT_FALSE(free.has_header("RateLimit-Limit"));
  ASSERT_TRUE(counted(h, "limited", kSearch, 3));
  EXPECT_EQ(rate_count(h, "allowed", kSearch), 3u);
}

TEST(RateLimitTest, CacheHitsAnd304sCountAndCarryTheFields) {
  Harness h{limited("{limit: 4, window: 1h}")};
  h.upstream.on("/api/items/1",
                StubReply{.headers = {{"Content-Type", "application/json"}, {"ETag", "\"v1\""}},
                          .body = "{\"id\": 1}"});
  auto miss = h.get("/api/items/1");
  EXPECT_EQ(miss.header("X-Cache"), "MISS");
  expect_fields(miss, "4", "3", "4;w=3600");
  auto hit = h.get("/api/items/1");
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  expect_fields(hit, "4", "2", "4;w=3600");
  auto not_modified = h.get("/api/items/1", {{"If-None-Match", "\"v1\""}});
  EXPECT_EQ(not_modified.status, 304);
  expect_fields(not_modified, "4", "1", "4;w=3600");
  auto head = h.request("HEAD", "/api/items/1");
  EXPECT_EQ(head.status, 200);
  expect_fields(head, "4", "0", "4;w=3600");
  // The budget is spent by hits as well: the fifth request is refused though it is cached.
  auto refused = h.get("/api/items/1");
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body, miss.body);
  EXPECT_EQ(h.upstream.requests("/api/items/1"), 1u);
  // Budgets are per rule: the other limited rule's is whole.
  EXPECT_EQ(h.get("/api/search").header("RateLimit-Remaining"), "3");
  ASSERT_TRUE(counted(h, "allowed", kItems, 4));
  EXPECT_EQ(rate_count(h, "limited", kItems), 1u);
}

// The origin's own rate-limit fields on a limited rule's response: the client gets one policy,
// cachecar's, and a hit does not replay the counts the origin sent with its fill.
TEST(RateLimitTest, TheOriginsRateLimitFieldsGiveWayOnALimitedRule) {
  Harness h{limited("{limit: 4, window: 1h}")};
  const StubReply origin{.headers = {{"Content-Type", "application/json"},
                                     {"RateLimit-Limit", "1000"},
                                     {"RateLimit-Remaining", "999"},
                                     {"RateLimit-Policy", "1000;w=60"}},
                         .body = "{}"};
  for (const std::string path : {"/api/items/1", "/api/search", "/api/free/1"}) {
    h.upstream.on(path, origin);
  }
  const auto count = [](const HttpResponse& r, std::string_view name) {
    return std::count_if(r.headers.begin(), r.headers.end(),
                         [&](const auto& field) { return core::iequals(field.first, name); });
  };
  for (const std::string target : {"/api/items/1", "/api/items/1", "/api/search"}) {
    const auto r = h.get(target);
    EXPECT_EQ(r.status, 200) << target;
    EXPECT_EQ(count(r, "RateLimit-Remaining"), 1) << target;
    EXPECT_EQ(count(r, "RateLimit-Policy"), 1) << target;
    EXPECT_EQ(r.header("RateLimit-Limit"), "4") << target;
  }
  // A rule cachecar does not limit relays the origin's fields as they came.
  EXPECT_EQ(h.get("/api/free/1").header("RateLimit-Remaining"), "999");
}

TEST(RateLimitTest, ByHeaderGivesEachKeyItsOwnBudgetAndFallsBackToTheClientIp) {
  Harness h{limited("{limit: 2, window: 1h, by: header:X-Api-Key}")};
  const Headers key_a{{"X-Api-Key", "key-a"}};
  const Headers key_b{{"X-Api-Key", "key-b"}};
  EXPECT_EQ(h.get("/api/search", key_a).status, 200);
  EXPECT_EQ(h.get("/api/search", key_a).status, 200);
  EXPECT_EQ(h.get("/api/search", key_a).status, 429);
  EXPECT_EQ(h.get("/api/search", key_b).status, 200);  // another key, another budget
  // Without the header (or with an empty one) the client's address is the identity.
  EXPECT_EQ(h.get("/api/search").status, 200);
  EXPECT_EQ(h.get("/api/search", {{"X-Api-Key", ""}}).status, 200);
  EXPECT_EQ(h.get("/api/search").status, 429);
  EXPECT_EQ(h.get("/api/search", key_b).status, 200);
  EXPECT_EQ(h.get("/api/search", key_b).status, 429);
  EXPECT_EQ(h.upstream.requests("/api/search"), 6u);
  // The key never appears in a Redis key name: it is hashed.
  auto keys = h.redis->command({"KEYS", "cachecar:__rl:*"});
  ASSERT_EQ(keys.elements.size(), 3u);
  for (const auto& key : keys.elements) {
    EXPECT_EQ(key.str.find("key-a"), std::string::npos) << key.str;
    EXPECT_EQ(key.str.find("key-b"), std::string::npos) << key.str;
  }
}

TEST(RateLimitTest, HashedKeyNamesHideTheRuleAndTheClient) {
  auto options = limited("{limit: 1, window: 1h}");
  options.cache = "  key_hash: sha256\n";
  Harness h{options};
  EXPECT_EQ(h.get("/api/search").status, 200);
  EXPECT_EQ(h.get("/api/search").status, 429);  // the hashed budget is the same budget
  const auto keys = h.redis->command({"KEYS", "cachecar:*"});
  ASSERT_FALSE(keys.elements.empty());
  for (const auto& key : keys.elements) {
    EXPECT_EQ(key.str.find("__rl"), std::string::npos) << key.str;
    EXPECT_EQ(key.str.find("127.0.0.1"), std::string::npos) << key.str;
  }
}

TEST(RateLimitTest, XForwardedForIsIgnoredFromUntrustedPeers) {
  Harness h{limited("{limit: 1, window: 1h}")};
  EXPECT_EQ(h.get("/api/search", {{"X-Forwarded-For", "10.0.0.1"}}).status, 200);
  // A client cannot pick a fresh budget by writing another address: it is 127.0.0.1.
  EXPECT_EQ(h.get("/api/search", {{"X-Forwarded-For", "10.0.0.2"}}).status, 429);
  EXPECT_EQ(h.get("/api/search").status, 429);
}

TEST(RateLimitTest, XForwardedForCountsFromTrustedProxies) {
  Harness h{limited("{limit: 1, window: 1h}", "trusted_proxies: [\"127.0.0.1\"]\n")};
  EXPECT_EQ(h.get("/api/search", {{"X-Forwarded-For", "10.0.0.1"}}).status, 200);
  EXPECT_EQ(h.get("/api/search", {{"X-Forwarded-For", "10.0.0.1"}}).status, 429);
  EXPECT_EQ(h.get("/api/search", {{"X-Forwarded-For", "10.0.0.2"}}).status, 200);
  // The right-most untrusted hop is the client; what it wrote to the left of it is not.
  EXPECT_EQ(h.get("/api/search", {{"X-Forwarded-For", "6.6.6.6, 10.0.0.2"}}).status, 429);
  // The trusted proxy's own requests (no X-Forwarded-For) have a budget of their own.
  EXPECT_EQ(h.get("/api/search").status, 200);
}

TEST(RateLimitTest, RedisDownFailsOpenByDefaultAndCountsIt) {
  auto options = limited("{limit: 100, window: 1h}");
  options.redis_timeout = "100ms";
  Harness h{options};
  EXPECT_EQ(h.get("/api/search").status, 200);
  h.redis->kill();
  for (int i = 0; i < 3; ++i) {
    auto response = h.request_within(2s, "GET", "/api/search");
    EXPECT_EQ(response.status, 200);
    // Without the budget only what does not depend on it is known.
    EXPECT_EQ(response.header("RateLimit-Limit"), "100");
    EXPECT_EQ(response.header("RateLimit-Policy"), "100;w=3600");
    EXPECT_FALSE(response.has_header("RateLimit-Remaining"));
  }
  // Cached rules too: the lookup fails as well, and the upstream answers.
  EXPECT_EQ(h.request_within(2s, "GET", "/api/items/9").status, 200);
  EXPECT_EQ(h.upstream.requests("/api/search"), 4u);
  ASSERT_TRUE(counted(h, "fail_open", kSearch, 3));
  EXPECT_TRUE(counted(h, "fail_open", kItems, 1));
}

TEST(RateLimitTest, RedisDownFailsClosedWith503WhenConfigured) {
  auto options = limited("{limit: 100, window: 1h, fail: closed}");
  options.redis_timeout = "100ms";
  Harness h{options};
  EXPECT_EQ(h.get("/api/search").status, 200);
  h.redis->kill();
  for (int i = 0; i < 2; ++i) {
    auto response = h.request_within(2s, "GET", "/api/search");
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.header("RateLimit-Limit"), "100");
    EXPECT_EQ(response.header("Cache-Status"), "cachecar; fwd=request; detail=rate-limited");
    EXPECT_NE(response.body.find("service_unavailable"), std::string::npos) << response.body;
  }
  EXPECT_EQ(h.request_within(2s, "GET", "/api/items/9").status, 503);
  EXPECT_EQ(h.upstream.requests("/api/search"), 1u);
  EXPECT_EQ(h.upstream.requests("/api/items/9"), 0u);
  // Unlimited rules are served from the upstream as ever.
  EXPECT_EQ(h.request_within(2s, "GET", "/api/free/1").status, 200);
  ASSERT_TRUE(counted(h, "fail_closed", kSearch, 2));
  EXPECT_TRUE(counted(h, "fail_closed", kItems, 1));
}

TEST(RateLimitTest, WritesAreLimitedBeforeTheOriginAndInvalidateNothing) {
  HarnessOptions options;
  options.rules =
      "  - match: \"GET /api/items/{id}\"\n    ttl: 60s\n"
      "  - match: \"PUT /api/items/{id}\"\n    invalidate: [\"GET /api/items/{id}\"]\n"
      "    rate_limit: {limit: 1, window: 1h}\n";
  Harness h{options};
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.request("PUT", "/api/items/1", {}, "{}").status, 200);
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");  // invalidated
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  HttpClient client(h.port());
  auto refused = client.request("PUT", "/api/items/1", {}, "{}");
  EXPECT_EQ(refused.status, 429);
  EXPECT_TRUE(refused.keep_alive);
  EXPECT_EQ(client.get("/api/items/1").header("X-Cache"), "HIT");  // same connection
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");       // not invalidated
  std::size_t puts = 0;
  for (const auto& seen : h.upstream.seen()) puts += seen.method == "PUT" ? 1 : 0;
  EXPECT_EQ(puts, 1u);
}

TEST(RateLimitTest, ABudgetComesBackAsTheWindowPasses) {
  Harness h{limited("{limit: 1, window: 1s}")};
  EXPECT_EQ(h.get("/api/search").status, 200);
  EXPECT_EQ(h.get("/api/search").status, 429);
  // Refused requests spend nothing, so polling does not push the budget further away.
  EXPECT_TRUE(wait_until([&] { return h.get("/api/search").status == 200; }, 10s, 50ms));
  EXPECT_EQ(h.upstream.requests("/api/search"), 2u);
}

TEST(RateLimitTest, MemoryStoreLimitsAcrossThreads) {
  auto options = limited("{limit: 3, window: 1h}");
  options.memory_store = true;
  options.threads = 2;
  Harness h{options};
  int allowed = 0;
  int refused = 0;
  for (int i = 0; i < 6; ++i) {  // fresh connections: either worker may take each
    const int status = h.get("/api/items/1").status;
    allowed += status == 200 ? 1 : 0;
    refused += status == 429 ? 1 : 0;
  }
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(refused, 3);
  EXPECT_EQ(h.upstream.requests("/api/items/1"), 1u);
}

TEST(RateLimitTest, ATopLevelDefaultLimitsEveryRuleUnlessItSaysOff) {
  HarnessOptions options;
  options.extra = "rate_limit: {limit: 1, window: 1h}\n";
  options.rules =
      "  - match: \"GET /api/items/{id}\"\n    ttl: 60s\n"
      "  - match: \"GET /api/health\"\n    ttl: 1s\n    rate_limit: off\n"
      "  - match: \"GET /api/search\"\n    rate_limit: {limit: 2}\n";
  Harness h{options};
  EXPECT_EQ(h.get("/api/items/1").status, 200);
  EXPECT_EQ(h.get("/api/items/1").status, 429);
  EXPECT_EQ(h.get("/api/health").status, 200);
  EXPECT_EQ(h.get("/api/health").status, 200);
  EXPECT_EQ(h.get("/api/search").header("RateLimit-Policy"), "2;w=3600");  // window inherited
  EXPECT_EQ(h.get("/api/search").status, 200);
  EXPECT_EQ(h.get("/api/search").status, 429);
  // A path no rule matches is not limited.
  EXPECT_EQ(h.get("/elsewhere").status, 200);
  EXPECT_EQ(h.get("/elsewhere").status, 200);
}

TEST(RateLimitTest, AReloadChangesTheLimitForNewRequests) {
  auto options = limited("{limit: 1, window: 1h}");
  options.memory_store = true;
  Harness h{options};
  h.stop();
  auto yaml = std::make_shared<std::string>(h.config_yaml());
  const auto load = [yaml] {
    return config::load_config_text(*yaml, "test.yaml",
                                    [](std::string_view) { return std::optional<std::string>{}; });
  };
  h.app = std::make_unique<app::App>(load(), load);
  h.app->start();
  EXPECT_EQ(h.get("/api/search").status, 200);
  EXPECT_EQ(h.get("/api/search").status, 429);
  for (auto at = yaml->find("{limit: 1,"); at != std::string::npos; at = yaml->find("{limit: 1,")) {
    yaml->replace(at, 10, "{limit: 3,");
  }
  ASSERT_TRUE(h.app->reload().reloaded);
  // The budget already spent counts against the new limit: two more.
  ASSERT_TRUE(wait_until([&] { return h.get("/api/search").status == 200; }, 5s));
  auto last = h.get("/api/search");
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.header("RateLimit-Limit"), "3");
  EXPECT_EQ(last.header("RateLimit-Remaining"), "0");
  EXPECT_EQ(h.get("/api/search").status, 429);
}

TEST(RateLimitCliTest, CheckConfigNamesABadRateLimit) {
  const auto dir = fs::temp_directory_path() / ("cachecar-rl-cli-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "bad.yaml") << "upstream:\n  url: http://127.0.0.1:1\n"
                                     "rate_limit: {limit: 10, window: 1m, by: cookie}\n";
  const auto result = run_command(std::string(CACHECAR_BINARY_PATH) + " --config " +
                                  (dir / "bad.yaml").string() + " --check-config");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("bad.yaml:3: rate_limit.by: expected client_ip or header:"),
            std::string::npos)
      << result.output;
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

// Two cachecar processes (the real binary) on one Redis spend one budget per client.
class TwoInstancesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cachecar-rl-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "cachecar.yaml") << "threads: 2\n"
                                             "upstream:\n  url: \""
                                          << upstream_.url()
                                          << "\"\n"
                                             "redis:\n  url: \"redis://127.0.0.1:"
                                          << redis_.port()
                                          << "/0\"\n"
                                             "log:\n  level: warn\n"
                                             "rules:\n"
                                             "  - match: \"GET /api/items/{id}\"\n    ttl: 60s\n"
                                             "    rate_limit: {limit: 5, window: 1h}\n";
    for (int i = 0; i < 2; ++i) {
      ports_[i] = free_port();
      admin_ports_[i] = free_port();
      instances_[i].emplace(
          std::vector<std::string>{CACHECAR_BINARY_PATH, "--config",
                                   (dir_ / "cachecar.yaml").string()},
          ChildProcess::Env{
              {"CACHECAR_LISTEN", "127.0.0.1:" + std::to_string(ports_[i])},
              {"CACHECAR_ADMIN_LISTEN", "127.0.0.1:" + std::to_string(admin_ports_[i])}},
          dir_ / ("cachecar-" + std::to_string(i) + ".log"));
    }
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(wait_until(
          [&] {
            try {
              HttpClient client(admin_ports_[i], 1s);
              return true;
            } catch (const std::exception&) {
              return false;
            }
          },
          10s))
          << instances_[i]->log();
    }
  }

  void TearDown() override {
    for (auto& instance : instances_) instance.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::uint64_t counted(int i, std::string_view result) {
    return series_value(http_get(admin_ports_[i], "/metrics").body, rate_series(result, kItems));
  }

  fs::path dir_;
  RedisServer redis_;
  UpstreamStub upstream_;
  std::array<std::uint16_t, 2> ports_{};
  std::array<std::uint16_t, 2> admin_ports_{};
  std::array<std::optional<ChildProcess>, 2> instances_;
};

TEST_F(TwoInstancesTest, ShareOneBudget) {
  // Alternating: 5 allowed in all (3 + 2), then both refuse.
  for (int i = 0; i < 5; ++i) {
    auto response = http_get(ports_[i % 2], "/api/items/1");
    EXPECT_EQ(response.status, 200) << "request " << i;
    EXPECT_EQ(response.header("RateLimit-Remaining"), std::to_string(4 - i));
  }
  EXPECT_EQ(http_get(ports_[0], "/api/items/1").status, 429);
  EXPECT_EQ(http_get(ports_[1], "/api/items/1").status, 429);
  // One fill by the first instance; every other answer was a hit or refused.
  EXPECT_EQ(upstream_.requests("/api/items/1"), 1u);
  ASSERT_TRUE(wait_until([&] { return counted(0, "allowed") + counted(1, "allowed") == 5; }, 5s));
  EXPECT_EQ(counted(0, "allowed"), 3u);
  EXPECT_EQ(counted(1, "allowed"), 2u);
  EXPECT_TRUE(
      wait_until([&] { return counted(0, "limited") == 1 && counted(1, "limited") == 1; }, 5s));
}

}  // namespace
}  // namespace cachecar::test
