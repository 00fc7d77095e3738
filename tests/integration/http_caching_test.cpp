// HTTP caching semantics through a real cachecar (RFC 9111, RFC 9213): freshness, Age,
// response directives, storable statuses, Vary, client conditionals and request directives,
// invalidation, ranges, interim responses and Set-Cookie. Revalidation and stale serving are
// in http_caching_stale_test.cpp.
#include "integration/http_caching.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;
using namespace http_caching;

class HttpCachingTest : public ::testing::Test {
 protected:
  Harness h{options()};

  // Two GETs of `target`: whether the second one was a fresh hit, without a second upstream
  // request.
  bool second_is_hit(const std::string& target, const Headers& headers = {}) {
    const auto before = h.upstream.total_requests();
    const auto first = h.get(target, headers);
    EXPECT_NE(first.status, 0);
    const auto second = h.get(target, headers);
    return second.header("X-Cache") == "HIT" && h.upstream.total_requests() == before + 1;
  }
};

// --- 1. Freshness lifetime (RFC 9111 §4.2.1, RFC 9213) ---

TEST_F(HttpCachingTest, MaxAgeFromTheUpstreamIsTheLifetime) {
  h.upstream.on("/up/a", reply({{"Cache-Control", "max-age=1"}}));
  const auto start = std::chrono::steady_clock::now();
  const auto miss = h.get("/up/a");
  EXPECT_EQ(miss.header("X-Cache"), "MISS");
  EXPECT_EQ(miss.header("Cache-Status"), "cachecar; fwd=miss; stored");
  const auto hit = h.get("/up/a");
  if (std::chrono::steady_clock::now() - start < 1s) {  // else it may rightly have expired
    EXPECT_EQ(hit.header("X-Cache"), "HIT");
    EXPECT_EQ(hit.header("Cache-Status"), "cachecar; hit");
  }
  // Not the rule's default 60 s: once a second has passed, the upstream is asked again.
  const auto after = get_until_not_hit(h, "/up/a");
  EXPECT_EQ(after.status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(h.upstream.requests("/up/a"), 2u);
}

TEST_F(HttpCachingTest, SMaxAgeBeatsMaxAge) {
  h.upstream.on("/up/shared-longer", reply({{"Cache-Control", "max-age=0, s-maxage=60"}}));
  EXPECT_TRUE(second_is_hit("/up/shared-longer"));
  h.upstream.on("/up/shared-shorter", reply({{"Cache-Control", "max-age=60, s-maxage=0"}}));
  EXPECT_FALSE(second_is_hit("/up/shared-shorter"));
}

TEST_F(HttpCachingTest, ExpiresMinusDateInAnyHttpDateFormat) {
  for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", kRfc850, kAsctime}) {
    const std::string path = "/up/expires-" + std::to_string(h.upstream.total_requests());
    h.upstream.on(path, reply({{"Date", http_date()}, {"Expires", http_date(60s, format)}}));
    EXPECT_TRUE(second_is_hit(path)) << http_date(60s, format);
  }
  h.upstream.on("/up/expired", reply({{"Date", http_date()}, {"Expires", http_date(-60s)}}));
  EXPECT_FALSE(second_is_hit("/up/expired"));
  h.upstream.on("/up/expires-invalid", reply({{"Date", http_date()}, {"Expires", "0"}}));
  EXPECT_FALSE(second_is_hit("/up/expires-invalid"));
  // Cache-Control wins over Expires.
  h.upstream.on("/up/max-age-over-expires",
                reply({{"Cache-Control", "max-age=60"}, {"Expires", http_date(-60s)}}));
  EXPECT_TRUE(second_is_hit("/up/max-age-over-expires"));
}

TEST_F(HttpCachingTest, DirectiveParsingCornerCases) {
  h.upstream.on("/up/upper", reply({{"Cache-Control", "MAX-AGE=60"}}));
  EXPECT_TRUE(second_is_hit("/up/upper"));
  h.upstream.on("/up/huge", reply({{"Cache-Control", "max-age=99999999999999999999"}}));
  EXPECT_TRUE(second_is_hit("/up/huge"));
  // Two Cache-Control lines are one list; no-store is the most restrictive.
  h.upstream.on("/up/two-lines",
                reply({{"Cache-Control", "max-age=60"}, {"Cache-Control", "no-store"}}));
  EXPECT_FALSE(second_is_hit("/up/two-lines"));
  EXPECT_FALSE(h.redis_has("GET:/up/two-lines"));
}

class InvalidMaxAgeTest : public HttpCachingTest,
                          public ::testing::WithParamInterface<std::string> {};

// A max-age that is not a non-negative integer makes the response stale (§4.2.1, §1.2.2): with a
// validator it is kept (cache.keep) and revalidated on every reuse, without one it is forwarded.
TEST_P(InvalidMaxAgeTest, MakesTheResponseStale) {
  const std::string cache_control = "max-age=" + GetParam();
  h.upstream.on("/up/with-etag", etag_origin("\"v1\"", cache_control));
  EXPECT_EQ(h.get("/up/with-etag").header("X-Cache"), "MISS");
  EXPECT_TRUE(h.redis_has("GET:/up/with-etag"));
  const auto second = h.get("/up/with-etag");
  EXPECT_EQ(h.upstream.requests("/up/with-etag"), 2u);
  EXPECT_EQ(h.upstream.last().header("If-None-Match"), "\"v1\"");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "body");
  EXPECT_EQ(second.header("X-Cache"), "REVALIDATED");

  h.upstream.on("/up/without", reply({{"Cache-Control", cache_control}}));
  h.get("/up/without");
  EXPECT_NE(h.get("/up/without").header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/up/without"), 2u);
}

INSTANTIATE_TEST_SUITE_P(Values, InvalidMaxAgeTest, ::testing::Values("\"5\"", "-1", "5s"),
                         [](const auto& param_info) {
                           return "case" + std::to_string(param_info.index);
                         });

TEST_F(HttpCachingTest, CdnCacheControlReplacesCacheControl) {
  h.upstream.on("/up/cdn",
                reply({{"CDN-Cache-Control", "max-age=60"}, {"Cache-Control", "no-store"}}));
  const auto miss = h.get("/up/cdn");
  EXPECT_EQ(miss.header("Cache-Status"), "cachecar; fwd=miss; stored");
  EXPECT_EQ(miss.header("CDN-Cache-Control"), "max-age=60");  // still passed on
  const auto hit = h.get("/up/cdn");
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(hit.header("Cache-Control"), "no-store");
  EXPECT_EQ(h.upstream.requests("/up/cdn"), 1u);

  h.upstream.on("/up/cdn-no-store",
                reply({{"CDN-Cache-Control", "no-store"}, {"Cache-Control", "max-age=60"}}));
  EXPECT_FALSE(second_is_hit("/up/cdn-no-store"));
}

TEST_F(HttpCachingTest, RuleModeKeepsTheRuleTtlWhateverTheResponseSays) {
  h.upstream.on("/rule/a", reply({{"Cache-Control", "max-age=1"}}));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(h.get("/rule/a").header("X-Cache"), "MISS");
  wait_for_age(start, 2100ms);
  const auto hit = h.get("/rule/a");
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_GE(std::stoi(hit.header("Age")), 2);
  EXPECT_EQ(h.upstream.requests("/rule/a"), 1u);
}

// --- 2. Age (§4.2.3) ---

TEST_F(HttpCachingTest, AgeOnAHitCountsTheUpstreamAge) {
  h.upstream.on("/up/aged", reply({{"Cache-Control", "max-age=60"}, {"Age", "30"}}));
  h.get("/up/aged");
  const auto hit = h.get("/up/aged");
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_GE(std::stoi(hit.header("Age")), 30);
  EXPECT_LT(std::stoi(hit.header("Age")), 60);
}

TEST_F(HttpCachingTest, AResponseOlderThanItsLifetimeIsStaleOnArrival) {
  h.upstream.on("/up/old", reply({{"Cache-Control", "max-age=60"}, {"Age", "100"}}));
  EXPECT_FALSE(second_is_hit("/up/old"));
  // The response delay counts too: held back longer than its max-age.
  auto slow = reply({{"Cache-Control", "max-age=1"}});
  slow.delay = 1500ms;
  h.upstream.on("/up/slow", slow);
  EXPECT_FALSE(second_is_hit("/up/slow"));
}

// --- 3. Response directives ---

TEST_F(HttpCachingTest, NoStoreAndPrivateAreNotStored) {
  for (const std::string directive : {"no-store", "private"}) {
    const std::string path = "/up/" + directive;
    h.upstream.on(path, reply({{"Cache-Control", directive + ", max-age=60"}}));
    EXPECT_EQ(h.get(path).header("Cache-Status"), "cachecar; fwd=uri-miss; detail=" + directive);
    EXPECT_NE(h.get(path).header("X-Cache"), "HIT");
    EXPECT_EQ(h.upstream.requests(path), 2u);
    EXPECT_FALSE(h.redis_has("GET:" + path));
  }
}

class RevalidateEveryTimeTest : public HttpCachingTest,
                                public ::testing::WithParamInterface<std::string> {};

TEST_P(RevalidateEveryTimeTest, IsStoredAndRevalidatedBeforeEveryReuse) {
  h.upstream.on("/up/nc", etag_origin("W/\"e1\"", GetParam(), "stored body"));
  EXPECT_EQ(h.get("/up/nc").header("Cache-Status"), "cachecar; fwd=miss; stored");
  EXPECT_TRUE(h.redis_has("GET:/up/nc"));
  for (std::size_t i = 2; i <= 3; ++i) {
    const auto reused = h.get("/up/nc");
    EXPECT_EQ(h.upstream.requests("/up/nc"), i);
    EXPECT_EQ(h.upstream.last().header("If-None-Match"), "W/\"e1\"");
    EXPECT_EQ(reused.status, 200);
    EXPECT_EQ(reused.body, "stored body");
    EXPECT_EQ(reused.header("X-Cache"), "REVALIDATED");
    EXPECT_EQ(reused.header("Cache-Status"), "cachecar; fwd=stale; fwd-status=304");
  }
}

INSTANTIATE_TEST_SUITE_P(Directives, RevalidateEveryTimeTest,
                         ::testing::Values("no-cache", "max-age=0"), [](const auto& param_info) {
                           return param_info.index == 0 ? "NoCache" : "MaxAge0";
                         });

class MustRevalidateTest : public HttpCachingTest,
                           public ::testing::WithParamInterface<std::string> {};

// Once stale, never served without revalidation, not even inside stale-if-error (§5.2.2.2).
TEST_P(MustRevalidateTest, AStaleCopyIsNotServedWhenTheUpstreamIsDown) {
  h.upstream.on("/up/mr", etag_origin("\"m\"", GetParam() + ", stale-if-error=600"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(h.get("/up/mr").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/up/mr").header("X-Cache"), "HIT");
  wait_for_age(start, 1200ms);
  h.upstream.stop();
  const auto down = h.get("/up/mr");
  EXPECT_EQ(down.status, 504);
  EXPECT_NE(down.body, "body");
}

INSTANTIATE_TEST_SUITE_P(Directives, MustRevalidateTest,
                         ::testing::Values("max-age=1, must-revalidate",
                                           "max-age=1, proxy-revalidate", "s-maxage=1"),
                         [](const auto& param_info) {
                           return "case" + std::to_string(param_info.index);
                         });

TEST_F(HttpCachingTest, AuthorizationRequestsShareOnlyPublicResponses) {
  h.upstream.on("/up/pub", reply({{"Cache-Control", "public, max-age=60"}}));
  EXPECT_EQ(h.get("/up/pub", {{"Authorization", "Bearer a"}}).header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/up/pub", {{"Authorization", "Bearer b"}}).header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/up/pub"), 1u);

  // Stored for a request without Authorization, but not public: not for those that have it.
  h.upstream.on("/up/nonpub", reply({{"Cache-Control", "max-age=60"}}));
  EXPECT_EQ(h.get("/up/nonpub").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/up/nonpub").header("X-Cache"), "HIT");
  EXPECT_NE(h.get("/up/nonpub", {{"Authorization", "Bearer a"}}).header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/up/nonpub"), 2u);
  // Nor stored from an Authorization request.
  h.upstream.on("/up/nonpub2", reply({{"Cache-Control", "max-age=60"}}));
  h.get("/up/nonpub2", {{"Authorization", "Bearer a"}});
  EXPECT_EQ(h.get("/up/nonpub2").header("X-Cache"), "MISS");
}

// --- 4. Storable status codes (§3) ---

TEST_F(HttpCachingTest, FinalStatusesWithExplicitFreshnessAreStored) {
  for (int status : {404, 302, 307, 410}) {
    const std::string path = "/up/status-" + std::to_string(status);
    h.upstream.on(
        path, StubReply{.status = status,
                        .headers = {{"Cache-Control", "max-age=60"}, {"Location", "/elsewhere"}},
                        .body = "s"});
    EXPECT_EQ(h.get(path).status, status);
    const auto hit = h.get(path);
    EXPECT_EQ(hit.status, status);
    EXPECT_EQ(hit.header("X-Cache"), "HIT") << status;
    EXPECT_EQ(h.upstream.requests(path), 1u) << status;
  }
}

TEST_F(HttpCachingTest, WithoutFreshnessOnlyHeuristicallyCacheableStatusesUseTheTtl) {
  h.upstream.on("/up/404", StubReply{.status = 404, .body = "nf"});  // no ttl: not stored
  EXPECT_EQ(h.get("/up/404").header("Cache-Status").rfind("cachecar; fwd=uri-miss; detail=", 0),
            0u);
  EXPECT_NE(h.get("/up/404").header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/up/404"), 2u);

  h.upstream.on("/upttl/404", StubReply{.status = 404, .body = "nf"});
  EXPECT_TRUE(second_is_hit("/upttl/404"));
  h.upstream.on("/upttl/302", StubReply{.status = 302, .headers = {{"Location", "/x"}}});
  EXPECT_FALSE(second_is_hit("/upttl/302"));
  h.upstream.on("/upttl/500", StubReply{.status = 500, .body = "e"});
  EXPECT_FALSE(second_is_hit("/upttl/500"));
}

TEST_F(HttpCachingTest, PartialResponsesAreNeverStored) {
  h.upstream.on("/up/partial", StubReply{.status = 206,
                                         .headers = {{"Cache-Control", "max-age=60"},
                                                     {"Content-Range", "bytes 0-3/10"}},
                                         .body = "0123"});
  EXPECT_EQ(h.get("/up/partial").status, 206);
  EXPECT_NE(h.get("/up/partial").header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/up/partial"), 2u);
}

TEST_F(HttpCachingTest, HeuristicFreshnessFromLastModified) {
  // 10 % of 10 days = a day.
  h.upstream.on("/heur/a", reply({{"Date", http_date()}, {"Last-Modified", http_date(-864000s)}}));
  EXPECT_TRUE(second_is_hit("/heur/a"));
  h.upstream.on("/heur/none", reply({}));  // no Last-Modified, no ttl: not stored
  EXPECT_FALSE(second_is_hit("/heur/none"));
}

// --- 5. Vary (§4.1) ---

// A body that names the Origin it was made for.
UpstreamStub::Handler origin_echo(std::string vary) {
  return [vary](const SeenRequest& request, std::size_t) {
    return reply({{"Cache-Control", "max-age=60"}, {"Vary", vary}},
                 "for " + request.header("Origin"));
  };
}

void expect_varies_on_origin(Harness& h) {
  h.upstream.on("/vary/o", origin_echo("Origin, Accept-Encoding"));
  const Headers a{{"Origin", "https://a.example"}, {"Accept-Encoding", "gzip"}};
  const Headers b{{"Origin", "https://b.example"}, {"Accept-Encoding", "gzip"}};
  EXPECT_EQ(h.get("/vary/o", a).header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/vary/o", b).header("X-Cache"), "MISS");
  const auto hit_a = h.get("/vary/o", a);
  const auto hit_b = h.get("/vary/o", b);
  EXPECT_EQ(hit_a.header("X-Cache"), "HIT");
  EXPECT_EQ(hit_a.body, "for https://a.example");
  EXPECT_EQ(hit_b.header("X-Cache"), "HIT");
  EXPECT_EQ(hit_b.body, "for https://b.example");
  EXPECT_EQ(h.upstream.requests("/vary/o"), 2u);
}

TEST_F(HttpCachingTest, VaryOriginAndAcceptEncodingCachesPerOrigin) {
  expect_varies_on_origin(h);
}

TEST(HttpCachingMemoryTest, VaryOriginAndAcceptEncodingCachesPerOrigin) {
  Harness h{options(true)};
  expect_varies_on_origin(h);
}

TEST_F(HttpCachingTest, VaryFieldLinesAreCombinedAndARequestWithoutTheFieldMatchesItsVariant) {
  h.upstream.on("/vary/lines", [](const SeenRequest& request, std::size_t) {
    auto r = reply({{"Cache-Control", "max-age=60"}, {"Vary", "Origin"}, {"Vary", "X-Tenant"}},
                   request.header("Origin") + "/" + request.header("X-Tenant"));
    return r;
  });
  EXPECT_EQ(h.get("/vary/lines").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/vary/lines").body, "/");
  EXPECT_EQ(h.get("/vary/lines").header("X-Cache"), "HIT");
  const auto tenant = h.get("/vary/lines", {{"X-Tenant", "t1"}});
  EXPECT_EQ(tenant.header("X-Cache"), "MISS");  // the second line counts too
  EXPECT_EQ(tenant.body, "/t1");
  EXPECT_EQ(h.get("/vary/lines", {{"X-Tenant", " t1 "}}).header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/vary/lines", {{"Origin", "https://a.example"}}).header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.requests("/vary/lines"), 3u);
}

TEST_F(HttpCachingTest, VaryStarIsNeverStored) {
  h.upstream.on("/vary/star", reply({{"Cache-Control", "max-age=60"}, {"Vary", "*"}}));
  EXPECT_EQ(h.get("/vary/star").header("Cache-Status"), "cachecar; fwd=uri-miss; detail=vary");
  EXPECT_NE(h.get("/vary/star").header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/vary/star"), 2u);
}

TEST_F(HttpCachingTest, AtMostMaxVariantsAreKeptTheLeastRecentlyStoredGoesFirst) {
  h.upstream.on("/vary/spray", origin_echo("Origin"));
  const auto origin = [](int i) { return Headers{{"Origin", "https://o" + std::to_string(i)}}; };
  for (int i = 0; i < 10; ++i) EXPECT_EQ(h.get("/vary/spray", origin(i)).header("X-Cache"), "MISS");
  for (int i = 7; i < 10; ++i) {  // hits first: a hit does not reorder
    EXPECT_EQ(h.get("/vary/spray", origin(i)).header("X-Cache"), "HIT") << i;
  }
  EXPECT_EQ(h.get("/vary/spray", origin(0)).header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.requests("/vary/spray"), 11u);
  // Redis holds no more than the kept variants (and the variant index) for the key.
  const auto keys = h.redis->command({"KEYS", "cachecar:GET:/vary/spray*"});
  EXPECT_LE(keys.elements.size(), 4u);
}

TEST_F(HttpCachingTest, EveryVariantIsInvalidatedWithItsKey) {
  h.upstream.on("/vary/inv", origin_echo("Origin"));
  const Headers a{{"Origin", "https://a"}}, b{{"Origin", "https://b"}};
  const auto fill_both = [&] {
    h.get("/vary/inv", a);
    h.get("/vary/inv", b);
    ASSERT_EQ(h.get("/vary/inv", a).header("X-Cache"), "HIT");
    ASSERT_EQ(h.get("/vary/inv", b).header("X-Cache"), "HIT");
  };
  fill_both();
  EXPECT_EQ(h.request("DELETE", "/vary/inv").status, 200);
  EXPECT_EQ(h.get("/vary/inv", a).header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/vary/inv", b).header("X-Cache"), "MISS");

  fill_both();
  EXPECT_EQ(h.admin("DELETE", "/invalidate/GET:/vary/inv").status, 200);
  EXPECT_EQ(h.get("/vary/inv", a).header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/vary/inv", b).header("X-Cache"), "MISS");
}

TEST_F(HttpCachingTest, AnIdentityBodyVaryingOnAcceptEncodingIsOneEntry) {
  h.upstream.on("/up/ae", reply({{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Encoding"}}));
  EXPECT_EQ(h.get("/up/ae", {{"Accept-Encoding", "gzip"}}).header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/up/ae", {{"Accept-Encoding", "br"}}).header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/up/ae").header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/up/ae"), 1u);
}

TEST_F(HttpCachingTest, AnEncodedBodyVariesOnNormalisedAcceptEncoding) {
  h.upstream.on("/up/gz", reply({{"Cache-Control", "max-age=60"},
                                 {"Vary", "Accept-Encoding"},
                                 {"Content-Encoding", "gzip"}}));
  EXPECT_EQ(h.get("/up/gz", {{"Accept-Encoding", "gzip, br"}}).header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/up/gz", {{"Accept-Encoding", "br,GZIP"}}).header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/up/gz", {{"Accept-Encoding", "identity"}}).header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.requests("/up/gz"), 2u);
}

// --- 6. Conditional requests from clients (RFC 9110 §13) ---

class ClientConditionalTest : public HttpCachingTest {
 protected:
  const std::string last_modified = http_date(-3600s);
  void SetUp() override {
    h.upstream.on("/rule/c", reply({{"ETag", "\"x\""},
                                    {"Last-Modified", last_modified},
                                    {"Cache-Control", "max-age=60"}},
                                   "full body"));
    ASSERT_EQ(h.get("/rule/c").header("X-Cache"), "MISS");
  }
};

TEST_F(ClientConditionalTest, IfNoneMatchWeaklyMatchingIsA304FromTheCache) {
  const auto hits_before = h.app->metrics().snapshot().hits;
  for (const std::string tag : {"W/\"x\"", "\"x\"", "\"y\", W/\"x\"", "*"}) {
    const auto response = h.get("/rule/c", {{"If-None-Match", tag}});
    EXPECT_EQ(response.status, 304) << tag;
    EXPECT_TRUE(response.body.empty());
    EXPECT_EQ(response.header("ETag"), "\"x\"");
    EXPECT_EQ(response.header("Last-Modified"), last_modified);
    EXPECT_EQ(response.header("Cache-Control"), "max-age=60");
    EXPECT_TRUE(response.has_header("Age"));
    EXPECT_EQ(response.header("X-Cache"), "HIT");
    EXPECT_EQ(response.header("Cache-Status"), "cachecar; hit");
  }
  EXPECT_EQ(h.upstream.requests("/rule/c"), 1u);
  // Each counted as a hit; a request is counted just after its answer is written.
  EXPECT_TRUE(wait_until([&] { return h.app->metrics().snapshot().hits == hits_before + 4; }, 10s))
      << h.app->metrics().snapshot().hits - hits_before << " hits counted";
}

TEST_F(ClientConditionalTest, IfModifiedSinceAtOrAfterLastModifiedIsA304) {
  EXPECT_EQ(h.get("/rule/c", {{"If-Modified-Since", last_modified}}).status, 304);
  EXPECT_EQ(h.get("/rule/c", {{"If-Modified-Since", http_date(-60s)}}).status, 304);
  const auto older = h.get("/rule/c", {{"If-Modified-Since", http_date(-7200s)}});
  EXPECT_EQ(older.status, 200);
  EXPECT_EQ(older.body, "full body");
  EXPECT_EQ(h.upstream.requests("/rule/c"), 1u);
}

TEST_F(ClientConditionalTest, ANonMatchingIfNoneMatchGetsTheBodyAndTakesPrecedence) {
  const auto other = h.get("/rule/c", {{"If-None-Match", "\"other\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, "full body");
  EXPECT_EQ(other.header("X-Cache"), "HIT");
  // If-Modified-Since alone would say 304; If-None-Match decides.
  const auto both =
      h.get("/rule/c", {{"If-None-Match", "\"other\""}, {"If-Modified-Since", last_modified}});
  EXPECT_EQ(both.status, 200);
  EXPECT_EQ(h.upstream.requests("/rule/c"), 1u);
}

// --- 9. Client request directives (§5.2.1) ---

TEST_F(HttpCachingTest, HonouredClientDirectivesReachTheUpstream) {
  h.upstream.on("/honor/a", reply({{"Cache-Control", "max-age=60"}}));
  EXPECT_EQ(h.get("/honor/a").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/honor/a").header("X-Cache"), "HIT");
  std::size_t expected = 1;
  for (const Headers& directive :
       {Headers{{"Cache-Control", "no-cache"}}, Headers{{"Cache-Control", "max-age=0"}},
        Headers{{"Pragma", "no-cache"}}, Headers{{"Cache-Control", "min-fresh=120"}}}) {
    const auto response = h.get("/honor/a", directive);
    EXPECT_EQ(response.status, 200);
    EXPECT_NE(response.header("X-Cache"), "HIT")
        << directive[0].first << ": " << directive[0].second;
    EXPECT_EQ(h.upstream.requests("/honor/a"), ++expected);
  }
  // Pragma counts only without Cache-Control (§5.4).
  EXPECT_EQ(h.get("/honor/a", {{"Cache-Control", "max-age=600"}, {"Pragma", "no-cache"}})
                .header("X-Cache"),
            "HIT");
  EXPECT_EQ(h.upstream.requests("/honor/a"), expected);
}

TEST_F(HttpCachingTest, AClientNoStoreIsNotStoredWhenHonoured) {
  h.upstream.on("/honor/ns", reply({{"Cache-Control", "max-age=60"}}));
  EXPECT_EQ(h.get("/honor/ns", {{"Cache-Control", "no-store"}}).status, 200);
  EXPECT_EQ(h.get("/honor/ns").header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.requests("/honor/ns"), 2u);
}

TEST_F(HttpCachingTest, ClientDirectivesAreIgnoredByDefault) {
  h.upstream.on("/up/ign", reply({{"Cache-Control", "max-age=60"}}));
  h.get("/up/ign");
  EXPECT_EQ(h.get("/up/ign", {{"Cache-Control", "no-cache"}}).header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/up/ign", {{"Pragma", "no-cache"}}).header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/up/ign"), 1u);
}

TEST_F(HttpCachingTest, OnlyIfCachedIsAlwaysHonoured) {
  h.upstream.on("/up/oic", reply({{"Cache-Control", "max-age=60"}}));
  const Headers only{{"Cache-Control", "only-if-cached"}};
  EXPECT_EQ(h.get("/up/oic", only).status, 504);
  EXPECT_EQ(h.upstream.requests("/up/oic"), 0u);
  h.get("/up/oic");
  const auto hit = h.get("/up/oic", only);
  EXPECT_EQ(hit.status, 200);
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/up/oic"), 1u);
}

// --- 10. Invalidation (§4.4, §4.3.5) ---

TEST_F(HttpCachingTest, AnyUnsafeMethodInvalidates) {
  h.upstream.on("/up/purge", reply({{"Cache-Control", "max-age=60"}}));
  h.get("/up/purge");
  ASSERT_EQ(h.get("/up/purge").header("X-Cache"), "HIT");
  EXPECT_EQ(h.request("PURGE", "/up/purge").status, 200);
  EXPECT_FALSE(h.redis_has("GET:/up/purge"));
  EXPECT_EQ(h.get("/up/purge").header("X-Cache"), "MISS");
}

// --- 11. Ranges ---

class RangeTest : public HttpCachingTest {
 protected:
  void SetUp() override {
    h.upstream.on("/rule/r", reply({{"ETag", "\"r\""}}, "0123456789"));
    ASSERT_EQ(h.get("/rule/r").header("X-Cache"), "MISS");
  }
};

TEST_F(RangeTest, ASingleRangeIsAnsweredFromTheStoredEntry) {
  const auto first = h.get("/rule/r", {{"Range", "bytes=0-3"}});
  EXPECT_EQ(first.status, 206);
  EXPECT_EQ(first.header("Content-Range"), "bytes 0-3/10");
  EXPECT_EQ(first.body, "0123");
  EXPECT_EQ(first.header("X-Cache"), "HIT");
  const auto suffix = h.get("/rule/r", {{"Range", "bytes=-3"}});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.header("Content-Range"), "bytes 7-9/10");
  EXPECT_EQ(suffix.body, "789");
  const auto matching = h.get("/rule/r", {{"Range", "bytes=2-"}, {"If-Range", "\"r\""}});
  EXPECT_EQ(matching.status, 206);
  EXPECT_EQ(matching.body, "23456789");
  EXPECT_EQ(h.upstream.requests("/rule/r"), 1u);
}

TEST_F(RangeTest, AnUnsatisfiableRangeIs416) {
  const auto response = h.get("/rule/r", {{"Range", "bytes=1000-"}});
  EXPECT_EQ(response.status, 416);
  EXPECT_EQ(response.header("Content-Range"), "bytes */10");
  EXPECT_EQ(h.upstream.requests("/rule/r"), 1u);
}

TEST_F(RangeTest, ANonMatchingIfRangeGetsTheWholeBody) {
  const auto response = h.get("/rule/r", {{"Range", "bytes=0-3"}, {"If-Range", "\"old\""}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "0123456789");
  EXPECT_EQ(h.upstream.requests("/rule/r"), 1u);
}

TEST_F(HttpCachingTest, ASingleRangeMissFillsTheWholeBody) {
  h.upstream.on("/rule/rm", reply({}, "abcdefghij"));
  const auto partial = h.get("/rule/rm", {{"Range", "bytes=2-4"}});
  EXPECT_EQ(h.upstream.last().header("Range"), "");
  EXPECT_EQ(partial.status, 206);
  EXPECT_EQ(partial.header("Content-Range"), "bytes 2-4/10");
  EXPECT_EQ(partial.body, "cde");
  const auto full = h.get("/rule/rm");
  EXPECT_EQ(full.header("X-Cache"), "HIT");
  EXPECT_EQ(full.body, "abcdefghij");
  EXPECT_EQ(h.upstream.requests("/rule/rm"), 1u);
}

TEST_F(HttpCachingTest, MultiRangeRequestsAreForwardedAndNotStored) {
  h.upstream.on("/rule/multi",
                StubReply{.status = 206,
                          .headers = {{"Content-Type", "multipart/byteranges; boundary=B"}},
                          .body = "--B\r\n\r\n01\r\n--B\r\n\r\n34\r\n--B--\r\n"});
  const auto response = h.get("/rule/multi", {{"Range", "bytes=0-1,3-4"}});
  EXPECT_EQ(response.status, 206);
  EXPECT_EQ(h.upstream.last().header("Range"), "bytes=0-1,3-4");
  EXPECT_FALSE(h.redis_has("GET:/rule/multi"));
}

// --- 12. Interim responses (RFC 9110 §15.2) ---

const std::string kEarlyHints = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";

StubReply with_early_hints(std::string body) {
  auto r = reply({{"Cache-Control", "max-age=60"}}, std::move(body));
  r.interim = {"HTTP/1.1 102 Processing\r\n\r\n", kEarlyHints};
  return r;
}

// Reads responses until a final one; the statuses of the interim ones before it.
HttpResponse read_final(HttpClient& client, std::vector<int>* interim) {
  for (int i = 0; i < 5; ++i) {
    auto response = client.read_response();
    if (response.status >= 200) return response;
    interim->push_back(response.status);
    if (response.status == 103) {
      EXPECT_EQ(response.header("Link"), "</a.css>; rel=preload");
    }
  }
  ADD_FAILURE() << "no final response after 5 interim ones";
  return {};
}

TEST_F(HttpCachingTest, InterimResponsesReachHttp11ClientsFirstAndAreNeverStored) {
  h.upstream.on("/rule/hints", with_early_hints("final"));
  {  // what the upstream sends
    HttpClient direct(h.upstream.port());
    direct.send_raw("GET /rule/hints HTTP/1.1\r\nHost: test.local\r\n\r\n");
    std::vector<int> sent;
    EXPECT_EQ(read_final(direct, &sent).body, "final");
    ASSERT_EQ(sent, (std::vector<int>{102, 103}));
  }
  HttpClient client(h.port());
  client.send_raw("GET /rule/hints HTTP/1.1\r\nHost: test.local\r\n\r\n");
  std::vector<int> interim;
  const auto final_response = read_final(client, &interim);
  EXPECT_EQ(interim, (std::vector<int>{102, 103}));
  EXPECT_EQ(final_response.status, 200);
  EXPECT_EQ(final_response.body, "final");
  EXPECT_EQ(final_response.header("X-Cache"), "MISS");

  // The hit is the final response alone.
  client.send_raw("GET /rule/hints HTTP/1.1\r\nHost: test.local\r\n\r\n");
  std::vector<int> none;
  const auto hit = read_final(client, &none);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(hit.body, "final");
  EXPECT_FALSE(hit.has_header("Link"));
}

TEST_F(HttpCachingTest, InterimResponsesNeverReachHttp10Clients) {
  h.upstream.on("/rule/hints10", with_early_hints("final"));
  HttpClient client(h.port());
  client.send_raw("GET /rule/hints10 HTTP/1.0\r\nHost: test.local\r\n\r\n");
  std::vector<int> interim;
  const auto response = read_final(client, &interim);
  EXPECT_TRUE(interim.empty());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "final");
  EXPECT_EQ(h.upstream.requests("/rule/hints10"), 1u);
  EXPECT_TRUE(client.closed_by_server());
}

// --- 13. Set-Cookie and stripped fields ---

TEST_F(HttpCachingTest, SetCookieResponsesAreNotStored) {
  h.upstream.on("/up/cookie", reply({{"Cache-Control", "max-age=60"}, {"Set-Cookie", "s=1"}}));
  EXPECT_EQ(h.get("/up/cookie").header("Cache-Status"),
            "cachecar; fwd=uri-miss; detail=set-cookie");
  EXPECT_FALSE(h.redis_has("GET:/up/cookie"));
}

TEST_F(HttpCachingTest, CachePrivateStoresButNeverReplaysSetCookie) {
  h.upstream.on("/priv/cookie", reply({{"Cache-Control", "max-age=60"}, {"Set-Cookie", "s=1"}}));
  EXPECT_EQ(h.get("/priv/cookie").header("Set-Cookie"), "s=1");  // its own client gets it
  const auto hit = h.get("/priv/cookie");
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_FALSE(hit.has_header("Set-Cookie"));
}

TEST_F(HttpCachingTest, FieldsNamedByPrivateOrNoCacheAreStrippedFromTheStoredEntry) {
  h.upstream.on("/up/pc", reply({{"Cache-Control", "private=\"Set-Cookie\", max-age=60"},
                                 {"Set-Cookie", "s=1"}}));
  EXPECT_EQ(h.get("/up/pc").header("Set-Cookie"), "s=1");
  const auto pc = h.get("/up/pc");
  EXPECT_EQ(pc.header("X-Cache"), "HIT");
  EXPECT_FALSE(pc.has_header("Set-Cookie"));

  h.upstream.on("/up/nc", reply({{"Cache-Control", "no-cache=\"X-Secret\", max-age=60"},
                                 {"X-Secret", "s3"},
                                 {"X-Public", "p"}}));
  EXPECT_EQ(h.get("/up/nc").header("X-Secret"), "s3");
  const auto nc = h.get("/up/nc");
  EXPECT_EQ(nc.header("X-Cache"), "HIT");
  EXPECT_FALSE(nc.has_header("X-Secret"));
  EXPECT_EQ(nc.header("X-Public"), "p");
}

}  // namespace
}  // namespace cachecar::test
