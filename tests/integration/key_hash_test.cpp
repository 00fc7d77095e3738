// cache.key_hash: sha256 through the whole proxy: no Redis key name carries a URL or query text,
// while everything a user names keys by (top keys, /invalidate/<key>, prefixes, namespaces,
// write rules) keeps working on logical keys.
#include "integration/harness.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace cachecar::test {
namespace {

namespace json = boost::json;

const std::string kRules =
    "  - match: \"GET /api/items/{id}\"\n"
    "    ttl: 60s\n"
    "    namespace: items\n"
    "  - match: \"GET /api/list\"\n"
    "    ttl: 60s\n"
    "  - match: \"PUT /api/items/{id}\"\n"
    "    invalidate: [\"GET /api/items/{id}\", \"GET /api/list\"]\n";

class KeyHashTest : public ::testing::Test {
 protected:
  Harness h{HarnessOptions{.rules = kRules, .cache = "  key_hash: sha256\n"}};

  std::string x_cache(const std::string& target) { return h.get(target).header("X-Cache"); }

  std::uint64_t deleted(const HttpResponse& response) {
    EXPECT_EQ(response.status, 200) << response.body;
    return json::parse(response.body).as_object().at("deleted").to_number<std::uint64_t>();
  }

  // Every Redis key name: cachecar's prefix and then 64 hex digits (an entry, an index, a
  // generation...) or one of its fixed bookkeeping names ("__..."), never request text.
  void expect_only_hashed_names() {
    const auto reply = h.redis->command({"KEYS", "*"});
    ASSERT_FALSE(reply.elements.empty());
    for (const auto& element : reply.elements) {
      const std::string& name = element.str;
      ASSERT_EQ(name.rfind("cachecar:", 0), 0u) << name;
      const std::string rest = name.substr(9);
      const bool hashed =
          rest.size() == 64 && rest.find_first_not_of("0123456789abcdef") == std::string::npos;
      const bool bookkeeping = rest.rfind("__", 0) == 0 && rest.find('/') == std::string::npos &&
                               rest.find("alice") == std::string::npos;
      EXPECT_TRUE(hashed || bookkeeping) << name;
    }
  }
};

TEST_F(KeyHashTest, RedisNamesCarryNoRequestTextAndKeysStayLogical) {
  EXPECT_EQ(x_cache("/api/items/1?user=alice"), "MISS");
  EXPECT_EQ(x_cache("/api/items/1?user=alice"), "HIT");
  EXPECT_EQ(x_cache("/api/items/2"), "MISS");
  EXPECT_EQ(x_cache("/api/list"), "MISS");
  expect_only_hashed_names();

  // Statistics name logical keys.
  EXPECT_EQ(h.lookups("GET:/api/items/1?user=alice"), 2u);
  const auto stats = json::parse(h.admin("GET", "/metrics/cache").body).as_object();
  EXPECT_EQ(stats.at("total_cached_keys"), 3);

  // A write invalidates its own path (with its query variants) and what its rule names.
  EXPECT_EQ(h.request("PUT", "/api/items/1", {}, "{}").status, 200);
  EXPECT_EQ(x_cache("/api/items/1?user=alice"), "MISS");
  EXPECT_EQ(x_cache("/api/list"), "MISS");
  EXPECT_EQ(x_cache("/api/items/2"), "HIT");

  // The admin API takes logical keys, exact and as prefixes, and namespaces.
  EXPECT_EQ(deleted(h.admin("DELETE", "/invalidate/GET:/api/items/2")), 1u);
  EXPECT_EQ(x_cache("/api/items/2"), "MISS");
  EXPECT_EQ(deleted(h.admin("DELETE", "/invalidate/GET:/api/l*")), 1u);
  EXPECT_EQ(x_cache("/api/list"), "MISS");
  EXPECT_EQ(deleted(h.admin("POST", "/cache/clear/items")), 2u);  // items/1?user=alice, items/2
  EXPECT_EQ(x_cache("/api/items/2"), "MISS");
  EXPECT_EQ(x_cache("/api/list"), "HIT");
  expect_only_hashed_names();
}

}  // namespace
}  // namespace cachecar::test
