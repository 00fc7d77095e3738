// Caching behaviour through real sockets: real redis-server, real upstream, real proxy.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;

const std::string kRules =
    "  - match: \"GET /api/users/{id}\"\n"
    "    ttl: 120s\n"
    "  - match: \"GET /api/posts/\"\n"
    "    ttl: 90s\n"
    "    key_query: [page]\n"
    "  - match: \"GET /api/posts/{id}\"\n"
    "    ttl: 90s\n"
    "  - match: \"GET /short/{id}\"\n"
    "    ttl: 1s\n"
    "  - match: \"GET /private/{id}\"\n"
    "    ttl: 60s\n"
    "    cache_authorized: true\n"
    "  - match: \"GET /things/{id}\"\n"
    "    ttl: 60s\n"
    "  - match: \"PUT /api/users/{id}\"\n"
    "    invalidate: [\"GET /api/users/{id}\"]\n"
    "  - match: \"POST /api/posts/\"\n"
    "    invalidate: [\"GET /api/posts/*\"]\n";

class ProxyCacheTest : public ::testing::Test {
 protected:
  Harness h{HarnessOptions{.rules = kRules}};
};

TEST_F(ProxyCacheTest, MissThenHitWithoutSecondUpstreamRequest) {
  auto first = h.get("/api/users/1");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.header("X-Cache"), "MISS");
  EXPECT_EQ(first.header("Cache-Status"), "cachecar; fwd=miss; stored");

  auto second = h.get("/api/users/1");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.header("X-Cache"), "HIT");
  EXPECT_EQ(second.header("Cache-Status"), "cachecar; hit");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.header("Content-Type"), "application/json");
  EXPECT_EQ(second.header("Age"), "0");
  EXPECT_EQ(h.upstream.requests("/api/users/1"), 1u);
  EXPECT_TRUE(h.redis_has("GET:/api/users/1"));
}

TEST_F(ProxyCacheTest, AgeCountsFromTheUpstreamAge) {
  h.upstream.on("/api/users/2",
                StubReply{.headers = {{"Content-Type", "text/plain"}, {"Age", "30"}}, .body = "x"});
  EXPECT_EQ(h.get("/api/users/2").header("X-Cache"), "MISS");
  auto hit = h.get("/api/users/2");
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  const int age = std::stoi(hit.header("Age"));
  EXPECT_GE(age, 30);
  EXPECT_LT(age, 60);
}

TEST_F(ProxyCacheTest, BypassSkipsTheCacheAndRefreshesTheEntry) {
  // Read on the stub's thread.
  auto version = std::make_shared<std::atomic<int>>(1);
  h.upstream.on("/api/users/3", [version](const SeenRequest&, std::size_t) {
    return StubReply{.body = "{\"version\": " + std::to_string(version->load()) + "}"};
  });
  EXPECT_EQ(h.get("/api/users/3").body, "{\"version\": 1}");
  EXPECT_EQ(h.get("/api/users/3").header("X-Cache"), "HIT");

  version->store(2);
  auto bypass = h.get("/api/users/3?nocache=true");
  EXPECT_EQ(bypass.header("X-Cache"), "BYPASS");
  EXPECT_EQ(bypass.header("Cache-Status"), "cachecar; fwd=bypass; stored");
  EXPECT_EQ(bypass.body, "{\"version\": 2}");
  EXPECT_EQ(h.upstream.last().target, "/api/users/3");  // bypass param removed

  auto refreshed = h.get("/api/users/3");
  EXPECT_EQ(refreshed.header("X-Cache"), "HIT");
  EXPECT_EQ(refreshed.body, "{\"version\": 2}");
  EXPECT_EQ(h.upstream.requests("/api/users/3"), 2u);
}

struct UnstorableCase {
  std::string name;
  StubReply reply;
  std::string detail;
};

class UnstorableResponseTest : public ProxyCacheTest,
                               public ::testing::WithParamInterface<UnstorableCase> {};

TEST_P(UnstorableResponseTest, IsForwardedButNotStored) {
  const auto& c = GetParam();
  h.upstream.on("/api/users/9", c.reply);
  auto first = h.get("/api/users/9");
  EXPECT_EQ(first.status, c.reply.status);
  EXPECT_EQ(first.header("X-Cache"), "MISS");
  EXPECT_EQ(first.header("Cache-Status"), "cachecar; fwd=uri-miss; detail=" + c.detail);
  auto second = h.get("/api/users/9");
  EXPECT_EQ(second.header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.requests("/api/users/9"), 2u);
  EXPECT_FALSE(h.redis_has("GET:/api/users/9"));
}

INSTANTIATE_TEST_SUITE_P(
    Responses, UnstorableResponseTest,
    ::testing::Values(
        UnstorableCase{"NotFound", StubReply{.status = 404, .body = "{}"}, "status"},
        UnstorableCase{"ServerError", StubReply{.status = 500, .body = "{}"}, "status"},
        UnstorableCase{"SetCookie",
                       StubReply{.headers = {{"Set-Cookie", "session=abc"}}, .body = "{}"},
                       "set-cookie"},
        UnstorableCase{"NoStore",
                       StubReply{.headers = {{"Cache-Control", "no-store"}}, .body = "{}"},
                       "no-store"},
        UnstorableCase{
            "Private",
            StubReply{.headers = {{"Cache-Control", "private, max-age=60"}}, .body = "{}"},
            "private"},
        UnstorableCase{"TooLarge", StubReply{.body = std::string(100 * 1024, 'x')}, "too-large"},
        UnstorableCase{"TooLargeChunked",
                       StubReply{.body = std::string(100 * 1024, 'y'), .chunked = true},
                       "too-large"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST_F(ProxyCacheTest, LargeBodiesStreamThroughIntact) {
  std::string big;
  for (int i = 0; i < 300'000; ++i) big += static_cast<char>('a' + i % 26);
  h.upstream.on("/api/users/big", StubReply{.body = big});
  auto response = h.get("/api/users/big");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, big);
  h.upstream.on("/api/users/bigchunked", StubReply{.body = big, .chunked = true});
  EXPECT_EQ(h.get("/api/users/bigchunked").body, big);
}

TEST_F(ProxyCacheTest, EntriesExpireAfterTheirTtl) {
  constexpr auto kTtl = 1s;  // the /short rule's
  const auto before_fill = std::chrono::steady_clock::now();
  EXPECT_EQ(h.get("/short/1").header("X-Cache"), "MISS");
  // The entry carries the rule's TTL, not the 60 s default (-2: already expired).
  const auto pttl = h.redis->command({"PTTL", Harness::redis_key("GET:/short/1")}).integer;
  EXPECT_LE(pttl, std::chrono::milliseconds(kTtl).count());
  const auto second = h.get("/short/1");
  // Stored after before_fill, so it cannot have expired yet if this lookup came within the TTL
  // of it; on a machine slow enough to take longer, a miss is right and nothing is asserted.
  if (std::chrono::steady_clock::now() - before_fill < kTtl) {
    EXPECT_GT(pttl, 0);
    EXPECT_EQ(second.header("X-Cache"), "HIT");
  }
  // Redis expires the entry in its own time.
  EXPECT_TRUE(wait_until([&] { return !h.redis_has("GET:/short/1"); }, 10s));
  EXPECT_EQ(h.get("/short/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.requests("/short/1"), second.header("X-Cache") == "HIT" ? 2u : 3u);
}

TEST_F(ProxyCacheTest, KeyQueryKeepsOnlySelectedParams) {
  EXPECT_EQ(h.get("/api/posts/?page=2&sort=new").header("X-Cache"), "MISS");
  EXPECT_TRUE(h.redis_has("GET:/api/posts/?page=2"));
  EXPECT_EQ(h.get("/api/posts/?sort=old&page=2").header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/api/posts/?page=3").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/posts/").header("X-Cache"), "MISS");
  EXPECT_TRUE(h.redis_has("GET:/api/posts/"));
  // The upstream still receives the full query.
  EXPECT_EQ(h.upstream.seen().front().target, "/api/posts/?page=2&sort=new");
}

TEST_F(ProxyCacheTest, AllQueryParamsEnterTheKeySortedWhenKeyQueryIsOmitted) {
  EXPECT_EQ(h.get("/api/users/5?b=2&a=1").header("X-Cache"), "MISS");
  EXPECT_TRUE(h.redis_has("GET:/api/users/5?a=1&b=2"));
  EXPECT_EQ(h.get("/api/users/5?a=1&b=2").header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/api/users/5?a=1&b=3").header("X-Cache"), "MISS");
}

TEST_F(ProxyCacheTest, RuleInvalidationDeletesTheEntryAndItsQueryVariantsBeforeResponding) {
  h.get("/api/users/7");
  h.get("/api/users/7?fields=name");
  h.get("/api/users/8");
  ASSERT_EQ(h.get("/api/users/7").header("X-Cache"), "HIT");
  ASSERT_EQ(h.get("/api/users/7?fields=name").header("X-Cache"), "HIT");

  auto put =
      h.request("PUT", "/api/users/7", {{"Content-Type", "application/json"}}, "{\"name\": \"x\"}");
  EXPECT_EQ(put.status, 200);
  EXPECT_EQ(put.header("X-Cache"), "PASS");
  EXPECT_EQ(h.upstream.last().body, "{\"name\": \"x\"}");
  // No waiting: the entries are gone by the time the write's response arrives.
  EXPECT_FALSE(h.redis_has("GET:/api/users/7"));
  EXPECT_FALSE(h.redis_has("GET:/api/users/7?fields=name"));
  EXPECT_EQ(h.get("/api/users/7").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/users/7?fields=name").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/users/8").header("X-Cache"), "HIT");
}

// Until *release is set, GETs of `path` get a "before" body and are held back at the upstream;
// after it, and for writes, the body is "after": a resource that a write changes while a read
// of it is in flight.
std::shared_ptr<std::atomic<bool>> answer_before_then_after(UpstreamStub& upstream,
                                                            const std::string& path) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  upstream.on(path, [release](const SeenRequest& request, std::size_t) {
    const bool early = request.method == "GET" && !release->load();
    StubReply reply;
    reply.body = early ? "{\"v\": \"before\"}" : "{\"v\": \"after\"}";
    if (early) reply.hold = release;
    return reply;
  });
  return release;
}

// The classic race: a miss asks the upstream, a write changes the resource and invalidates,
// then the miss's (older) response arrives. It may be served to its own client, but must not
// be kept: the next reader would get pre-write data for a whole TTL.
TEST_F(ProxyCacheTest, AResponseOvertakenByAWriteIsServedButNotKept) {
  const auto release = answer_before_then_after(h.upstream, "/api/users/9");
  HttpResponse slow;
  std::thread reader([&] { slow = h.get("/api/users/9"); });
  // The GET has reached the upstream, which holds its "before" answer back.
  ASSERT_TRUE(wait_until([&] { return h.upstream.requests("/api/users/9") == 1; }, 10s, 1ms));
  auto put = h.request("PUT", "/api/users/9", {}, "{}");
  EXPECT_EQ(put.status, 200);
  release->store(true);
  reader.join();
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.body, "{\"v\": \"before\"}");
  EXPECT_EQ(slow.header("Cache-Status"), "cachecar; fwd=miss; detail=overtaken-by-write");

  auto next = h.get("/api/users/9");
  EXPECT_EQ(next.header("X-Cache"), "MISS");
  EXPECT_EQ(next.body, "{\"v\": \"after\"}");
  EXPECT_EQ(h.get("/api/users/9").header("X-Cache"), "HIT");
}

// ?nocache refreshes the entry, so it is fenced like a fill: its token is read before the
// upstream is asked, and a write that overtakes it keeps its response out of the store.
TEST_F(ProxyCacheTest, ABypassRefreshOvertakenByAWriteIsNotKept) {
  const auto release = answer_before_then_after(h.upstream, "/api/users/11");
  HttpResponse slow;
  std::thread reader([&] { slow = h.get("/api/users/11?nocache=true"); });
  ASSERT_TRUE(wait_until([&] { return h.upstream.requests("/api/users/11") == 1; }, 10s, 1ms));
  EXPECT_EQ(h.request("PUT", "/api/users/11", {}, "{}").status, 200);
  release->store(true);
  reader.join();
  EXPECT_EQ(slow.body, "{\"v\": \"before\"}");
  EXPECT_EQ(slow.header("Cache-Status"), "cachecar; fwd=bypass; detail=overtaken-by-write");
  auto next = h.get("/api/users/11");
  EXPECT_EQ(next.header("X-Cache"), "MISS");
  EXPECT_EQ(next.body, "{\"v\": \"after\"}");
}

// A reader that arrives after the write has completed must not be handed the overtaken
// response by request coalescing: it joins the in-flight miss, but goes upstream itself.
TEST_F(ProxyCacheTest, ReadersCoalescedOntoAnOvertakenMissFetchForThemselves) {
  const auto release = answer_before_then_after(h.upstream, "/api/users/10");
  HttpResponse first;
  std::thread leader([&] { first = h.get("/api/users/10"); });
  ASSERT_TRUE(wait_until([&] { return h.upstream.requests("/api/users/10") == 1; }, 10s, 1ms));
  EXPECT_EQ(h.request("PUT", "/api/users/10", {}, "{}").status, 200);

  HttpResponse second;
  std::thread follower([&] { second = h.get("/api/users/10"); });
  // One worker thread: once its lookup is counted, the follower is waiting on the leader.
  ASSERT_TRUE(wait_until([&] { return h.lookups("GET:/api/users/10") == 2; }, 10s, 1ms));
  release->store(true);
  leader.join();
  follower.join();
  EXPECT_EQ(first.body, "{\"v\": \"before\"}");
  EXPECT_EQ(second.body, "{\"v\": \"after\"}");
  EXPECT_EQ(second.header("Cache-Status"), "cachecar; fwd=miss; stored");
}

TEST_F(ProxyCacheTest, WildcardInvalidationDeletesEveryKeyUnderThePrefix) {
  h.get("/api/posts/?page=1");
  h.get("/api/posts/?page=2");
  h.get("/api/posts/42");
  h.get("/api/users/1");
  ASSERT_TRUE(h.redis_has("GET:/api/posts/42"));
  EXPECT_EQ(h.request("POST", "/api/posts/", {}, "{}").status, 200);
  EXPECT_FALSE(h.redis_has("GET:/api/posts/?page=1"));
  EXPECT_FALSE(h.redis_has("GET:/api/posts/?page=2"));
  EXPECT_FALSE(h.redis_has("GET:/api/posts/42"));
  EXPECT_TRUE(h.redis_has("GET:/api/users/1"));
}

TEST_F(ProxyCacheTest, WritesInvalidateTheirOwnPathWithoutARule) {
  h.get("/things/5");
  h.get("/things/5?view=full");
  ASSERT_TRUE(h.redis_has("GET:/things/5?view=full"));
  EXPECT_EQ(h.request("DELETE", "/things/5").status, 200);
  EXPECT_FALSE(h.redis_has("GET:/things/5"));
  EXPECT_FALSE(h.redis_has("GET:/things/5?view=full"));
}

TEST_F(ProxyCacheTest, WritesInvalidateTheirLocationOnTheSameHost) {
  h.get("/things/6");
  h.get("/things/7");
  ASSERT_TRUE(h.redis_has("GET:/things/7"));
  h.upstream.on("/things/",
                StubReply{.status = 201,
                          .headers = {{"Location", "/things/6"},
                                      {"Content-Location", "http://test.local/things/7"}},
                          .body = "{}"});
  EXPECT_EQ(h.request("POST", "/things/", {}, "{}").status, 201);
  EXPECT_FALSE(h.redis_has("GET:/things/6"));
  EXPECT_FALSE(h.redis_has("GET:/things/7"));
}

TEST_F(ProxyCacheTest, FailedWritesInvalidateNothing) {
  h.get("/api/users/11");
  h.upstream.on("/api/users/11", StubReply{.status = 409, .body = "{}"});
  EXPECT_EQ(h.request("PUT", "/api/users/11", {}, "{}").status, 409);
  EXPECT_TRUE(h.redis_has("GET:/api/users/11"));
}

TEST_F(ProxyCacheTest, HeadIsAnsweredFromTheGetEntry) {
  auto get = h.get("/api/users/12");
  auto head = h.request("HEAD", "/api/users/12");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("X-Cache"), "HIT");
  EXPECT_EQ(head.header("Content-Length"), std::to_string(get.body.size()));
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(h.upstream.requests("/api/users/12"), 1u);
}

TEST_F(ProxyCacheTest, AHeadMissFillsTheCacheForLaterGets) {
  auto head = h.request("HEAD", "/api/users/13");
  EXPECT_EQ(head.header("X-Cache"), "MISS");
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(h.upstream.last().method, "GET");
  EXPECT_EQ(h.get("/api/users/13").header("X-Cache"), "HIT");
}

TEST_F(ProxyCacheTest, AuthorizedRequestsAreNotCachedUnlessTheRuleAllowsIt) {
  const Headers auth{{"Authorization", "Bearer secret"}};
  auto first = h.get("/api/users/14", auth);
  EXPECT_EQ(first.header("X-Cache"), "PASS");
  EXPECT_EQ(first.header("Cache-Status"), "cachecar; fwd=request; detail=authorization");
  EXPECT_EQ(h.get("/api/users/14", auth).header("X-Cache"), "PASS");
  EXPECT_FALSE(h.redis_has("GET:/api/users/14"));
  EXPECT_EQ(h.upstream.requests("/api/users/14"), 2u);

  EXPECT_EQ(h.get("/private/1", auth).header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/private/1", auth).header("X-Cache"), "HIT");
}

TEST_F(ProxyCacheTest, UnmatchedRequestsPassThrough) {
  auto response = h.get("/not/cached");
  EXPECT_EQ(response.header("X-Cache"), "PASS");
  EXPECT_EQ(response.header("Cache-Status"), "cachecar; fwd=uri-miss; detail=no-rule");
  h.get("/not/cached");
  EXPECT_EQ(h.upstream.requests("/not/cached"), 2u);
}

TEST(ProxyMemoryStoreTest, CachesAndInvalidatesWithoutRedis) {
  Harness h{HarnessOptions{.rules = kRules, .memory_store = true}};
  EXPECT_EQ(h.get("/api/users/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/users/1").header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/api/users/1?x=1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.request("PUT", "/api/users/1", {}, "{}").status, 200);
  EXPECT_EQ(h.get("/api/users/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/users/1?x=1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.requests("/api/users/1"), 5u);  // 4 GET misses and the PUT
}

}  // namespace
}  // namespace cachecar::test
