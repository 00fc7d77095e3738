#include "policy/cacheability.hpp"

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

}  // namespace
}  // namespace cachecar::policy
