#include "policy/cache_key.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace cachecar::policy {
namespace {

using KeyQuery = std::optional<std::vector<std::string>>;

struct KeyCase {
  std::string name;
  std::string query;
  KeyQuery key_query;
  std::string expected;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const KeyCase& c, std::ostream* os) {
  *os << c.name;
}

class BuildCacheKeyTest : public testing::TestWithParam<KeyCase> {};

TEST_P(BuildCacheKeyTest, Builds) {
  const auto& c = GetParam();
  EXPECT_EQ(build_cache_key("GET", "/api/posts/", c.query, c.key_query, "nocache"), c.expected)
      << "query: '" << c.query << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Policy, BuildCacheKeyTest,
    testing::Values(
        KeyCase{"NoQuery", "", std::nullopt, "GET:/api/posts/"},
        KeyCase{"SortsAndDropsBypass", "b=2&a=1&nocache=true", std::nullopt,
                "GET:/api/posts/?a=1&b=2"},
        KeyCase{"OnlyBypassLeavesNoQuestionMark", "nocache=1", std::nullopt, "GET:/api/posts/"},
        KeyCase{"KeyQuerySelects", "page=2&sort=x", KeyQuery{{"page"}}, "GET:/api/posts/?page=2"},
        KeyCase{"KeyQueryEmptySelectsNothing", "page=2&sort=x",
                KeyQuery{std::vector<std::string>{}}, "GET:/api/posts/"},
        KeyCase{"KeyQueryNeverSelectsBypass", "nocache=1&page=2", KeyQuery{{"page", "nocache"}},
                "GET:/api/posts/?page=2"},
        KeyCase{"DuplicatesKeepTheirOrder", "a=2&a=1", std::nullopt, "GET:/api/posts/?a=2&a=1"},
        KeyCase{"SortsByNameOnlyStable", "b=1&a=2&c&b=0&a=1", std::nullopt,
                "GET:/api/posts/?a=2&a=1&b=1&b=0&c"},
        KeyCase{"EmptyParamsDropped", "a=1&&b=2&", std::nullopt, "GET:/api/posts/?a=1&b=2"},
        KeyCase{"NoEqualsKeepsNoEquals", "flag&a=1", std::nullopt, "GET:/api/posts/?a=1&flag"},
        KeyCase{"EmptyValueKeepsEquals", "a=", std::nullopt, "GET:/api/posts/?a="},
        KeyCase{"FlagAndEmptyValueKeepTheirOrder", "a=&a", std::nullopt, "GET:/api/posts/?a=&a"},
        KeyCase{"DecodesUnreserved", "q=%7e", std::nullopt, "GET:/api/posts/?q=~"},
        KeyCase{"UpperCasesEscapes", "q=a%2fb", std::nullopt, "GET:/api/posts/?q=a%2Fb"},
        KeyCase{"EncodesSpace", "q=a%20b", std::nullopt, "GET:/api/posts/?q=a%20b"},
        KeyCase{"PlusStaysPlus", "q=a+b", std::nullopt, "GET:/api/posts/?q=a+b"},
        KeyCase{"EncodedPlusStaysEncoded", "q=a%2bb", std::nullopt, "GET:/api/posts/?q=a%2Bb"},
        KeyCase{"ReservedCharactersKeepTheirForm", "q=a:b/c;d&r=a%3Ab%2Fc%3Bd", std::nullopt,
                "GET:/api/posts/?q=a:b/c;d&r=a%3Ab%2Fc%3Bd"},
        KeyCase{"EncodedAmpersandStaysInValue", "q=a%26b", std::nullopt, "GET:/api/posts/?q=a%26b"},
        KeyCase{"EncodedNameDecoded", "%61=1", std::nullopt, "GET:/api/posts/?a=1"},
        KeyCase{"EncodedBypassNameDropped", "no%63ache=1&a=1", std::nullopt, "GET:/api/posts/?a=1"},
        KeyCase{"MalformedEscapeIsLiteralPercent", "q=100%&r=%zz", std::nullopt,
                "GET:/api/posts/?q=100%25&r=%25zz"},
        KeyCase{"TruncatedEscape", "q=%4", std::nullopt, "GET:/api/posts/?q=%254"},
        KeyCase{"MalformedEscapeCannotFormANewOne", "q=%%34%31", std::nullopt,
                "GET:/api/posts/?q=%2541"},
        KeyCase{"Utf8BytesEncoded", "q=\xC3\xA9", std::nullopt, "GET:/api/posts/?q=%C3%A9"},
        KeyCase{"ValueWithEquals", "q=a=b", std::nullopt, "GET:/api/posts/?q=a=b"}),
    [](const testing::TestParamInfo<KeyCase>& param_info) { return param_info.param.name; });

TEST(BuildCacheKey, EquivalentQueriesShareAKey) {
  const auto a = build_cache_key("GET", "/p", "x=%7E&y=1", std::nullopt, "nocache");
  const auto b = build_cache_key("GET", "/p", "y=1&nocache=1&x=~", std::nullopt, "nocache");
  EXPECT_EQ(a, b);
}

// RFC 3986 §6.2.2.2 makes only unreserved characters equivalent to their escapes: an origin
// reading a form decodes '+' as a space and "%2B" as '+', so one key for both would let a client
// plant the answer for "a b" under "a+b".
TEST(BuildCacheKey, PlusAndEncodedPlusDiffer) {
  EXPECT_NE(build_cache_key("GET", "/p", "q=a+b", std::nullopt, "nocache"),
            build_cache_key("GET", "/p", "q=a%2Bb", std::nullopt, "nocache"));
}

// The order of repeated params is meaning ("page=1&page=2" is read as 1 or as [1, 2]).
TEST(BuildCacheKey, OrderOfDuplicatesMatters) {
  EXPECT_NE(build_cache_key("GET", "/p", "page=1&page=2", std::nullopt, "nocache"),
            build_cache_key("GET", "/p", "page=2&page=1", std::nullopt, "nocache"));
  EXPECT_EQ(build_cache_key("GET", "/p", "page=1&x=0&page=2", std::nullopt, "nocache"),
            build_cache_key("GET", "/p", "x=0&page=1&page=2", std::nullopt, "nocache"));
}

// A key's own query builds the same key (what the proxy forwards is keyed the same way).
TEST(BuildCacheKey, IsIdempotent) {
  for (std::string query : {"b=%7e&a=1&a=0", "q=%%34%31", "q=100%", "x=a+b&x=%2b", "%61=\xff"}) {
    const auto key = build_cache_key("GET", "/p", query, std::nullopt, "nocache");
    const auto again = split_target(std::string_view(key).substr(4));
    EXPECT_EQ(build_cache_key("GET", again.path, again.query, std::nullopt, "nocache"), key)
        << query;
  }
}

TEST(BuildCacheKey, MethodAndPathVerbatim) {
  EXPECT_EQ(build_cache_key("HEAD", "/A/b%20c", "", std::nullopt, "nocache"), "HEAD:/A/b%20c");
}

TEST(BuildCacheKey, EmptyBypassParamRemovesNothing) {
  EXPECT_EQ(build_cache_key("GET", "/p", "nocache=1&=x", std::nullopt, ""), "GET:/p?=x&nocache=1");
}

TEST(HostAliases, NotConfiguredEveryHostIsItsOwnName) {
  const HostAliases none;
  EXPECT_EQ(none.canonical("victim.example"), std::optional<std::string_view>("victim.example"));
}

TEST(HostAliases, MapsAliasesAndRefusesUnknownHosts) {
  HostAliases hosts;
  ASSERT_TRUE(hosts.add("api.example.com", {"api", "api.example.com:443"}));
  EXPECT_EQ(hosts.canonical("api"), std::optional<std::string_view>("api.example.com"));
  EXPECT_EQ(hosts.canonical("api.example.com:443"),
            std::optional<std::string_view>("api.example.com"));
  EXPECT_EQ(hosts.canonical("api.example.com"), std::optional<std::string_view>("api.example.com"));
  EXPECT_EQ(hosts.canonical("evil.example"), std::nullopt);
  EXPECT_EQ(hosts.canonical("api.example.com:8080"), std::nullopt);
}

TEST(HostAliases, AnAliasOfTwoNamesIsRefused) {
  HostAliases hosts;
  ASSERT_TRUE(hosts.add("a.example", {"x"}));
  EXPECT_TRUE(hosts.add("a.example", {"x", "y"}));  // the same mapping twice is fine
  EXPECT_FALSE(hosts.add("b.example", {"x"}));
  EXPECT_FALSE(hosts.add("x", {}));
}

TEST(VariantKey, AppendsTheHostAfterASeparatorNoTargetContains) {
  EXPECT_EQ(variant_key("GET:/a?x=1", "victim.example"), "GET:/a?x=1 host=victim.example");
  EXPECT_NE(variant_key("GET:/a", "evil.example"), variant_key("GET:/a", "victim.example"));
}

TEST(RemoveQueryParam, RemovesEveryOccurrenceAndKeepsOthersVerbatim) {
  EXPECT_EQ(remove_query_param("b=2&nocache=1&a=%7e&nocache", "nocache"), "b=2&a=%7e");
  EXPECT_EQ(remove_query_param("nocache=true", "nocache"), "");
  EXPECT_EQ(remove_query_param("", "nocache"), "");
  EXPECT_EQ(remove_query_param("z=1&y=2", "nocache"), "z=1&y=2");
  EXPECT_EQ(remove_query_param("nocachex=1&xnocache=2", "nocache"), "nocachex=1&xnocache=2");
}

struct FlagCase {
  std::string name;
  std::string query;
  bool expected;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const FlagCase& c, std::ostream* os) {
  *os << c.name;
}

class QueryFlagSetTest : public testing::TestWithParam<FlagCase> {};

TEST_P(QueryFlagSetTest, Detects) {
  EXPECT_EQ(query_flag_set(GetParam().query, "nocache"), GetParam().expected) << GetParam().query;
}

INSTANTIATE_TEST_SUITE_P(
    Policy, QueryFlagSetTest,
    testing::Values(FlagCase{"True", "nocache=true", true}, FlagCase{"One", "nocache=1", true},
                    FlagCase{"UpperTrue", "nocache=TRUE", true},
                    FlagCase{"NoValue", "nocache", true},
                    FlagCase{"AmongOthers", "a=1&nocache=1&b=2", true},
                    FlagCase{"False", "nocache=false", false}, FlagCase{"Zero", "nocache=0", false},
                    FlagCase{"EmptyValue", "nocache=", false}, FlagCase{"Absent", "a=1", false},
                    FlagCase{"EmptyQuery", "", false},
                    FlagCase{"OtherNameWithPrefix", "nocachex=1", false},
                    FlagCase{"AnyOccurrenceSet", "nocache=0&nocache=1", true}),
    [](const testing::TestParamInfo<FlagCase>& param_info) { return param_info.param.name; });

TEST(SplitTarget, SplitsPathAndQuery) {
  auto t = split_target("/api/posts/?page=2&x");
  EXPECT_EQ(t.path, "/api/posts/");
  EXPECT_EQ(t.query, "page=2&x");
  t = split_target("/plain");
  EXPECT_EQ(t.path, "/plain");
  EXPECT_EQ(t.query, "");
  t = split_target("/q?");
  EXPECT_EQ(t.path, "/q");
  EXPECT_EQ(t.query, "");
  t = split_target("/a?b?c");
  EXPECT_EQ(t.path, "/a");
  EXPECT_EQ(t.query, "b?c");
}

}  // namespace
}  // namespace cachecar::policy
