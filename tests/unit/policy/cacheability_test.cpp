#include "policy/cacheability.hpp"
#include "policy/cache_control.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <sstream>
#include <string>

namespace cachecar::policy {
namespace {

using std::chrono::milliseconds;

Rule cached_rule(milliseconds ttl = milliseconds(120'000)) {
  Rule rule;
  rule.method = "GET";
  rule.name = "GET /api/users/{id}";
  rule.pattern = RoutePattern::parse("/api/users/{id}", nullptr).value();
  rule.ttl = ttl;
  return rule;
}

CacheLimits limits() {
  CacheLimits l;
  l.default_ttl = milliseconds(60'000);
  l.max_ttl = milliseconds(3'600'000);
  l.max_body_bytes = 1000;
  return l;
}

StoreDecision decide(const Rule& rule, const HeaderList& headers, int status = 200,
                     bool authorization = false, std::uint64_t body_bytes = 10) {
  const CacheLimits l = limits();
  StoreContext context;
  context.rule = &rule;
  context.limits = &l;
  context.request_has_authorization = authorization;
  context.body_bytes = body_bytes;
  return decide_store(ResponseView{status, &headers}, context);
}

const HeaderList kPlain = {{"Content-Type", "application/json"}};

TEST(DecideStore, BaselineIsStoredWithRuleTtl) {
  const auto d = decide(cached_rule(), kPlain);
  EXPECT_TRUE(d.store());
  EXPECT_EQ(d.reason, NotStored::None);
  EXPECT_EQ(d.ttl, milliseconds(120'000));
}

TEST(DecideStore, DefaultTtlWhenRuleHasNone) {
  Rule rule = cached_rule();
  rule.ttl.reset();
  EXPECT_EQ(decide(rule, kPlain).ttl, milliseconds(60'000));
}

TEST(DecideStore, TtlCappedAtMaxTtl) {
  EXPECT_EQ(decide(cached_rule(milliseconds(7'200'000)), kPlain).ttl, milliseconds(3'600'000));
}

TEST(DecideStore, NonOkStatusNotStored) {
  for (int status : {201, 204, 206, 301, 304, 404, 500}) {
    EXPECT_EQ(decide(cached_rule(), kPlain, status).reason, NotStored::Status) << status;
  }
}

TEST(DecideStore, AuthorizationNotStoredUnlessRuleAllows) {
  EXPECT_EQ(decide(cached_rule(), kPlain, 200, true).reason, NotStored::Authorization);
  Rule rule = cached_rule();
  rule.cache_authorized = true;
  EXPECT_TRUE(decide(rule, kPlain, 200, true).store());
}

TEST(DecideStore, TooLargeOnlyAboveLimit) {
  EXPECT_TRUE(decide(cached_rule(), kPlain, 200, false, 1000).store());
  EXPECT_EQ(decide(cached_rule(), kPlain, 200, false, 1001).reason, NotStored::TooLarge);
}

TEST(DecideStore, ChecksInDocumentedOrder) {
  const HeaderList everything = {
      {"Set-Cookie", "a=b"}, {"Cache-Control", "no-store, private"}, {"Vary", "Cookie"}};
  EXPECT_EQ(decide(cached_rule(), everything, 500, true, 5000).reason, NotStored::Authorization);
  EXPECT_EQ(decide(cached_rule(), everything, 500, false, 5000).reason, NotStored::Status);
  EXPECT_EQ(decide(cached_rule(), everything, 200, false, 5000).reason, NotStored::TooLarge);
  EXPECT_EQ(decide(cached_rule(), everything).reason, NotStored::SetCookie);
  EXPECT_EQ(decide(cached_rule(), {{"Cache-Control", "private, no-store"}, {"Vary", "*"}}).reason,
            NotStored::NoStore);
  EXPECT_EQ(decide(cached_rule(), {{"Cache-Control", "private"}, {"Vary", "*"}}).reason,
            NotStored::Private);
}

struct HeaderCase {
  std::string name;
  HeaderList headers;
  NotStored expected;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const HeaderCase& c, std::ostream* os) {
  *os << c.name;
}

class DecideStoreHeadersTest : public testing::TestWithParam<HeaderCase> {};

TEST_P(DecideStoreHeadersTest, Decides) {
  EXPECT_EQ(decide(cached_rule(), GetParam().headers).reason, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Policy, DecideStoreHeadersTest,
    testing::Values(
        HeaderCase{"SetCookie", {{"set-cookie", "session=1"}}, NotStored::SetCookie},
        HeaderCase{"NoStore", {{"Cache-Control", "no-store"}}, NotStored::NoStore},
        HeaderCase{"NoStoreUpperCase", {{"cache-control", "NO-STORE"}}, NotStored::NoStore},
        HeaderCase{
            "NoStoreInList", {{"Cache-Control", "max-age=60, no-store"}}, NotStored::NoStore},
        HeaderCase{"NoStoreInSecondHeader",
                   {{"Cache-Control", "max-age=60"}, {"Cache-Control", "no-store"}},
                   NotStored::NoStore},
        HeaderCase{"Private", {{"Cache-Control", "private"}}, NotStored::Private},
        // RFC 9111 §5.2.2.7: a qualified private only keeps the named fields out of the store.
        HeaderCase{"PrivateWithFields", {{"Cache-Control", "private=\"x-user\""}}, NotStored::None},
        HeaderCase{"PrivateWithSpaces",
                   {{"Cache-Control", "public,  Private ,max-age=5"}},
                   NotStored::Private},
        HeaderCase{"QuotedNoStoreIsNotADirective",
                   {{"Cache-Control", "no-cache=\"a, no-store\", max-age=5"}},
                   NotStored::None},
        HeaderCase{
            "SimilarNameIsNotNoStore", {{"Cache-Control", "no-storex, xprivate"}}, NotStored::None},
        HeaderCase{"PublicMaxAge", {{"Cache-Control", "public, max-age=60"}}, NotStored::None},
        HeaderCase{"VaryStar", {{"Vary", "*"}}, NotStored::Vary},
        HeaderCase{"VaryCookie", {{"Vary", "Cookie"}}, NotStored::None},
        HeaderCase{"VaryEncodingAndOther",
                   {{"Vary", "Accept-Encoding, Accept-Language"}},
                   NotStored::None},
        HeaderCase{"VaryStarInSecondHeader",
                   {{"Vary", "Accept-Encoding"}, {"Vary", "Origin, *"}},
                   NotStored::Vary},
        HeaderCase{"VaryEncodingIdentityBody", {{"Vary", "accept-encoding"}}, NotStored::None},
        HeaderCase{"VaryEncodingExplicitIdentity",
                   {{"Vary", "Accept-Encoding"}, {"Content-Encoding", "identity"}},
                   NotStored::None},
        HeaderCase{"VaryEncodingGzipBody",
                   {{"Vary", "Accept-Encoding"}, {"Content-Encoding", "gzip"}},
                   NotStored::None},
        HeaderCase{"GzipWithoutVary", {{"Content-Encoding", "gzip"}}, NotStored::None},
        HeaderCase{"EmptyVary", {{"Vary", ""}}, NotStored::None}),
    [](const testing::TestParamInfo<HeaderCase>& param_info) { return param_info.param.name; });

TEST(DecideStore, CachePrivateIgnoresCookieNoStoreAndPrivate) {
  Rule rule = cached_rule();
  rule.cache_private = true;
  const HeaderList headers = {{"Set-Cookie", "a=b"}, {"Cache-Control", "private, no-store"}};
  EXPECT_TRUE(decide(rule, headers).store());
}

TEST(DecideStore, CachePrivateStillRespectsVaryStatusAndSize) {
  Rule rule = cached_rule();
  rule.cache_private = true;
  EXPECT_EQ(decide(rule, {{"Vary", "*"}}).reason, NotStored::Vary);
  EXPECT_EQ(decide(rule, kPlain, 404).reason, NotStored::Status);
  EXPECT_EQ(decide(rule, kPlain, 200, false, 5000).reason, NotStored::TooLarge);
  EXPECT_EQ(decide(rule, kPlain, 200, true).reason, NotStored::Authorization);
}

TEST(DetailText, NamesEveryReason) {
  EXPECT_EQ(detail_text(NotStored::None), "stored");
  EXPECT_EQ(detail_text(NotStored::Status), "status");
  EXPECT_EQ(detail_text(NotStored::SetCookie), "set-cookie");
  EXPECT_EQ(detail_text(NotStored::NoStore), "no-store");
  EXPECT_EQ(detail_text(NotStored::Private), "private");
  EXPECT_EQ(detail_text(NotStored::Vary), "vary");
  EXPECT_EQ(detail_text(NotStored::TooLarge), "too-large");
  EXPECT_EQ(detail_text(NotStored::Authorization), "authorization");
  EXPECT_EQ(detail_text(NotStored::NoFreshness), "no-freshness");
  EXPECT_EQ(detail_text(NotStored::Range), "range");
  std::ostringstream os;
  os << NotStored::TooLarge;
  EXPECT_EQ(os.str(), "too-large");
}

TEST(IsUnstorableHeader, HopByHopFramingAndOurOwnFields) {
  for (const char* name : {"Connection", "keep-alive", "Proxy-Connection", "Proxy-Authenticate",
                           "PROXY-AUTHORIZATION", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
                           "Content-Length", "Age", "X-Cache", "Cache-Status", "Set-Cookie"}) {
    EXPECT_TRUE(is_unstorable_header(name)) << name;
  }
  for (const char* name : {"Content-Type", "ETag", "Cache-Control", "Vary", "Content-Encoding",
                           "Last-Modified", "X-Cache-Key", "Ages", ""}) {
    EXPECT_FALSE(is_unstorable_header(name)) << name;
  }
}

TEST(HttpView, FindHeaderIsCaseInsensitiveAndReturnsFirst) {
  const HeaderList headers = {{"Content-Type", "a"}, {"content-type", "b"}, {"ETag", "\"1\""}};
  EXPECT_EQ(find_header(headers, "CONTENT-TYPE"), "a");
  EXPECT_EQ(find_header(headers, "etag"), "\"1\"");
  EXPECT_EQ(find_header(headers, "missing"), "");
  EXPECT_TRUE(has_header(headers, "ETAG"));
  EXPECT_FALSE(has_header(headers, "Vary"));
  EXPECT_FALSE(has_header({}, "Vary"));
}

TEST(RuleLifetime, IsTheRuleTtlCappedAtMaxTtlOrTheDefault) {
  EXPECT_EQ(rule_lifetime(cached_rule(milliseconds(120'000)), limits()), milliseconds(120'000));
  EXPECT_EQ(rule_lifetime(cached_rule(milliseconds(7'200'000)), limits()), milliseconds(3'600'000));
  Rule no_ttl = cached_rule();
  no_ttl.ttl.reset();
  EXPECT_EQ(rule_lifetime(no_ttl, limits()), milliseconds(60'000));
}

// ---- Freshness recorded at store time (RFC 9111 §4.2), both rule modes ----

constexpr std::int64_t kResponseMs = 1'700'000'000'000;  // a whole second
constexpr std::int64_t kDelayMs = 120;                   // request sent this long before

std::string http_date(std::int64_t ms) {
  return format_http_date(ms / 1000);
}

Rule upstream_rule(std::optional<milliseconds> ttl = std::nullopt) {
  Rule rule = cached_rule();
  rule.freshness = FreshnessMode::Upstream;
  rule.ttl = ttl;
  return rule;
}

struct Store {
  Rule rule;
  HeaderList headers;
  int status = 200;
  bool authorization = false;
  bool client_no_store = false;
  CacheLimits limits = cachecar::policy::limits();

  StoreDecision decide() const {
    StoreContext context;
    context.rule = &rule;
    context.limits = &limits;
    context.request_has_authorization = authorization;
    context.client_no_store = client_no_store;
    context.request_ms = kResponseMs - kDelayMs;
    context.response_ms = kResponseMs;
    context.body_bytes = 10;
    return decide_store(ResponseView{status, &headers}, context);
  }
};

StoreDecision decide_with(Rule rule, HeaderList headers, int status = 200) {
  return Store{std::move(rule), std::move(headers), status}.decide();
}

StoreDecision upstream(HeaderList headers, int status = 200,
                       std::optional<milliseconds> ttl = std::nullopt) {
  return decide_with(upstream_rule(ttl), std::move(headers), status);
}

// RFC 9111 §4.2.3: corrected_initial_age = max(apparent_age, Age + response_delay).
struct AgeCase {
  std::string name;
  HeaderList headers;
  std::int64_t initial_age_ms;
};
void PrintTo(const AgeCase& c, std::ostream* os) {
  *os << c.name;
}

class InitialAgeTest : public testing::TestWithParam<AgeCase> {};

TEST_P(InitialAgeTest, BothModes) {
  for (const Rule& rule : {cached_rule(), upstream_rule(milliseconds(60'000))}) {
    HeaderList headers = GetParam().headers;
    headers.emplace_back("Cache-Control", "max-age=600");
    const auto d = decide_with(rule, headers);
    ASSERT_TRUE(d.store()) << d.reason;
    EXPECT_EQ(d.freshness.initial_age_ms, GetParam().initial_age_ms);
    EXPECT_EQ(d.freshness.request_ms, kResponseMs - kDelayMs);
    EXPECT_EQ(d.freshness.response_ms, kResponseMs);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Policy, InitialAgeTest,
    testing::Values(
        AgeCase{"NoDateNoAge", {}, kDelayMs},
        AgeCase{"DateNow", {{"Date", http_date(kResponseMs)}}, kDelayMs},
        AgeCase{"DateFiveSecondsAgo", {{"Date", http_date(kResponseMs - 5'000)}}, 5'000},
        AgeCase{"DateInTheFuture", {{"Date", http_date(kResponseMs + 3'600'000)}}, kDelayMs},
        AgeCase{"InvalidDate", {{"Date", "yesterday"}}, kDelayMs},
        AgeCase{"Age", {{"Age", "30"}}, 30'000 + kDelayMs},
        AgeCase{"AgeWithSpaces", {{"Age", " 30 "}}, 30'000 + kDelayMs},
        AgeCase{"AgeBeatsApparentAge",
                {{"Date", http_date(kResponseMs - 5'000)}, {"Age", "10"}},
                10'000 + kDelayMs},
        AgeCase{"ApparentAgeBeatsAge",
                {{"Date", http_date(kResponseMs - 50'000)}, {"Age", "10"}},
                50'000},
        AgeCase{"NegativeAge", {{"Age", "-5"}}, kDelayMs},
        AgeCase{"FractionalAge", {{"Age", "1.5"}}, kDelayMs},
        AgeCase{"TextAge", {{"Age", "old"}}, kDelayMs},
        AgeCase{"EmptyAge", {{"Age", ""}}, kDelayMs},
        AgeCase{"LargeAge", {{"Age", "500"}}, 500'000 + kDelayMs}),
    [](const testing::TestParamInfo<AgeCase>& param_info) { return param_info.param.name; });

// §1.2.2: an Age too large to represent counts as 2^31 seconds. Rule mode still stores it for
// the rule's ttl; upstream mode sees it stale on arrival.
TEST(InitialAge, OverflowingAgeIsCapped) {
  const HeaderList headers = {{"Age", "999999999999999999999999"},
                              {"Cache-Control", "max-age=600"}};
  const auto d = decide_with(cached_rule(), headers);
  ASSERT_TRUE(d.store());
  EXPECT_EQ(d.freshness.initial_age_ms, kDeltaSecondsMax * 1000 + kDelayMs);
  EXPECT_EQ(d.ttl, milliseconds(120'000));
  EXPECT_EQ(decide_reuse(d.freshness, kResponseMs, nullptr).age_s, kDeltaSecondsMax);
  EXPECT_EQ(upstream(headers).reason, NotStored::NoFreshness);
}

TEST(DecideStoreRuleMode, LifetimeIsTheRuleTtlFromArrivalWhateverTheResponseSays) {
  const auto d = decide_with(
      cached_rule(), {{"Cache-Control", "max-age=5, no-cache"}, {"Age", "30"}, {"Expires", "0"}});
  ASSERT_TRUE(d.store());
  EXPECT_EQ(d.freshness.initial_age_ms, 30'000 + kDelayMs);
  // Fresh for the rule's 120 s after it arrived: current age starts at the initial age.
  EXPECT_EQ(d.freshness.lifetime_ms, 120'000 + 30'000 + kDelayMs);
  EXPECT_EQ(d.ttl, milliseconds(120'000));
  EXPECT_FALSE(d.freshness.has(kNoCache));
  const auto reuse = decide_reuse(d.freshness, kResponseMs + 119'999, nullptr);
  EXPECT_EQ(reuse.reuse, Reuse::Fresh);
  EXPECT_EQ(reuse.age_s, 150);
  EXPECT_EQ(decide_reuse(d.freshness, kResponseMs + 120'000, nullptr).reuse, Reuse::Revalidate);
}

TEST(DecideStoreRuleMode, StaleWindowsFromTheRuleCappedByMaxStale) {
  Store s{cached_rule(), {{"ETag", "\"1\""}, {"Cache-Control", "stale-while-revalidate=9"}}};
  s.rule.stale_while_revalidate = milliseconds(30'000);
  s.rule.stale_if_error = milliseconds(7'200'000);
  auto d = s.decide();
  ASSERT_TRUE(d.store());
  EXPECT_EQ(d.freshness.stale_while_revalidate_ms, 30'000);  // the response's value is not used
  EXPECT_EQ(d.freshness.stale_if_error_ms, 3'600'000);       // capped by cache.max_stale
  EXPECT_TRUE(d.freshness.has(kHasValidator));
  // No keep in rule mode: lifetime + the longest window.
  EXPECT_EQ(d.ttl, milliseconds(120'000 + 3'600'000));

  s.limits.max_stale = milliseconds(10'000);
  d = s.decide();
  EXPECT_EQ(d.freshness.stale_while_revalidate_ms, 10'000);
  EXPECT_EQ(d.freshness.stale_if_error_ms, 10'000);
  EXPECT_EQ(d.ttl, milliseconds(130'000));
}

TEST(DecideStoreRuleMode, MustRevalidateClosesTheStaleWindows) {
  for (const char* directive : {"must-revalidate", "proxy-revalidate", "s-maxage=5"}) {
    Store s{cached_rule(), {{"Cache-Control", directive}}};
    s.rule.stale_while_revalidate = milliseconds(30'000);
    s.rule.stale_if_error = milliseconds(30'000);
    const auto d = s.decide();
    ASSERT_TRUE(d.store()) << directive;
    EXPECT_TRUE(d.freshness.has(kMustRevalidate)) << directive;
    EXPECT_EQ(d.freshness.stale_while_revalidate_ms, 0) << directive;
    EXPECT_EQ(d.freshness.stale_if_error_ms, 0) << directive;
    EXPECT_EQ(d.ttl, milliseconds(120'000)) << directive;
  }
}

TEST(DecideStoreRuleMode, ValidatorFlag) {
  EXPECT_FALSE(decide_with(cached_rule(), kPlain).freshness.has(kHasValidator));
  EXPECT_TRUE(decide_with(cached_rule(), {{"etag", "W/\"x\""}}).freshness.has(kHasValidator));
  EXPECT_TRUE(decide_with(cached_rule(), {{"Last-Modified", http_date(kResponseMs)}})
                  .freshness.has(kHasValidator));
}

TEST(DecideStoreRuleMode, PublicDoesNotOverrideAuthorization) {
  Store s{cached_rule(), {{"Cache-Control", "public, max-age=60"}}};
  s.authorization = true;
  EXPECT_EQ(s.decide().reason, NotStored::Authorization);
}

TEST(DecideStore, ClientNoStoreBothModesEvenWithCachePrivate) {
  for (Rule rule : {cached_rule(), upstream_rule(milliseconds(60'000))}) {
    rule.cache_private = true;
    Store s{rule, {{"Cache-Control", "max-age=60"}}};
    s.client_no_store = true;
    EXPECT_EQ(s.decide().reason, NotStored::NoStore);
  }
}

TEST(DecideStore, StripFieldsFromQualifiedNoCacheAndPrivateBothModes) {
  for (const Rule& rule : {cached_rule(), upstream_rule()}) {
    const auto d = decide_with(rule, {{"Cache-Control", "no-cache=\"X-A\", max-age=60"},
                                      {"Cache-Control", "private=\"X-B, x-a\""}});
    ASSERT_TRUE(d.store()) << d.reason;
    EXPECT_EQ(d.strip_fields, (std::vector<std::string>{"x-a", "x-b"}));
    EXPECT_FALSE(d.freshness.has(kNoCache));
  }
  EXPECT_TRUE(upstream({{"Cache-Control", "max-age=60"}}).strip_fields.empty());
}

// RFC 9111 §5.2.2.7: a response whose only privacy is private="Set-Cookie" is stored without it.
TEST(DecideStore, SetCookieNamedPrivateIsStoredWithoutIt) {
  for (const Rule& rule : {cached_rule(), upstream_rule()}) {
    auto d = decide_with(
        rule, {{"Set-Cookie", "a=b"}, {"Cache-Control", "private=\"Set-Cookie\", max-age=60"}});
    ASSERT_TRUE(d.store()) << d.reason;
    EXPECT_EQ(d.strip_fields, std::vector<std::string>{"set-cookie"});
    d = decide_with(rule,
                    {{"Set-Cookie", "a=b"}, {"Cache-Control", "private=\"X-Other\", max-age=60"}});
    EXPECT_EQ(d.reason, NotStored::SetCookie);
    d = decide_with(rule, {{"Set-Cookie", "a=b"},
                           {"Cache-Control", "private=\"Set-Cookie\", private, max-age=60"}});
    EXPECT_EQ(d.reason, NotStored::Private);
  }
}

TEST(DecideStore, CdnCacheControlDecidesInsteadOfCacheControl) {
  auto d = upstream({{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=60"}});
  ASSERT_TRUE(d.store()) << d.reason;
  EXPECT_EQ(d.freshness.lifetime_ms, 60'000);
  d = upstream({{"Cache-Control", "max-age=60"}, {"CDN-Cache-Control", "no-store"}});
  EXPECT_EQ(d.reason, NotStored::NoStore);
  // A broken CDN-Cache-Control is ignored.
  d = upstream({{"Cache-Control", "max-age=60"}, {"CDN-Cache-Control", "max-age=\"1"}});
  EXPECT_EQ(d.freshness.lifetime_ms, 60'000);
  // It replaces Expires too.
  d = upstream({{"Expires", "0"}, {"CDN-Cache-Control", "public"}, {"ETag", "\"1\""}}, 200,
               milliseconds(30'000));
  EXPECT_EQ(d.freshness.lifetime_ms, 30'000);
}

// ---- freshness: upstream ----

TEST(DecideStoreUpstream, ExplicitLifetimePrecedence) {
  const std::string date = http_date(kResponseMs - 10'000);
  const std::string expires = http_date(kResponseMs + 50'000);
  // §4.2.1: s-maxage, then max-age, then Expires - Date.
  EXPECT_EQ(upstream({{"Cache-Control", "max-age=20, s-maxage=10"}, {"Expires", expires}})
                .freshness.lifetime_ms,
            10'000);
  EXPECT_EQ(upstream({{"Cache-Control", "max-age=20"}, {"Expires", expires}}).freshness.lifetime_ms,
            20'000);
  EXPECT_EQ(upstream({{"Date", date}, {"Expires", expires}}).freshness.lifetime_ms, 60'000);
  // Without a Date, the time the response arrived.
  EXPECT_EQ(upstream({{"Expires", expires}}).freshness.lifetime_ms, 50'000);
  // An Expires before Date: lifetime 0.
  EXPECT_EQ(
      upstream({{"Date", date}, {"Expires", http_date(kResponseMs - 20'000)}, {"ETag", "\"1\""}})
          .freshness.lifetime_ms,
      0);
}

TEST(DecideStoreUpstream, ExplicitFreshnessBeatsTheRuleTtl) {
  const auto d = upstream({{"Cache-Control", "max-age=5"}}, 200, milliseconds(600'000));
  ASSERT_TRUE(d.store());
  EXPECT_EQ(d.freshness.lifetime_ms, 5'000);
  EXPECT_EQ(d.ttl, milliseconds(5'000 - kDelayMs));
}

TEST(DecideStoreUpstream, LifetimeCappedByMaxTtl) {
  const auto d = upstream({{"Cache-Control", "max-age=99999999"}});
  EXPECT_EQ(d.freshness.lifetime_ms, 3'600'000);
  EXPECT_EQ(upstream({}, 200, milliseconds(7'200'000)).freshness.lifetime_ms, 3'600'000);
}

TEST(DecideStoreUpstream, InvalidExpiresIsAlreadyExpired) {
  EXPECT_EQ(upstream({{"Expires", "0"}}).reason, NotStored::NoFreshness);
  // Explicit (lifetime 0), so the rule's ttl does not apply; with a validator it is kept.
  const auto d = upstream({{"Expires", "0"}, {"ETag", "\"1\""}}, 200, milliseconds(60'000));
  ASSERT_TRUE(d.store());
  EXPECT_EQ(d.freshness.lifetime_ms, 0);
  EXPECT_EQ(d.ttl, milliseconds(3'600'000 - kDelayMs));
}

TEST(DecideStoreUpstream, InvalidMaxAgeIsStale) {
  for (const char* cc : {"max-age=\"60\"", "max-age=-1", "max-age=60s", "s-maxage=x"}) {
    const auto d = upstream({{"Cache-Control", cc}, {"ETag", "\"1\""}}, 200, milliseconds(60'000));
    ASSERT_TRUE(d.store()) << cc;
    EXPECT_EQ(d.freshness.lifetime_ms, 0) << cc;
  }
}

TEST(DecideStoreUpstream, AnyFinalStatusWithExplicitFreshness) {
  for (int status : {200, 201, 202, 203, 204, 300, 301, 302, 303, 307, 308, 400,
                     403, 404, 405, 410, 414, 418, 500, 501, 502, 503, 504, 599}) {
    const auto d = upstream({{"Cache-Control", "max-age=60"}}, status);
    EXPECT_TRUE(d.store()) << status << " " << d.reason;
  }
  for (int status : {200, 302, 307, 500}) {
    EXPECT_TRUE(upstream({{"Expires", http_date(kResponseMs + 60'000)}}, status).store()) << status;
  }
}

TEST(DecideStoreUpstream, NeverPartialInterimOrNotModified) {
  EXPECT_EQ(upstream({{"Cache-Control", "max-age=60"}}, 206).reason, NotStored::Range);
  EXPECT_EQ(upstream({}, 206, milliseconds(60'000)).reason, NotStored::Range);
  for (int status : {100, 101, 102, 103, 304, 600, 99}) {
    EXPECT_EQ(upstream({{"Cache-Control", "max-age=60"}}, status).reason, NotStored::Status)
        << status;
  }
}

TEST(DecideStoreUpstream, WithoutExplicitFreshnessOnlyHeuristicallyCacheableByTtl) {
  for (int status : {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}) {
    const auto d = upstream({}, status, milliseconds(30'000));
    ASSERT_TRUE(d.store()) << status << " " << d.reason;
    EXPECT_EQ(d.freshness.lifetime_ms, 30'000) << status;
    EXPECT_EQ(d.ttl, milliseconds(30'000 - kDelayMs)) << status;
    // No ttl (or ttl 0): nothing to go by.
    EXPECT_EQ(upstream({}, status).reason, NotStored::NoFreshness) << status;
    EXPECT_EQ(upstream({}, status, milliseconds(0)).reason, NotStored::NoFreshness) << status;
  }
  for (int status : {201, 202, 302, 303, 307, 400, 403, 500, 502, 503, 504}) {
    EXPECT_EQ(upstream({}, status, milliseconds(30'000)).reason, NotStored::Status) << status;
  }
}

// RFC 9111 §4.2.2: 10 % of the time since Last-Modified, capped by ttl when set.
TEST(DecideStoreUpstream, Heuristic) {
  Rule rule = upstream_rule();
  rule.heuristic = true;
  const HeaderList headers = {{"Date", http_date(kResponseMs)},
                              {"Last-Modified", http_date(kResponseMs - 1'000'000)}};
  auto d = decide_with(rule, headers);
  ASSERT_TRUE(d.store()) << d.reason;
  EXPECT_EQ(d.freshness.lifetime_ms, 100'000);
  EXPECT_TRUE(d.freshness.has(kHasValidator));
  EXPECT_EQ(d.ttl, milliseconds(100'000 - kDelayMs + 3'600'000));  // what is left + keep

  rule.ttl = milliseconds(30'000);
  EXPECT_EQ(decide_with(rule, headers).freshness.lifetime_ms, 30'000);  // capped by ttl
  rule.ttl = milliseconds(0);
  EXPECT_EQ(decide_with(rule, headers).freshness.lifetime_ms, 100'000);  // 0: no cap

  // Without Date: from when it arrived.
  EXPECT_EQ(
      decide_with(rule, {{"Last-Modified", http_date(kResponseMs - 50'000)}}).freshness.lifetime_ms,
      5'000);
  // Capped by max_ttl.
  EXPECT_EQ(decide_with(rule, {{"Last-Modified", http_date(kResponseMs - 86'400'000'000)}})
                .freshness.lifetime_ms,
            3'600'000);
  // Explicit freshness wins over the heuristic.
  EXPECT_EQ(decide_with(rule, {{"Cache-Control", "max-age=7"}, headers[1]}).freshness.lifetime_ms,
            7'000);
  // Only heuristically cacheable statuses.
  Store redirect{rule, headers, 302};
  EXPECT_EQ(redirect.decide().reason, NotStored::Status);
}

TEST(DecideStoreUpstream, HeuristicWithoutUsableLastModifiedFallsBackToTtl) {
  Rule rule = upstream_rule();
  rule.heuristic = true;
  EXPECT_EQ(decide_with(rule, {}).reason, NotStored::NoFreshness);
  EXPECT_EQ(decide_with(rule, {{"Last-Modified", "last week"}}).reason,
            NotStored::NoFreshness);  // a validator only in name: lifetime unknown
  rule.ttl = milliseconds(30'000);
  EXPECT_EQ(decide_with(rule, {}).freshness.lifetime_ms, 30'000);
  EXPECT_EQ(decide_with(rule, {{"Last-Modified", "last week"}}).freshness.lifetime_ms, 30'000);
  // Heuristic off: the ttl even with a Last-Modified.
  rule.heuristic = false;
  EXPECT_EQ(decide_with(rule, {{"Last-Modified", http_date(kResponseMs - 1'000'000)}})
                .freshness.lifetime_ms,
            30'000);
}

// RFC 9111 §3.5.
TEST(DecideStoreUpstream, AuthorizationNeedsPublicSMaxageOrMustRevalidate) {
  Store s{upstream_rule(), {{"Cache-Control", "max-age=60"}}};
  s.authorization = true;
  EXPECT_EQ(s.decide().reason, NotStored::Authorization);
  for (const char* cc : {"public, max-age=60", "s-maxage=60", "must-revalidate, max-age=60"}) {
    s.headers = {{"Cache-Control", cc}};
    const auto d = s.decide();
    ASSERT_TRUE(d.store()) << cc << " " << d.reason;
    EXPECT_TRUE(d.freshness.has(kSharedWithAuthorization)) << cc;
  }
  s.headers = {{"Cache-Control", "max-age=60"}};
  s.rule.cache_authorized = true;
  const auto d = s.decide();
  ASSERT_TRUE(d.store());
  EXPECT_FALSE(d.freshness.has(kSharedWithAuthorization));
}

TEST(DecideStoreUpstream, NoStorePrivateSetCookieUnlessCachePrivate) {
  EXPECT_EQ(upstream({{"Cache-Control", "no-store, max-age=60"}}).reason, NotStored::NoStore);
  EXPECT_EQ(upstream({{"Cache-Control", "private, max-age=60"}}).reason, NotStored::Private);
  EXPECT_EQ(upstream({{"Cache-Control", "max-age=60"}, {"Set-Cookie", "a=b"}}).reason,
            NotStored::SetCookie);
  Rule rule = upstream_rule();
  rule.cache_private = true;
  EXPECT_TRUE(
      decide_with(rule, {{"Cache-Control", "no-store, private, max-age=60"}, {"Set-Cookie", "a"}})
          .store());
  EXPECT_EQ(upstream({{"Cache-Control", "max-age=60"}, {"Vary", "*"}}).reason, NotStored::Vary);
  EXPECT_TRUE(
      upstream({{"Cache-Control", "max-age=60"}, {"Vary", "Origin, Accept-Encoding"}}).store());
}

// RFC 9111 §5.2.2.4, issue point 3: stored, revalidated before every reuse; kept with a
// validator even without any lifetime.
TEST(DecideStoreUpstream, NoCacheIsStoredAndRevalidated) {
  auto d = upstream({{"Cache-Control", "no-cache"}, {"ETag", "W/\"a\""}});
  ASSERT_TRUE(d.store()) << d.reason;
  EXPECT_TRUE(d.freshness.has(kNoCache));
  EXPECT_EQ(d.freshness.lifetime_ms, 0);
  EXPECT_EQ(d.ttl, milliseconds(3'600'000 - kDelayMs));
  EXPECT_EQ(decide_reuse(d.freshness, kResponseMs, nullptr).reuse, Reuse::Revalidate);

  d = upstream({{"Cache-Control", "no-cache, max-age=60"}, {"ETag", "\"a\""}});
  ASSERT_TRUE(d.store());
  EXPECT_EQ(d.freshness.lifetime_ms, 60'000);
  EXPECT_EQ(decide_reuse(d.freshness, kResponseMs, nullptr).reuse, Reuse::Revalidate);
  // Without a validator a no-cache response cannot be revalidated: not kept.
  EXPECT_EQ(upstream({{"Cache-Control", "no-cache"}}).reason, NotStored::NoFreshness);
  // A json-server style response on a rule with a ttl: stored, still revalidated every time.
  d = upstream({{"Cache-Control", "no-cache"}, {"ETag", "W/\"a\""}}, 200, milliseconds(30'000));
  ASSERT_TRUE(d.store());
  EXPECT_TRUE(d.freshness.has(kNoCache));
}

TEST(DecideStoreUpstream, MaxAgeZeroIsKeptOnlyWithAValidator) {
  auto d = upstream({{"Cache-Control", "max-age=0"}, {"Last-Modified", http_date(kResponseMs)}});
  ASSERT_TRUE(d.store()) << d.reason;
  EXPECT_EQ(d.freshness.lifetime_ms, 0);
  EXPECT_FALSE(d.freshness.has(kNoCache));
  EXPECT_EQ(d.ttl, milliseconds(3'600'000 - kDelayMs));
  EXPECT_EQ(decide_reuse(d.freshness, kResponseMs, nullptr).reuse, Reuse::Revalidate);
  EXPECT_EQ(upstream({{"Cache-Control", "max-age=0"}}).reason, NotStored::NoFreshness);
  Store no_keep{upstream_rule(), {{"Cache-Control", "max-age=0"}, {"ETag", "\"1\""}}};
  no_keep.limits.keep = milliseconds(0);
  EXPECT_EQ(no_keep.decide().reason, NotStored::NoFreshness);
}

TEST(DecideStoreUpstream, StaleWindowsFromTheResponseElseTheRuleCapped) {
  Store s{upstream_rule(),
          {{"Cache-Control", "max-age=60, stale-while-revalidate=30, stale-if-error=99999"}}};
  s.rule.stale_while_revalidate = milliseconds(1'000);
  s.rule.stale_if_error = milliseconds(2'000);
  auto d = s.decide();
  ASSERT_TRUE(d.store());
  EXPECT_EQ(d.freshness.stale_while_revalidate_ms, 30'000);
  EXPECT_EQ(d.freshness.stale_if_error_ms, 3'600'000);  // cache.max_stale
  EXPECT_EQ(d.ttl, milliseconds(60'000 - kDelayMs + 3'600'000));

  s.headers = {{"Cache-Control", "max-age=60"}};
  d = s.decide();
  EXPECT_EQ(d.freshness.stale_while_revalidate_ms, 1'000);
  EXPECT_EQ(d.freshness.stale_if_error_ms, 2'000);
  EXPECT_EQ(d.ttl, milliseconds(60'000 - kDelayMs + 2'000));

  // An invalid directive value falls back to the rule's.
  s.headers = {{"Cache-Control", "max-age=60, stale-while-revalidate=soon"}};
  EXPECT_EQ(s.decide().freshness.stale_while_revalidate_ms, 1'000);
  // An explicit 0 overrides the rule.
  s.headers = {{"Cache-Control", "max-age=60, stale-if-error=0"}};
  EXPECT_EQ(s.decide().freshness.stale_if_error_ms, 0);
}

TEST(DecideStoreUpstream, MustRevalidateClosesTheWindowsButKeepsTheValidator) {
  for (const char* cc : {"max-age=60, must-revalidate, stale-if-error=600",
                         "max-age=60, proxy-revalidate, stale-while-revalidate=600",
                         "s-maxage=60, stale-if-error=600"}) {
    Store s{upstream_rule(), {{"Cache-Control", cc}, {"ETag", "\"1\""}}};
    s.rule.stale_if_error = milliseconds(600'000);
    const auto d = s.decide();
    ASSERT_TRUE(d.store()) << cc;
    EXPECT_TRUE(d.freshness.has(kMustRevalidate)) << cc;
    EXPECT_EQ(d.freshness.stale_while_revalidate_ms, 0) << cc;
    EXPECT_EQ(d.freshness.stale_if_error_ms, 0) << cc;
    EXPECT_EQ(d.ttl, milliseconds(60'000 - kDelayMs + 3'600'000)) << cc;  // keep
  }
}

TEST(DecideStoreUpstream, StoreTtlIsWhatIsLeftPlusTheLongestOfWindowsAndKeep) {
  // max-age=60 that arrived 20 s old: 40 s left.
  auto d = upstream({{"Cache-Control", "max-age=60"}, {"Age", "20"}});
  EXPECT_EQ(d.ttl, milliseconds(40'000 - kDelayMs));
  d = upstream({{"Cache-Control", "max-age=60, stale-while-revalidate=30"}, {"Age", "20"}});
  EXPECT_EQ(d.ttl, milliseconds(70'000 - kDelayMs));
  d = upstream({{"Cache-Control", "max-age=60, stale-while-revalidate=30"},
                {"Age", "20"},
                {"ETag", "\"1\""}});
  EXPECT_EQ(d.ttl, milliseconds(40'000 - kDelayMs + 3'600'000));
}

TEST(DecideStoreUpstream, StaleOnArrival) {
  // Older than its lifetime when it arrives, nothing to serve it stale or revalidate it by.
  EXPECT_EQ(upstream({{"Cache-Control", "max-age=10"}, {"Age", "60"}}).reason,
            NotStored::NoFreshness);
  const auto d =
      upstream({{"Cache-Control", "max-age=10, stale-while-revalidate=100"}, {"Age", "60"}});
  ASSERT_TRUE(d.store());
  EXPECT_EQ(d.ttl, milliseconds(10'000 - 60'000 - kDelayMs + 100'000));
  EXPECT_EQ(decide_reuse(d.freshness, kResponseMs, nullptr).reuse, Reuse::StaleWhileRevalidate);
}

TEST(DecideStoreUpstream, TooLargeStillApplies) {
  Store s{upstream_rule(), {{"Cache-Control", "max-age=60"}}};
  StoreContext context;
  context.rule = &s.rule;
  context.limits = &s.limits;
  context.body_bytes = s.limits.max_body_bytes + 1;
  EXPECT_EQ(decide_store(ResponseView{200, &s.headers}, context).reason, NotStored::TooLarge);
}

}  // namespace
}  // namespace cachecar::policy
