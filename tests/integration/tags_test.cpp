// Tag invalidation (surrogate keys), issue 12 item 5: the upstream's Cache-Tag / Surrogate-Key
// fields and the rules' tags name entries; POST /invalidate/tag/<tag> and write rules'
// invalidate_tags delete every entry with the tag. Real cachecar, real upstream stub, real
// redis-server (and memory://). The cases Varnish's xkey and Souin got wrong are here: every
// Vary variant and query variant goes, a re-stored entry loses the tags it no longer has, and
// an expired entry leaves nothing behind.
#include "integration/harness.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace cachecar::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kProductRules =
    "  - match: \"GET /api/products/{id}\"\n"
    "    ttl: 60s\n"
    "    tags: [\"rule:{id}\"]\n"
    "  - match: \"GET /api/catalog\"\n"
    "    ttl: 60s\n"
    "  - match: \"PUT /api/admin/products/{id}\"\n"
    "    invalidate_tags: [\"product:{id}\", products]\n";

// Replies for /api/products/<id> tagged "product:<id> products" (Cache-Tag) and "sk:<id>"
// (Surrogate-Key), varying on Accept-Language; the body names the language and a version.
StubReply product_reply(const SeenRequest& request, std::size_t count, std::string id) {
  StubReply reply;
  reply.headers = {{"Content-Type", "application/json"},
                   {"Vary", "Accept-Language"},
                   {"Cache-Tag", "product:" + id + ", products"},
                   {"Surrogate-Key", "sk:" + id}};
  reply.body = "{\"id\": " + id + ", \"lang\": \"" + request.header("Accept-Language") +
               "\", \"n\": " + std::to_string(count) + "}";
  return reply;
}

void serve_products(UpstreamStub& upstream) {
  for (const std::string id : {"1", "2"}) {
    upstream.on("/api/products/" + id, [id](const SeenRequest& request, std::size_t count) {
      return product_reply(request, count, id);
    });
  }
}

json::value purge(Harness& h, const std::string& tag, int expected_status = 200) {
  const auto response = h.admin("POST", "/invalidate/tag/" + tag);
  EXPECT_EQ(response.status, expected_status) << tag << ": " << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  return json::parse(response.body);
}

std::uint64_t deleted(const json::value& answer) {
  return answer.at("deleted").to_number<std::uint64_t>();
}

std::string x_cache(Harness& h, const std::string& target, const std::string& language = {}) {
  Headers headers;
  if (!language.empty()) headers.emplace_back("Accept-Language", language);
  return h.get(target, headers).header("X-Cache");
}

std::string metric(Harness& h, const std::string& series) {
  const auto text = h.admin("GET", "/metrics").body;
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  const auto start = at + series.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

HarnessOptions with_store(bool memory, std::string rules, std::string cache = {}) {
  HarnessOptions options;
  options.rules = std::move(rules);
  options.cache = std::move(cache);
  options.memory_store = memory;
  return options;
}

class TagsTest : public ::testing::TestWithParam<bool> {  // true: memory://
 protected:
  bool memory() const { return GetParam(); }
};

// Every Vary variant and every query variant of a tagged key goes (xkey's bug: one variant).
TEST_P(TagsTest, HeaderTagsPurgeEveryVariantAndQueryVariant) {
  Harness h{with_store(memory(), kProductRules)};
  serve_products(h.upstream);
  const std::vector<std::pair<std::string, std::string>> requests{
      {"/api/products/1", "en"}, {"/api/products/1", "de"}, {"/api/products/1?view=full", "en"}};
  for (const auto& [target, language] : requests) {
    ASSERT_EQ(x_cache(h, target, language), "MISS") << target << " " << language;
    ASSERT_EQ(x_cache(h, target, language), "HIT") << target << " " << language;
  }
  ASSERT_EQ(x_cache(h, "/api/products/2", "en"), "MISS");

  EXPECT_EQ(purge(h, "product:1"), json::parse(R"({"deleted": 3, "tag": "product:1"})"));
  for (const auto& [target, language] : requests) {
    EXPECT_EQ(x_cache(h, target, language), "MISS") << target << " " << language;
  }
  EXPECT_EQ(x_cache(h, "/api/products/2", "en"), "HIT");
  // Surrogate-Key is read as well, and a tag shared by two products deletes both.
  EXPECT_EQ(deleted(purge(h, "sk:2")), 1u);
  ASSERT_EQ(x_cache(h, "/api/products/2", "en"), "MISS");
  EXPECT_EQ(deleted(purge(h, "products")), 4u);
  EXPECT_EQ(x_cache(h, "/api/products/2", "en"), "MISS");
  EXPECT_EQ(x_cache(h, "/api/products/1", "de"), "MISS");
  EXPECT_TRUE(wait_until(
      [&] { return metric(h, R"(cachecar_tag_purges_total{source="admin"})") == "3"; }, 5s));
}

// A rule's tags come from the route's path params; the upstream need not tag anything.
TEST_P(TagsTest, RuleTagsFromThePath) {
  Harness h{with_store(memory(), kProductRules)};
  h.upstream.on("/api/products/7", StubReply{});
  ASSERT_EQ(x_cache(h, "/api/products/7"), "MISS");
  ASSERT_EQ(x_cache(h, "/api/products/7?x=1"), "MISS");
  ASSERT_EQ(x_cache(h, "/api/products/7"), "HIT");
  EXPECT_EQ(deleted(purge(h, "rule:8")), 0u);
  EXPECT_EQ(purge(h, "rule:7"), json::parse(R"({"deleted": 2, "tag": "rule:7"})"));
  EXPECT_EQ(x_cache(h, "/api/products/7"), "MISS");
  EXPECT_EQ(h.upstream.requests("/api/products/7"), 3u);
}

// A write rule's invalidate_tags reach entries on other paths, before the write is answered.
TEST_P(TagsTest, InvalidateTagsOnAWrite) {
  Harness h{with_store(memory(), kProductRules)};
  serve_products(h.upstream);
  h.upstream.on("/api/catalog", StubReply{.headers = {{"Cache-Tag", "products"}}});
  h.upstream.on("/api/admin/products/1", StubReply{.status = 204});
  ASSERT_EQ(x_cache(h, "/api/products/1", "en"), "MISS");
  ASSERT_EQ(x_cache(h, "/api/products/2", "en"), "MISS");
  ASSERT_EQ(x_cache(h, "/api/catalog"), "MISS");
  ASSERT_EQ(x_cache(h, "/api/catalog"), "HIT");

  EXPECT_EQ(h.request("PUT", "/api/admin/products/1", {}, "{}").status, 204);
  EXPECT_EQ(x_cache(h, "/api/products/1", "en"), "MISS");
  EXPECT_EQ(x_cache(h, "/api/products/2", "en"), "MISS");  // "products"
  EXPECT_EQ(x_cache(h, "/api/catalog"), "MISS");
  EXPECT_TRUE(wait_until(
      [&] { return metric(h, R"(cachecar_tag_purges_total{source="write"})") == "2"; }, 5s));
}

// Not exposed (the default): neither field reaches a client, on the miss or the hit. A custom
// tag_header is the one stripped then; Cache-Tag is just another field.
TEST_P(TagsTest, TagFieldsAreStrippedByDefault) {
  Harness h{with_store(memory(), kProductRules)};
  serve_products(h.upstream);
  for (const char* expected : {"MISS", "HIT"}) {
    const auto response = h.get("/api/products/1", {{"Accept-Language", "en"}});
    ASSERT_EQ(response.header("X-Cache"), expected);
    EXPECT_FALSE(response.has_header("Cache-Tag")) << expected;
    EXPECT_FALSE(response.has_header("Surrogate-Key")) << expected;
  }
  // Also on what is not stored (a write's answer).
  h.upstream.on("/api/admin/products/2",
                StubReply{.headers = {{"Cache-Tag", "x"}, {"Surrogate-Key", "y"}}});
  const auto write = h.request("PUT", "/api/admin/products/2", {}, "{}");
  EXPECT_FALSE(write.has_header("Cache-Tag"));
  EXPECT_FALSE(write.has_header("Surrogate-Key"));
  if (!memory()) {
    // The stored head keeps no tag field: the entry records its tags apart from it.
    const auto keys = h.redis->command({"KEYS", "cachecar:GET:/api/products/1*"});
    ASSERT_FALSE(keys.elements.empty());
    for (const auto& key : keys.elements) {
      const auto value = h.redis->command({"GET", key.str});
      EXPECT_EQ(value.str.find("Cache-Tag:"), std::string::npos) << key.str;
      EXPECT_EQ(value.str.find("Surrogate-Key:"), std::string::npos) << key.str;
    }
  }
}

TEST_P(TagsTest, ACustomTagHeader) {
  Harness h{with_store(memory(), kProductRules, "  tag_header: X-Tags\n")};
  h.upstream.on("/api/catalog",
                StubReply{.headers = {{"X-Tags", "listing"}, {"Cache-Tag", "ignored"}}});
  const auto miss = h.get("/api/catalog");
  EXPECT_FALSE(miss.has_header("X-Tags"));
  EXPECT_EQ(miss.header("Cache-Tag"), "ignored");
  EXPECT_EQ(h.get("/api/catalog").header("Cache-Tag"), "ignored");
  EXPECT_EQ(deleted(purge(h, "ignored")), 0u);
  EXPECT_EQ(deleted(purge(h, "listing")), 1u);
}

// Exposed: the miss and every hit carry the same one field, the entry's tags (the rule's, then
// the upstream's, deduplicated).
TEST_P(TagsTest, ExposedTagsAreTheSameOnTheMissAndTheHit) {
  Harness h{with_store(memory(), kProductRules, "  expose_tags: true\n")};
  serve_products(h.upstream);
  const auto miss = h.get("/api/products/1", {{"Accept-Language", "en"}});
  const auto hit = h.get("/api/products/1", {{"Accept-Language", "en"}});
  ASSERT_EQ(miss.header("X-Cache"), "MISS");
  ASSERT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(miss.header("Cache-Tag"), "rule:1 product:1 products sk:1");
  EXPECT_EQ(hit.header("Cache-Tag"), miss.header("Cache-Tag"));
  EXPECT_FALSE(miss.has_header("Surrogate-Key"));
  EXPECT_FALSE(hit.has_header("Surrogate-Key"));
  // A response that is not stored keeps the upstream's fields as they came.
  h.upstream.on("/api/admin/products/2", StubReply{.headers = {{"Surrogate-Key", "y z"}}});
  EXPECT_EQ(h.request("PUT", "/api/admin/products/2", {}, "{}").header("Surrogate-Key"), "y z");
}

// At most 32 tags per entry: the 33rd is dropped (and counted), so it purges nothing.
TEST_P(TagsTest, ThirtyThreeTagsKeepThirtyTwo) {
  Harness h{
      with_store(memory(), "  - match: \"GET /many\"\n    ttl: 60s\n", "  expose_tags: true\n")};
  std::string tags;
  for (int i = 0; i < 33; ++i) tags += "t" + std::to_string(i) + " ";
  h.upstream.on("/many", StubReply{.headers = {{"Cache-Tag", tags}}});
  ASSERT_EQ(x_cache(h, "/many"), "MISS");
  const auto hit = h.get("/many");
  ASSERT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(hit.header("Cache-Tag").find("t32"), std::string::npos);
  EXPECT_NE(hit.header("Cache-Tag").find("t31"), std::string::npos);
  EXPECT_TRUE(wait_until(
      [&] { return metric(h, R"(cachecar_tags_dropped_total{reason="over_limit"})") == "1"; }, 5s));
  EXPECT_EQ(deleted(purge(h, "t32")), 0u);
  EXPECT_EQ(x_cache(h, "/many"), "HIT");
  EXPECT_EQ(deleted(purge(h, "t31")), 1u);
  EXPECT_EQ(x_cache(h, "/many"), "MISS");
}

// Souin's bug: a tag set that still names a key after the key was stored again without the tag
// purges the new entry. The tags an entry is stored with replace the old ones, per variant.
TEST_P(TagsTest, AReStoredEntryHasOnlyItsNewTags) {
  Harness h{with_store(memory(), "  - match: \"GET /p\"\n    ttl: 60s\n")};
  auto version = std::make_shared<std::atomic<int>>(1);
  h.upstream.on("/p", [version](const SeenRequest& request, std::size_t) {
    const std::string language = request.header("Accept-Language");
    StubReply reply;
    reply.headers = {{"Vary", "Accept-Language"},
                     {"Cache-Tag", "v" + std::to_string(version->load()) + " lang:" + language}};
    return reply;
  });
  ASSERT_EQ(x_cache(h, "/p", "en"), "MISS");
  ASSERT_EQ(x_cache(h, "/p", "de"), "MISS");
  *version = 2;
  ASSERT_EQ(h.get("/p?nocache=true", {{"Accept-Language", "en"}}).header("X-Cache"), "BYPASS");
  ASSERT_EQ(x_cache(h, "/p", "en"), "HIT");  // the refreshed en variant, tagged v2

  EXPECT_EQ(deleted(purge(h, "v1")), 1u);  // de only: en no longer has v1
  EXPECT_EQ(x_cache(h, "/p", "en"), "HIT");
  EXPECT_EQ(x_cache(h, "/p", "de"), "MISS");
  EXPECT_EQ(deleted(purge(h, "lang:de")), 1u);
  EXPECT_EQ(x_cache(h, "/p", "en"), "HIT");
  EXPECT_EQ(deleted(purge(h, "v2")), 1u);
  EXPECT_EQ(x_cache(h, "/p", "en"), "MISS");
}

INSTANTIATE_TEST_SUITE_P(Stores, TagsTest, ::testing::Values(false, true),
                         [](const auto& param_info) {
                           return param_info.param ? "memory" : "redis";
                         });

// Tag sets expire with their entries: after churn of short-lived tagged entries nothing is left
// behind in Redis, and a purge of an expired entry's tag deletes nothing.
TEST(TagsRedisTest, ExpiredEntriesLeaveNoTagBookkeeping) {
  Harness h{HarnessOptions{.rules = "  - match: \"GET /short/{id}\"\n    ttl: 1s\n"}};
  h.upstream.on("/short/1", StubReply{.headers = {{"Cache-Tag", "churn shared"}}});
  h.upstream.on("/short/2", StubReply{.headers = {{"Cache-Tag", "shared"}}});
  const auto keys_before = h.redis->command({"DBSIZE"}).integer;
  for (int i = 0; i < 20; ++i) {
    h.upstream.on("/short/c" + std::to_string(i),
                  StubReply{.headers = {{"Cache-Tag", "churn c" + std::to_string(i)}}});
    ASSERT_EQ(x_cache(h, "/short/c" + std::to_string(i)), "MISS");
  }
  ASSERT_EQ(x_cache(h, "/short/1"), "MISS");
  ASSERT_TRUE(h.redis_has("GET:/short/1"));
  // Expiry is Redis's: wait for it to drop the entries (no sleep stands in for it).
  ASSERT_TRUE(wait_until(
      [&] { return !h.redis_has("GET:/short/1") && !h.redis_has("GET:/short/c19"); }, 10s, 20ms));
  EXPECT_EQ(purge(h, "churn"), json::parse(R"({"deleted": 0, "tag": "churn"})"));
  EXPECT_EQ(deleted(purge(h, "c3")), 0u);
  // Nothing names the tags any more, whether the store deleted its sets on the purge or let
  // them expire with their entries.
  EXPECT_TRUE(wait_until(
      [&] {
        const auto keys = h.redis->command({"KEYS", "*churn*"});
        return keys.elements.empty();
      },
      5s, 20ms))
      << "a tag set outlived its entries";
  // The live entry of a shared tag is still found after the others expired.
  ASSERT_EQ(x_cache(h, "/short/2"), "MISS");
  EXPECT_EQ(deleted(purge(h, "shared")), 1u);
  EXPECT_LE(h.redis->command({"DBSIZE"}).integer, keys_before + 5);
}

// The store cannot be reached: 503 with a JSON error, answers come from the upstream, and the
// purge is kept and replayed, so the purged entry is not served once Redis is back.
TEST(TagsRedisTest, PurgeWhileRedisIsDownIs503AndNothingStaleIsServedAfter) {
  Harness h{HarnessOptions{.rules = kProductRules}};
  auto version = std::make_shared<std::atomic<int>>(1);
  h.upstream.on("/api/catalog", [version](const SeenRequest&, std::size_t) {
    return StubReply{.headers = {{"Cache-Tag", "products"}},
                     .body = "{\"version\": " + std::to_string(version->load()) + "}"};
  });
  ASSERT_EQ(x_cache(h, "/api/catalog"), "MISS");
  ASSERT_EQ(h.get("/api/catalog").body, "{\"version\": 1}");
  *version = 2;
  h.redis->pause();
  const auto answer = purge(h, "products", 503);
  EXPECT_EQ(answer.at("error"), "store_unavailable");
  const auto during = h.request_within(5s, "GET", "/api/catalog");
  EXPECT_EQ(during.status, 200);
  EXPECT_EQ(during.body, "{\"version\": 2}");
  h.redis->resume();
  // The replay deletes the entry that Redis kept while it was paused.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto health = json::parse(h.admin("GET", "/health").body);
        return health.at("pending_invalidations").to_number<std::uint64_t>() == 0;
      },
      10s, 20ms));
  EXPECT_FALSE(h.redis_has("GET:/api/catalog"));
  const auto after = h.get("/api/catalog");
  EXPECT_EQ(after.body, "{\"version\": 2}");
  EXPECT_EQ(after.header("X-Cache"), "MISS");
}

// A write's invalidate_tags that Redis refuses is kept pending like any write invalidation:
// nothing it may cover is served until the replay.
TEST(TagsRedisTest, ARefusedWriteTagInvalidationIsKeptAndReplayed) {
  Harness h{HarnessOptions{.rules = kProductRules}};
  serve_products(h.upstream);
  h.upstream.on("/api/admin/products/1", StubReply{.status = 204});
  ASSERT_EQ(x_cache(h, "/api/products/1", "en"), "MISS");
  ASSERT_EQ(x_cache(h, "/api/products/1", "en"), "HIT");
  h.redis->command({"REPLICAOF", "127.0.0.1", std::to_string(free_port())});  // READONLY
  EXPECT_EQ(h.request("PUT", "/api/admin/products/1", {}, "{}").status, 204);
  EXPECT_TRUE(h.redis_has("GET:/api/products/1"));  // the index still names the variant
  EXPECT_EQ(x_cache(h, "/api/products/1", "en"), "MISS");
  h.redis->command({"REPLICAOF", "NO", "ONE"});
  ASSERT_TRUE(wait_until(
      [&] {
        const auto health = json::parse(h.admin("GET", "/health").body);
        return health.at("pending_invalidations").to_number<std::uint64_t>() == 0;
      },
      10s, 20ms));
  EXPECT_EQ(x_cache(h, "/api/products/1", "en"), "MISS");
  EXPECT_EQ(x_cache(h, "/api/products/1", "en"), "HIT");
}

// With L1 in front of Redis, a purge reaches L1 the way /invalidate/<key> does: the store's
// deletions come back as Redis invalidation messages.
TEST(TagsRedisTest, APurgeEmptiesL1Too) {
  Harness h{HarnessOptions{.rules = kProductRules, .cache = "  l1:\n    enabled: true\n"}};
  h.upstream.on("/api/catalog", StubReply{.headers = {{"Cache-Tag", "products"}}});
  ASSERT_TRUE(wait_until(
      [&] { return h.get("/api/catalog").header("Cache-Status") == "cachecar; hit; detail=l1"; },
      10s, 20ms));
  const auto fetched = h.upstream.requests("/api/catalog");
  EXPECT_EQ(deleted(purge(h, "products")), 1u);
  ASSERT_TRUE(wait_until([&] { return x_cache(h, "/api/catalog") == "MISS"; }, 5s, 10ms));
  EXPECT_EQ(h.upstream.requests("/api/catalog"), fetched + 1);
}

}  // namespace
}  // namespace cachecar::test
