#include "policy/cache_control.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachecar::policy {
namespace {

ResponseCacheControl parse_cc(std::string value) {
  return parse_response_cache_control({{"Cache-Control", std::move(value)}});
}

TEST(DeltaSeconds, DigitsOnlyCappedAtTwoToThe31) {
  EXPECT_EQ(parse_delta_seconds("0"), 0);
  EXPECT_EQ(parse_delta_seconds("0042"), 42);
  EXPECT_EQ(parse_delta_seconds("2147483648"), kDeltaSecondsMax);
  EXPECT_EQ(parse_delta_seconds("18446744073709551616"), kDeltaSecondsMax);
  for (const char* bad : {"", " 1", "1 ", "-1", "+1", "1s", "1.0", "\"1\"", "0x10"}) {
    EXPECT_FALSE(parse_delta_seconds(bad).has_value()) << bad;
  }
}

TEST(ResponseCacheControl, EmptyHasNothing) {
  const auto cc = parse_response_cache_control({});
  EXPECT_FALSE(cc.from_cdn_cache_control);
  EXPECT_FALSE(cc.max_age || cc.s_maxage || cc.stale_while_revalidate || cc.stale_if_error);
  EXPECT_FALSE(cc.no_store || cc.no_cache || cc.is_private || cc.is_public || cc.must_revalidate ||
               cc.proxy_revalidate);
  EXPECT_FALSE(cc.expires_unix || cc.expires_invalid);
}

TEST(ResponseCacheControl, EveryDirective) {
  const auto cc = parse_cc(
      "max-age=60, s-maxage=30, no-store, no-cache, private, public, must-revalidate, "
      "proxy-revalidate, stale-while-revalidate=5, stale-if-error=600, immutable, x-ext=\"a,b\"");
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_EQ(cc.s_maxage, 30);
  EXPECT_TRUE(cc.no_store && cc.no_cache && cc.is_private && cc.is_public);
  EXPECT_TRUE(cc.must_revalidate && cc.proxy_revalidate);
  EXPECT_EQ(cc.stale_while_revalidate, 5);
  EXPECT_EQ(cc.stale_if_error, 600);
  EXPECT_TRUE(cc.no_cache_fields.empty());
  EXPECT_TRUE(cc.private_fields.empty());
}

TEST(ResponseCacheControl, NamesAreCaseInsensitiveAndSpacesIgnored) {
  const auto cc = parse_cc("  MAX-AGE=10 ,No-Store,\tS-MaxAge=3  ,,  Must-Revalidate ");
  EXPECT_EQ(cc.max_age, 10);
  EXPECT_EQ(cc.s_maxage, 3);
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(cc.must_revalidate);
}

TEST(ResponseCacheControl, SimilarNamesAreNotDirectives) {
  const auto cc = parse_cc("no-storex, xprivate, max-ages=5, public-ish");
  EXPECT_FALSE(cc.no_store || cc.is_private || cc.is_public);
  EXPECT_FALSE(cc.max_age);
}

struct SecondsCase {
  std::string value;
  std::optional<std::int64_t> max_age;
};

class MaxAgeValueTest : public testing::TestWithParam<SecondsCase> {};

TEST_P(MaxAgeValueTest, Parses) {
  EXPECT_EQ(parse_cc(GetParam().value).max_age, GetParam().max_age) << GetParam().value;
  // s-maxage follows the same rules.
  std::string s = GetParam().value;
  s.replace(s.find("max-age"), 7, "s-maxage");
  EXPECT_EQ(parse_cc(s).s_maxage, GetParam().max_age) << s;
}

// RFC 9111 §1.2.2, §4.2.1: anything but a non-negative integer makes the response stale (0);
// an overflow counts as 2^31.
INSTANTIATE_TEST_SUITE_P(
    Policy, MaxAgeValueTest,
    testing::Values(SecondsCase{"max-age=0", 0}, SecondsCase{"max-age=5", 5},
                    SecondsCase{"max-age=005", 5}, SecondsCase{"max-age = 7", 7},
                    SecondsCase{"max-age=\"60\"", 0}, SecondsCase{"max-age=-1", 0},
                    SecondsCase{"max-age=60s", 0}, SecondsCase{"max-age=1.5", 0},
                    SecondsCase{"max-age=", 0}, SecondsCase{"max-age", 0},
                    SecondsCase{"max-age=+5", 0}, SecondsCase{"max-age=2147483647", 2147483647},
                    SecondsCase{"max-age=2147483648", kDeltaSecondsMax},
                    SecondsCase{"max-age=2147483649", kDeltaSecondsMax},
                    SecondsCase{"max-age=99999999999999999999999999", kDeltaSecondsMax}));

TEST(ResponseCacheControl, FirstOccurrenceWinsForValuedDirectives) {
  EXPECT_EQ(parse_cc("max-age=60, max-age=10").max_age, 60);
  EXPECT_EQ(parse_cc("max-age=10, max-age=60").max_age, 10);
  // An invalid first value still wins: the response is stale.
  EXPECT_EQ(parse_cc("max-age=abc, max-age=60").max_age, 0);
  // Across field lines too (RFC 9110 §5.3: lines combine in order).
  const auto cc = parse_response_cache_control({{"Cache-Control", "max-age=60"},
                                                {"cache-control", "max-age=5, s-maxage=1"},
                                                {"Cache-Control", "s-maxage=9"}});
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_EQ(cc.s_maxage, 1);
}

TEST(ResponseCacheControl, MostRestrictiveFlagsWin) {
  const auto cc = parse_response_cache_control(
      {{"Cache-Control", "public, max-age=60"}, {"Cache-Control", "no-store"}});
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(cc.is_public);
  // An unqualified private anywhere wins over a qualified one.
  const auto p = parse_cc("private=\"x-a\", private");
  EXPECT_TRUE(p.is_private);
  EXPECT_EQ(p.private_fields, std::vector<std::string>{"x-a"});
}

TEST(ResponseCacheControl, QuotedStringsAreOneDirective) {
  const auto cc = parse_cc("private=\"a, no-store\", max-age=5");
  EXPECT_FALSE(cc.no_store);
  EXPECT_FALSE(cc.is_private);
  EXPECT_EQ(cc.private_fields, (std::vector<std::string>{"a", "no-store"}));
  EXPECT_EQ(cc.max_age, 5);
  // A quoted-pair may escape a quote; the string still ends at the unescaped quote.
  const auto escaped = parse_cc(R"(x-ext="a\", no-store", no-cache)");
  EXPECT_FALSE(escaped.no_store);
  EXPECT_TRUE(escaped.no_cache);
}

TEST(ResponseCacheControl, QualifiedNoCacheAndPrivateListLowerCaseFields) {
  const auto cc = parse_cc("no-cache=\"Set-Cookie, X-Token\", private=\"X-User\", max-age=5");
  EXPECT_FALSE(cc.no_cache);
  EXPECT_FALSE(cc.is_private);
  EXPECT_EQ(cc.no_cache_fields, (std::vector<std::string>{"set-cookie", "x-token"}));
  EXPECT_EQ(cc.private_fields, std::vector<std::string>{"x-user"});
  // The token form names one field; duplicates are listed once.
  const auto token = parse_cc("no-cache=X-A, no-cache=\"x-a, X-B\"");
  EXPECT_FALSE(token.no_cache);
  EXPECT_EQ(token.no_cache_fields, (std::vector<std::string>{"x-a", "x-b"}));
  // An empty qualifier names nothing: read as the unqualified (stricter) form.
  EXPECT_TRUE(parse_cc("no-cache=\"\"").no_cache);
  EXPECT_TRUE(parse_cc("no-cache").no_cache);
  EXPECT_TRUE(parse_cc("private").is_private);
}

TEST(ResponseCacheControl, StaleWindowsInvalidValuesIgnored) {
  EXPECT_EQ(parse_cc("stale-while-revalidate=30").stale_while_revalidate, 30);
  EXPECT_EQ(parse_cc("stale-if-error=0").stale_if_error, 0);
  for (const char* bad :
       {"stale-while-revalidate", "stale-while-revalidate=", "stale-while-revalidate=-5",
        "stale-while-revalidate=\"30\"", "stale-while-revalidate=3m"}) {
    EXPECT_FALSE(parse_cc(bad).stale_while_revalidate.has_value()) << bad;
  }
  EXPECT_FALSE(parse_cc("stale-if-error=x").stale_if_error.has_value());
  // An invalid first occurrence is ignored, so a later valid one counts.
  EXPECT_EQ(parse_cc("stale-if-error=x, stale-if-error=9").stale_if_error, 9);
  EXPECT_EQ(parse_cc("stale-if-error=99999999999").stale_if_error, kDeltaSecondsMax);
}

TEST(ResponseCacheControl, MalformedItemsAreSkippedNotFatal) {
  // An unterminated quoted-string swallows the rest of the line, as a recipient must.
  const auto cc = parse_cc("max-age=5, x=\"open, no-store");
  EXPECT_EQ(cc.max_age, 5);
  EXPECT_FALSE(cc.no_store);
  EXPECT_EQ(parse_cc("bad name, max-age=3").max_age, 3);
}

TEST(ResponseCacheControl, Expires) {
  auto cc = parse_response_cache_control({{"Expires", "Sun, 06 Nov 1994 08:49:37 GMT"}});
  EXPECT_EQ(cc.expires_unix, 784111777);
  EXPECT_FALSE(cc.expires_invalid);
  // RFC 9111 §5.3: an invalid date, notably "0", means already expired.
  for (const char* bad : {"0", "-1", "", "tomorrow", "Sun, 06 Nov 1994 08:49:37 UTC"}) {
    cc = parse_response_cache_control({{"Expires", bad}});
    EXPECT_TRUE(cc.expires_invalid) << bad;
    EXPECT_FALSE(cc.expires_unix.has_value()) << bad;
  }
  // The first Expires line counts.
  cc = parse_response_cache_control(
      {{"Expires", "0"}, {"Expires", "Sun, 06 Nov 1994 08:49:37 GMT"}});
  EXPECT_TRUE(cc.expires_invalid);
  cc = parse_response_cache_control(
      {{"expires", "Sun, 06 Nov 1994 08:49:37 GMT"}, {"Expires", "0"}});
  EXPECT_EQ(cc.expires_unix, 784111777);
}

// RFC 9213 §2.1.
TEST(CdnCacheControl, ValidReplacesCacheControlAndExpires) {
  const auto cc = parse_response_cache_control({{"Cache-Control", "no-store, max-age=5"},
                                                {"Expires", "0"},
                                                {"CDN-Cache-Control", "max-age=600"}});
  EXPECT_TRUE(cc.from_cdn_cache_control);
  EXPECT_EQ(cc.max_age, 600);
  EXPECT_FALSE(cc.no_store);
  EXPECT_FALSE(cc.expires_invalid);
  EXPECT_FALSE(cc.expires_unix.has_value());

  const auto lines = parse_response_cache_control({{"cdn-cache-control", "s-maxage=10"},
                                                   {"Cache-Control", "public, max-age=5"},
                                                   {"CDN-Cache-Control", "no-cache"}});
  EXPECT_TRUE(lines.from_cdn_cache_control);
  EXPECT_EQ(lines.s_maxage, 10);
  EXPECT_TRUE(lines.no_cache);
  EXPECT_FALSE(lines.max_age.has_value());
  EXPECT_FALSE(lines.is_public);
}

TEST(CdnCacheControl, BrokenOrEmptyIsIgnored) {
  for (const char* broken : {"", "  ", "max-age=60, \"oops\"", "max-age=\"60", "max age=60",
                             "private=\"a\"b", "max-age=6 0", "max-age=60,=5"}) {
    const auto cc = parse_response_cache_control(
        {{"CDN-Cache-Control", broken}, {"Cache-Control", "max-age=5"}, {"Expires", "0"}});
    EXPECT_FALSE(cc.from_cdn_cache_control) << broken;
    EXPECT_EQ(cc.max_age, 5) << broken;
    EXPECT_TRUE(cc.expires_invalid) << broken;
  }
  // One broken line out of two is enough to ignore the field.
  const auto cc = parse_response_cache_control({{"CDN-Cache-Control", "max-age=60"},
                                                {"CDN-Cache-Control", "x=\"open"},
                                                {"Cache-Control", "max-age=5"}});
  EXPECT_FALSE(cc.from_cdn_cache_control);
  EXPECT_EQ(cc.max_age, 5);
}

TEST(CdnCacheControl, InvalidMaxAgeValueIsStillAValidField) {
  // A syntactically fine directive with a bad value: the field applies; the response is stale.
  const auto cc = parse_response_cache_control(
      {{"CDN-Cache-Control", "max-age=-1"}, {"Cache-Control", "max-age=500"}});
  EXPECT_TRUE(cc.from_cdn_cache_control);
  EXPECT_EQ(cc.max_age, 0);
}

// RFC 9111 §5.2.1, §5.4.
TEST(RequestCacheControl, Directives) {
  auto cc = parse_request_cache_control("", "");
  EXPECT_FALSE(cc.no_cache || cc.no_store || cc.only_if_cached);
  EXPECT_FALSE(cc.max_age || cc.min_fresh || cc.max_stale);

  cc = parse_request_cache_control(
      "No-Cache, no-store, only-if-cached, max-age=30, "
      "min-fresh=10, max-stale=5",
      "");
  EXPECT_TRUE(cc.no_cache && cc.no_store && cc.only_if_cached);
  EXPECT_EQ(cc.max_age, 30);
  EXPECT_EQ(cc.min_fresh, 10);
  EXPECT_EQ(cc.max_stale, 5);
}

TEST(RequestCacheControl, MaxAgeZeroIsNoCache) {
  const auto cc = parse_request_cache_control("max-age=0", "");
  EXPECT_TRUE(cc.no_cache);
  EXPECT_EQ(cc.max_age, 0);
  EXPECT_FALSE(parse_request_cache_control("max-age=1", "").no_cache);
}

TEST(RequestCacheControl, MaxStaleWithoutValueAcceptsAnyStaleness) {
  EXPECT_EQ(parse_request_cache_control("max-stale", "").max_stale, kDeltaSecondsMax);
  EXPECT_EQ(parse_request_cache_control("max-stale=99999999999", "").max_stale, kDeltaSecondsMax);
  EXPECT_FALSE(parse_request_cache_control("max-stale=abc", "").max_stale.has_value());
}

TEST(RequestCacheControl, InvalidValuesIgnoredFirstWins) {
  const auto cc = parse_request_cache_control("max-age=x, min-fresh=-1, max-age=5", "");
  EXPECT_EQ(cc.max_age, 5);
  EXPECT_FALSE(cc.no_cache);
  EXPECT_FALSE(cc.min_fresh.has_value());
  EXPECT_EQ(parse_request_cache_control("max-age=9, max-age=0", "").max_age, 9);
  EXPECT_FALSE(parse_request_cache_control("max-age=9, max-age=0", "").no_cache);
}

TEST(RequestCacheControl, PragmaOnlyWithoutCacheControl) {
  EXPECT_TRUE(parse_request_cache_control("", "no-cache").no_cache);
  EXPECT_TRUE(parse_request_cache_control("  ", "x, NO-CACHE").no_cache);
  EXPECT_FALSE(parse_request_cache_control("max-age=60", "no-cache").no_cache);
  EXPECT_FALSE(parse_request_cache_control("", "no-cache-please").no_cache);
}

}  // namespace
}  // namespace cachecar::policy
