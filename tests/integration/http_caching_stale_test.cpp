// HTTP caching through a real cachecar, once entries turn stale: revalidation with the upstream
// (RFC 9111 §4.3), stale-while-revalidate and stale-if-error (RFC 5861), validators that change
// (§4.3.5). Each test waits for its entry's max-age=1 to pass on the clock.
#include "integration/http_caching.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;
using namespace http_caching;

class HttpCachingStaleTest : public ::testing::Test {
 protected:
  Harness h{options()};

  // Fills `target` (a miss) and waits until its max-age=1 entry is at least `age` old.
  void fill_and_age(const std::string& target, std::chrono::milliseconds age = 1200ms) {
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(h.get(target).header("X-Cache"), "MISS") << target;
    wait_for_age(start, age);
  }
};

// The first request gets `first` (fresh for a second); every later one `then(request)`.
UpstreamStub::Handler first_then(StubReply first,
                                 std::function<StubReply(const SeenRequest&)> then) {
  return [first, then](const SeenRequest& request, std::size_t count) {
    return count == 1 ? first : then(request);
  };
}

StubReply not_modified(std::string etag, Headers extra = {}) {
  extra.emplace_back("ETag", std::move(etag));
  extra.emplace_back("Cache-Control", "max-age=60");
  return StubReply{.status = 304, .headers = std::move(extra), .body = ""};
}

// --- 7. Revalidation with the upstream (§4.3) ---

TEST_F(HttpCachingStaleTest, AStaleEntryIsRevalidatedWithItsOwnValidatorAndA304FreshensIt) {
  h.upstream.on(
      "/up/rv",
      first_then(reply({{"ETag", "\"v1\""}, {"Cache-Control", "max-age=1"}, {"X-Version", "1"}},
                       "stored body"),
                 [](const SeenRequest& request) {
                   if (request.header("If-None-Match") != "\"v1\"") {
                     return reply({}, "unexpected full fetch");
                   }
                   return not_modified("\"v1\"", {{"X-Version", "2"}});
                 }));
  fill_and_age("/up/rv");
  // The client's own conditional is not what the upstream sees.
  const auto revalidated = h.get("/up/rv", {{"If-None-Match", "\"client\""}});
  EXPECT_EQ(h.upstream.requests("/up/rv"), 2u);
  EXPECT_EQ(h.upstream.last().header("If-None-Match"), "\"v1\"");
  EXPECT_EQ(revalidated.status, 200);
  EXPECT_EQ(revalidated.body, "stored body");
  EXPECT_EQ(revalidated.header("Content-Length"), "11");
  EXPECT_EQ(revalidated.header("X-Cache"), "REVALIDATED");
  EXPECT_EQ(revalidated.header("Cache-Status"), "cachecar; fwd=stale; fwd-status=304");

  // Fresh again for the 304's max-age=60, with the fields it updated (§3.2).
  const auto hit = h.get("/up/rv");
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(hit.body, "stored body");
  EXPECT_EQ(hit.header("X-Version"), "2");
  EXPECT_EQ(hit.header("Cache-Control"), "max-age=60");
  EXPECT_EQ(h.upstream.requests("/up/rv"), 2u);
}

TEST(HttpCachingStaleMemoryTest, A304FreshensTheEntryOnTheMemoryStore) {
  Harness h{options(true)};
  h.upstream.on("/up/m", first_then(reply({{"ETag", "\"m\""}, {"Cache-Control", "max-age=1"}}),
                                    [](const SeenRequest&) { return not_modified("\"m\""); }));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(h.get("/up/m").header("X-Cache"), "MISS");
  wait_for_age(start, 1200ms);
  EXPECT_EQ(h.get("/up/m").header("X-Cache"), "REVALIDATED");
  EXPECT_EQ(h.upstream.last().header("If-None-Match"), "\"m\"");
  const auto hit = h.get("/up/m");
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(hit.body, "body");
  EXPECT_EQ(h.upstream.requests("/up/m"), 2u);
}

TEST_F(HttpCachingStaleTest, ALastModifiedValidatorIsSentAsIfModifiedSince) {
  const std::string last_modified = http_date(-3600s);
  h.upstream.on(
      "/up/lm",
      first_then(reply({{"Last-Modified", last_modified}, {"Cache-Control", "max-age=1"}}),
                 [](const SeenRequest&) {
                   return StubReply{
                       .status = 304, .headers = {{"Cache-Control", "max-age=60"}}, .body = ""};
                 }));
  fill_and_age("/up/lm");
  const auto revalidated = h.get("/up/lm");
  EXPECT_EQ(h.upstream.last().header("If-Modified-Since"), last_modified);
  EXPECT_EQ(revalidated.header("X-Cache"), "REVALIDATED");
  EXPECT_EQ(revalidated.body, "body");
}

TEST_F(HttpCachingStaleTest, A200AnsweringTheRevalidationReplacesTheEntry) {
  h.upstream.on(
      "/up/rp",
      first_then(reply({{"ETag", "\"v1\""}, {"Cache-Control", "max-age=1"}}, "one"),
                 [](const SeenRequest&) {
                   return reply({{"ETag", "\"v2\""}, {"Cache-Control", "max-age=60"}}, "two");
                 }));
  fill_and_age("/up/rp");
  const auto replaced = h.get("/up/rp");
  EXPECT_EQ(replaced.body, "two");
  EXPECT_EQ(replaced.header("Cache-Status"), "cachecar; fwd=stale; fwd-status=200; stored");
  const auto hit = h.get("/up/rp");
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(hit.body, "two");
  EXPECT_EQ(hit.header("ETag"), "\"v2\"");
  EXPECT_EQ(h.upstream.requests("/up/rp"), 2u);
}

TEST_F(HttpCachingStaleTest, ConcurrentRequestsForOneStaleKeyMakeOneRevalidation) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  h.upstream.on("/up/co",
                first_then(reply({{"ETag", "\"c\""}, {"Cache-Control", "max-age=1"}}, "shared"),
                           [release](const SeenRequest&) {
                             auto r = not_modified("\"c\"");
                             r.hold = release;
                             return r;
                           }));
  fill_and_age("/up/co");
  const auto lookups_before = h.lookups("GET:/up/co");
  constexpr int kClients = 4;
  std::vector<HttpResponse> responses(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { responses[i] = h.get("/up/co"); });
  }
  // All of them have looked the key up while the one revalidation is held at the upstream.
  EXPECT_TRUE(wait_until([&] { return h.upstream.requests("/up/co") == 2; }, 10s, 1ms));
  EXPECT_TRUE(
      wait_until([&] { return h.lookups("GET:/up/co") == lookups_before + kClients; }, 10s, 1ms));
  release->store(true);
  for (auto& client : clients) client.join();
  for (const auto& response : responses) {
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "shared");
  }
  EXPECT_EQ(h.upstream.requests("/up/co"), 2u);
}

// --- 8. Stale serving (RFC 5861) ---

TEST_F(HttpCachingStaleTest, StaleWhileRevalidateAnswersAtOnceAndRevalidatesOnceInTheBackground) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  h.upstream.on("/up/swr",
                first_then(reply({{"ETag", "\"s\""},
                                  {"Cache-Control", "max-age=1, stale-while-revalidate=30"}},
                                 "old"),
                           [release](const SeenRequest& request) {
                             auto r = request.header("If-None-Match") == "\"s\""
                                          ? not_modified("\"s\"")
                                          : reply({}, "unexpected full fetch");
                             r.hold = release;
                             return r;
                           }));
  // Stale by a second or more, whichever way the staleness is rounded.
  fill_and_age("/up/swr", 2200ms);
  const auto stale = h.get("/up/swr");  // answered while the revalidation is held
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, "old");
  EXPECT_EQ(stale.header("X-Cache"), "STALE");
  EXPECT_TRUE(is_stale_hit_status(stale.header("Cache-Status"))) << stale.header("Cache-Status");
  EXPECT_GE(std::stoi(stale.header("Age")), 2);
  ASSERT_TRUE(wait_until([&] { return h.upstream.requests("/up/swr") == 2; }, 10s));
  EXPECT_EQ(h.upstream.last().header("If-None-Match"), "\"s\"");

  // A second stale answer while that revalidation is in flight starts no other.
  EXPECT_EQ(h.get("/up/swr").header("X-Cache"), "STALE");
  release->store(true);
  int stale_answers = 2;  // until the freshened entry is in, answers are still stale
  EXPECT_TRUE(wait_until(
      [&] {
        const auto cache = h.get("/up/swr").header("X-Cache");
        stale_answers += cache == "STALE" ? 1 : 0;
        return cache == "HIT";
      },
      10s, 20ms));
  EXPECT_EQ(h.upstream.requests("/up/swr"), 2u);
  EXPECT_EQ(metric(h, "cachecar_stale_responses_total{reason=\"while_revalidate\"}"),
            stale_answers);
}

TEST_F(HttpCachingStaleTest, TheRulesStaleWindowsApplyWhenTheResponseHasNone) {
  h.upstream.on("/swr/a", reply({{"ETag", "\"a\""}, {"Cache-Control", "max-age=1"}}, "a"));
  fill_and_age("/swr/a", 2200ms);
  const auto upstream_mode = h.get("/swr/a");
  EXPECT_EQ(upstream_mode.header("X-Cache"), "STALE");
  EXPECT_EQ(upstream_mode.body, "a");

  h.upstream.on("/rule1s/a", reply({}, "r"));  // rule mode: ttl 1s, stale_while_revalidate 30s
  fill_and_age("/rule1s/a", 2200ms);
  const auto rule_mode = h.get("/rule1s/a");
  EXPECT_EQ(rule_mode.header("X-Cache"), "STALE");
  EXPECT_EQ(rule_mode.body, "r");
  EXPECT_TRUE(wait_until([&] { return h.upstream.requests("/rule1s/a") == 2; }, 10s));
}

TEST_F(HttpCachingStaleTest, StaleIfErrorAnswersUpstreamErrorsWithTheStaleCopy) {
  const std::vector<int> statuses{500, 502, 503, 504};
  const auto start = std::chrono::steady_clock::now();
  for (int status : statuses) {
    const std::string path = "/up/sie-" + std::to_string(status);
    h.upstream.on(path,
                  first_then(reply({{"Cache-Control", "max-age=1, stale-if-error=60"}}, "old"),
                             [status](const SeenRequest&) {
                               return StubReply{.status = status, .body = "error"};
                             }));
    ASSERT_EQ(h.get(path).header("X-Cache"), "MISS");
  }
  wait_for_age(start, 1200ms);
  for (int status : statuses) {
    const std::string path = "/up/sie-" + std::to_string(status);
    const auto response = h.get(path);
    EXPECT_EQ(h.upstream.requests(path), 2u);
    EXPECT_EQ(response.status, 200) << status;
    EXPECT_EQ(response.body, "old");
    EXPECT_EQ(response.header("X-Cache"), "STALE");
    EXPECT_EQ(
        response.header("Cache-Status"),
        "cachecar; fwd=stale; fwd-status=" + std::to_string(status) + "; detail=stale-if-error");
  }
  EXPECT_EQ(metric(h, "cachecar_stale_responses_total{reason=\"if_error\"}"), 4);
}

TEST_F(HttpCachingStaleTest, StaleIfErrorAnswersWhenTheUpstreamIsDown) {
  h.upstream.on("/up/down", reply({{"Cache-Control", "max-age=1, stale-if-error=60"}}, "old"));
  fill_and_age("/up/down");
  h.upstream.stop();
  const auto response = h.get("/up/down");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "old");
  EXPECT_EQ(response.header("X-Cache"), "STALE");
  const auto status = response.header("Cache-Status");
  EXPECT_EQ(status.rfind("cachecar; fwd=stale", 0), 0u) << status;
  EXPECT_NE(status.find("detail=stale-if-error"), std::string::npos) << status;
  EXPECT_EQ(metric(h, "cachecar_stale_responses_total{reason=\"if_error\"}"), 1);
}

TEST(HttpCachingStaleWindowTest, BeyondTheStaleWindowTheErrorIsPassedOn) {
  // cache.max_stale caps the response's stale-if-error=60 at one second.
  Harness h{HarnessOptions{.rules = "  - match: \"GET /up/*\"\n    freshness: upstream\n",
                           .cache = "  keep: 1h\n  max_stale: 1s\n"}};
  h.upstream.on(
      "/up/late",
      first_then(
          reply({{"ETag", "\"l\""}, {"Cache-Control", "max-age=1, stale-if-error=60"}}, "old"),
          [](const SeenRequest&) { return StubReply{.status = 503, .body = "error"}; }));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(h.get("/up/late").header("X-Cache"), "MISS");
  EXPECT_TRUE(h.redis_has("GET:/up/late"));  // kept for revalidation (cache.keep)
  wait_for_age(start, 3200ms);
  const auto response = h.get("/up/late");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "error");
  EXPECT_EQ(metric(h, "cachecar_stale_responses_total{reason=\"if_error\"}"), 0);
}

// --- 10. A validator that changes drops the stored entry (§4.3.5) ---

TEST_F(HttpCachingStaleTest, AnAnswerWithOtherValidatorsDropsTheStoredEntry) {
  h.upstream.on(
      "/up/vc",
      first_then(reply({{"ETag", "\"v1\""}, {"Cache-Control", "max-age=1"}}, "one"),
                 [](const SeenRequest&) {
                   return reply({{"ETag", "\"v2\""}, {"Cache-Control", "no-store"}}, "two");
                 }));
  fill_and_age("/up/vc");
  EXPECT_EQ(h.get("/up/vc").body, "two");
  EXPECT_FALSE(h.redis_has("GET:/up/vc"));
  EXPECT_EQ(h.get("/up/vc").body, "two");
  EXPECT_EQ(h.upstream.requests("/up/vc"), 3u);
  EXPECT_EQ(h.upstream.last().header("If-None-Match"), "");  // nothing left to revalidate
}

}  // namespace
}  // namespace cachecar::test
