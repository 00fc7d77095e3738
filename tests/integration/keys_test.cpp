// Keys mean what the origin means: the normalised target is both keyed and forwarded, query
// spellings an origin reads differently get different entries, and the Host selects the variant.
// Real redis-server, real upstream stub, real proxy.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::test {
namespace {

const std::string kRules =
    "  - match: \"GET /api/users/{id}\"\n"
    "    ttl: 120s\n"
    "  - match: \"GET /search\"\n"
    "    ttl: 120s\n"
    "  - match: \"GET /files/{name}\"\n"
    "    ttl: 120s\n";

// The upstream answers with what it was asked: the target it received and the Host.
void echo(Harness& h, const std::string& path) {
  h.upstream.on(path, [](const SeenRequest& request, std::size_t n) {
    return StubReply{.body = "{\"target\": \"" + request.target + "\", \"host\": \"" +
                             request.header("Host") + "\", \"n\": " + std::to_string(n) + "}"};
  });
}

Headers host(const std::string& value) {
  return {{"Host", value}};
}

class KeysTest : public ::testing::Test {
 protected:
  Harness h{HarnessOptions{.rules = kRules}};
};

TEST_F(KeysTest, AWriteToAnEncodedSpellingInvalidatesThePathTheOriginResolves) {
  ASSERT_EQ(h.get("/api/users/52").header("X-Cache"), "MISS");
  ASSERT_EQ(h.get("/api/users/52").header("X-Cache"), "HIT");
  ASSERT_EQ(h.request("PUT", "/api/users/%35%32", {}, "{}").status, 200);
  EXPECT_EQ(h.upstream.last().target, "/api/users/52");  // forwarded as it is keyed
  EXPECT_EQ(h.get("/api/users/52").header("X-Cache"), "MISS");
}

TEST_F(KeysTest, AWriteThroughDotSegmentsInvalidatesThePathTheOriginResolves) {
  ASSERT_EQ(h.get("/api/users/53").header("X-Cache"), "MISS");
  ASSERT_EQ(h.get("/api/users/53").header("X-Cache"), "HIT");
  ASSERT_EQ(h.request("PUT", "/api/users/0/../53", {}, "{}").status, 200);
  EXPECT_EQ(h.upstream.last().target, "/api/users/53");
  EXPECT_EQ(h.get("/api/users/53").header("X-Cache"), "MISS");
}

TEST_F(KeysTest, EquivalentSpellingsShareOneEntryAndAreForwardedNormalised) {
  echo(h, "/api/users/54");
  const auto first = h.get("/api/users/%35%34?x=%7e");
  EXPECT_EQ(first.header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.last().target, "/api/users/54?x=~");
  const auto second = h.get("/api/users/x/%2E%2E/54?x=~");
  EXPECT_EQ(second.header("X-Cache"), "HIT");
  EXPECT_EQ(second.body, first.body);
  EXPECT_TRUE(h.redis_has("GET:/api/users/54?x=~"));
}

TEST_F(KeysTest, AnEncodedSlashStaysEncoded) {
  echo(h, "/files/a%2Fb");
  EXPECT_EQ(h.get("/files/a%2fb").header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.last().target, "/files/a%2Fb");
  EXPECT_EQ(h.get("/files/a%2Fb").header("X-Cache"), "HIT");
  EXPECT_FALSE(h.redis_has("GET:/files/a/b"));
  EXPECT_TRUE(h.redis_has("GET:/files/a%2Fb"));
}

TEST_F(KeysTest, AMalformedEscapeIsABadRequest) {
  for (const std::string target : {"/api/users/%zz", "/api/users/1?q=100%", "/api/users/%%35%35"}) {
    const auto response = h.get(target);
    EXPECT_EQ(response.status, 400) << target;
    EXPECT_NE(response.body.find("percent-encoding"), std::string::npos) << response.body;
  }
  EXPECT_EQ(h.upstream.total_requests(), 0u);
}

TEST_F(KeysTest, PlusAndEncodedPlusAreDifferentEntries) {
  echo(h, "/search");
  const auto plus = h.get("/search?q=a+b");
  const auto encoded = h.get("/search?q=a%2Bb");
  EXPECT_EQ(encoded.header("X-Cache"), "MISS");
  EXPECT_NE(encoded.body, plus.body);
  EXPECT_EQ(h.upstream.last().target, "/search?q=a%2Bb");
  EXPECT_EQ(h.get("/search?q=a+b").body, plus.body);
  EXPECT_EQ(h.get("/search?q=a%2bb").body, encoded.body);
}

TEST_F(KeysTest, TheOrderOfRepeatedParamsSelectsTheEntry) {
  echo(h, "/search");
  const auto ascending = h.get("/search?page=1&page=2");
  const auto descending = h.get("/search?page=2&page=1");
  EXPECT_EQ(descending.header("X-Cache"), "MISS");
  EXPECT_NE(descending.body, ascending.body);
  // Other params still sort around them: one entry for both spellings.
  EXPECT_EQ(h.get("/search?x=0&page=1&page=2").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/search?page=1&x=0&page=2").header("X-Cache"), "HIT");
  EXPECT_TRUE(h.redis_has("GET:/search?page=1&page=2&x=0"));
}

TEST_F(KeysTest, OneHostsAnswerIsNeverServedToAnother) {
  echo(h, "/api/users/1");
  const auto evil = h.get("/api/users/1", host("evil.example"));
  EXPECT_EQ(evil.header("X-Cache"), "MISS");
  EXPECT_NE(evil.body.find("evil.example"), std::string::npos);
  const auto victim = h.get("/api/users/1", host("victim.example"));
  EXPECT_EQ(victim.header("X-Cache"), "MISS");
  EXPECT_NE(victim.body.find("\"host\": \"victim.example\""), std::string::npos) << victim.body;
  // The same host, spelled differently: lower case, default port dropped.
  const auto again = h.get("/api/users/1", host("Victim.EXAMPLE:80"));
  EXPECT_EQ(again.header("X-Cache"), "HIT");
  EXPECT_EQ(again.body, victim.body);
  EXPECT_EQ(h.get("/api/users/1", host("evil.example")).body, evil.body);
  EXPECT_TRUE(h.redis_has("GET:/api/users/1", "victim.example"));
  EXPECT_TRUE(h.redis_has("GET:/api/users/1", "evil.example"));
}

TEST_F(KeysTest, AWriteThroughOneHostInvalidatesEveryHost) {
  ASSERT_EQ(h.get("/api/users/2", host("a.example")).header("X-Cache"), "MISS");
  ASSERT_EQ(h.get("/api/users/2?v=1", host("b.example")).header("X-Cache"), "MISS");
  ASSERT_TRUE(h.redis_has("GET:/api/users/2", "a.example"));
  ASSERT_TRUE(h.redis_has("GET:/api/users/2?v=1", "b.example"));
  ASSERT_EQ(h.request("PUT", "/api/users/2", host("a.example"), "{}").status, 200);
  EXPECT_FALSE(h.redis_has("GET:/api/users/2", "a.example"));
  EXPECT_FALSE(h.redis_has("GET:/api/users/2?v=1", "b.example"));
  EXPECT_EQ(h.get("/api/users/2", host("a.example")).header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/users/2?v=1", host("b.example")).header("X-Cache"), "MISS");
}

TEST_F(KeysTest, AdminInvalidateOfALogicalKeyCoversEveryHost) {
  ASSERT_EQ(h.get("/api/users/3", host("a.example")).status, 200);
  ASSERT_EQ(h.get("/api/users/3", host("b.example")).status, 200);
  ASSERT_TRUE(h.redis_has("GET:/api/users/3", "a.example"));
  ASSERT_TRUE(h.redis_has("GET:/api/users/3", "b.example"));
  EXPECT_EQ(h.admin("DELETE", "/invalidate/GET:/api/users/3").status, 200);
  EXPECT_FALSE(h.redis_has("GET:/api/users/3", "a.example"));
  EXPECT_FALSE(h.redis_has("GET:/api/users/3", "b.example"));
}

// RFC 9112 §3.2: a Host with an invalid value is a 400; it is neither keyed nor forwarded.
TEST_F(KeysTest, AnInvalidHostIsRejected) {
  const auto response = h.get("/api/users/4", host("a b"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(h.upstream.requests("/api/users/4"), 0u);
}

TEST(KeysHostsTest, ConfiguredAliasesShareAnEntryAndOtherHostsAreNotCached) {
  Harness h{HarnessOptions{
      .rules = kRules,
      .cache = "  hosts:\n    \"api.example.com\": [\"api\", \"api.example.com:443\"]\n"}};
  echo(h, "/api/users/1");
  const auto first = h.get("/api/users/1", host("api"));
  EXPECT_EQ(first.header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.last().header("Host"), "api");  // the client's Host is still forwarded
  EXPECT_EQ(h.get("/api/users/1", host("API.example.com:443")).header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/api/users/1", host("api.example.com")).header("X-Cache"), "HIT");
  EXPECT_TRUE(h.redis_has("GET:/api/users/1", "api.example.com"));

  for (int i = 0; i < 2; ++i) {
    const auto other = h.get("/api/users/1", host("evil.example"));
    EXPECT_EQ(other.status, 200);
    EXPECT_EQ(other.header("X-Cache"), "PASS");
    EXPECT_EQ(other.header("Cache-Status"), "cachecar; fwd=request; detail=host");
    EXPECT_NE(other.body.find("evil.example"), std::string::npos);
  }
  EXPECT_EQ(h.upstream.requests("/api/users/1"), 3u);
  EXPECT_FALSE(h.redis_has("GET:/api/users/1", "evil.example"));
}

}  // namespace
}  // namespace cachecar::test
