// HTTP caching cases found in review: what a revalidation's 304 carries for its client, an
// only-if-cached request that no rule would answer from the cache, a stored 204.
#include "integration/http_caching.hpp"

namespace cachecar::test::http_caching {
namespace {

// RFC 9110 §15.3.5 / §8.6: a 204 has no Content-Length, also when answered from the cache.
TEST(HttpCachingReview, AStored204IsAnsweredWithoutContentLength) {
  Harness h(options());
  h.upstream.on("/up/empty",
                StubReply{.status = 204, .headers = {{"Cache-Control", "max-age=60"}}});
  const auto miss = h.get("/up/empty");
  ASSERT_EQ(miss.status, 204);
  EXPECT_EQ(miss.header("Content-Length"), "");
  const auto hit = h.get("/up/empty");
  ASSERT_EQ(hit.status, 204);
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(hit.header("Content-Length"), "");
}

// RFC 9111 §5.2.1.7: only-if-cached never reaches the origin, whether or not a rule caches the
// path.
TEST(HttpCachingReview, OnlyIfCachedWithoutACachingRuleIsA504WithoutTheUpstream) {
  Harness h(options());
  h.upstream.on("/nocache-rule/x", reply({{"Cache-Control", "max-age=60"}}));
  const auto answer = h.get("/nocache-rule/x", {{"Cache-Control", "only-if-cached"}});
  EXPECT_EQ(answer.status, 504);
  EXPECT_EQ(h.upstream.requests("/nocache-rule/x"), 0u);
}

TEST(HttpCachingReview, OnlyIfCachedWithAuthorizationOnARuleModeRuleIsA504) {
  Harness h(options());
  h.upstream.on("/rule/secret", reply({}));
  const auto answer =
      h.get("/rule/secret", {{"Cache-Control", "only-if-cached"}, {"Authorization", "Bearer x"}});
  EXPECT_EQ(answer.status, 504);
  EXPECT_EQ(h.upstream.requests("/rule/secret"), 0u);
}

// A 304 that sets a cookie: its client gets the cookie, and the entry is not stored again with
// the 304's cookie-bearing freshness (Set-Cookie responses are not stored).
TEST(HttpCachingReview, ARevalidationsSetCookieReachesItsClientAndIsNotStored) {
  Harness h(options());
  h.upstream.on("/up/session", [](const SeenRequest& request, std::size_t) {
    if (request.header("If-None-Match") == "\"v1\"") {
      return StubReply{.status = 304,
                       .headers = {{"ETag", "\"v1\""},
                                   {"Cache-Control", "max-age=60"},
                                   {"Set-Cookie", "session=renewed"}},
                       .body = ""};
    }
    return reply({{"ETag", "\"v1\""}, {"Cache-Control", "max-age=0"}}, "page");
  });
  ASSERT_EQ(h.get("/up/session").status, 200);  // stored: stale at once, kept to revalidate
  const auto revalidated = h.get("/up/session");
  EXPECT_EQ(revalidated.header("X-Cache"), "REVALIDATED");
  EXPECT_EQ(revalidated.body, "page");
  EXPECT_EQ(revalidated.header("Set-Cookie"), "session=renewed");
  const auto next = h.get("/up/session");  // not freshened by the cookie-bearing 304
  EXPECT_NE(next.header("X-Cache"), "HIT");
  EXPECT_EQ(next.header("Set-Cookie"), "session=renewed");
  EXPECT_EQ(h.upstream.requests("/up/session"), 3u);
}

// RFC 9111 §4.3.4: a 304 naming another strong validator does not update the stored response.
TEST(HttpCachingReview, A304WithAnotherStrongETagDoesNotRefreshTheEntry) {
  Harness h(options());
  h.upstream.on("/up/odd", [](const SeenRequest& request, std::size_t) {
    if (!request.header("If-None-Match").empty()) {
      return StubReply{.status = 304,
                       .headers = {{"ETag", "\"v2\""}, {"Cache-Control", "max-age=60"}},
                       .body = ""};
    }
    return reply({{"ETag", "\"v1\""}, {"Cache-Control", "max-age=0"}}, "page");
  });
  ASSERT_EQ(h.get("/up/odd").status, 200);
  EXPECT_EQ(h.get("/up/odd").body, "page");
  const auto next = h.get("/up/odd");  // still stale: revalidated again, not a fresh hit
  EXPECT_NE(next.header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/up/odd"), 3u);
}

// Compression middleware: gzip for clients that accept it (Vary: Accept-Encoding), identity for
// the others. Both representations stay stored; neither replaces the other.
TEST(HttpCachingReview, GzipAndIdentityRepresentationsOfOneKeyAreBothKept) {
  Harness h(options());
  h.upstream.on("/up/compressed", [](const SeenRequest& request, std::size_t) {
    if (request.header("Accept-Encoding").find("gzip") != std::string::npos) {
      return reply({{"Content-Encoding", "gzip"},
                    {"Vary", "Accept-Encoding"},
                    {"Cache-Control", "max-age=60"}},
                   "gzip bytes");
    }
    return reply({{"Vary", "Accept-Encoding"}, {"Cache-Control", "max-age=60"}}, "plain");
  });
  const Headers gzip{{"Accept-Encoding", "gzip"}};
  EXPECT_EQ(h.get("/up/compressed", gzip).header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/up/compressed").header("X-Cache"), "MISS");
  const auto gzip_hit = h.get("/up/compressed", gzip);
  EXPECT_EQ(gzip_hit.header("X-Cache"), "HIT");
  EXPECT_EQ(gzip_hit.body, "gzip bytes");
  const auto plain_hit = h.get("/up/compressed");
  EXPECT_EQ(plain_hit.header("X-Cache"), "HIT");
  EXPECT_EQ(plain_hit.body, "plain");
  EXPECT_EQ(h.upstream.requests("/up/compressed"), 2u);
}
}  // namespace
}  // namespace cachecar::test::http_caching
