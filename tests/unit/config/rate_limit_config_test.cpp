// `rate_limit:` at the top level (every rule's default) and on rules: values, inheritance and
// `off`. Its errors are in config_errors_test.cpp (the RateLimit table).
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::config {
namespace {

using policy::RateLimitBy;
using policy::RateLimitFailure;
using policy::RateLimitSpec;
using std::chrono::seconds;

const EnvLookup kNoEnv = [](std::string_view) { return std::optional<std::string>{}; };

// Lines 1-2 of every case.
const std::string kUp = "upstream:\n  url: http://h:1\n";

Config load(const std::string& yaml) {
  return load_config_text(yaml, "test.yaml", kNoEnv);
}

const policy::Rule& rule_named(const Config& c, std::string_view name) {
  for (const auto& rule : c.rules.rules()) {
    if (rule.name == name) return rule;
  }
  throw std::runtime_error("no rule " + std::string(name));
}

TEST(RateLimitConfig, NoneByDefault) {
  const Config c = load(kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n");
  EXPECT_FALSE(c.rate_limit);
  EXPECT_FALSE(rule_named(c, "GET /a").rate_limit);
}

TEST(RateLimitConfig, RuleLimitWithDefaults) {
  const Config c = load(
      kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n    rate_limit: {limit: 100, window: 1m}\n");
  const auto& spec = rule_named(c, "GET /a").rate_limit;
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->limit, 100U);
  EXPECT_EQ(spec->window, seconds(60));
  EXPECT_EQ(spec->by, RateLimitBy::ClientIp);
  EXPECT_EQ(spec->fail, RateLimitFailure::Open);
}

TEST(RateLimitConfig, EveryFieldSet) {
  const Config c = load(kUp +
                        "rules:\n  - match: POST /login\n    rate_limit:\n      limit: 5\n"
                        "      window: 30s\n      by: header:X-Api-Key\n      fail: closed\n");
  const auto& spec = rule_named(c, "POST /login").rate_limit;
  ASSERT_TRUE(spec);
  EXPECT_EQ(*spec, (RateLimitSpec{5, seconds(30), RateLimitBy::Header, "X-Api-Key",
                                  RateLimitFailure::Closed}));
}

TEST(RateLimitConfig, TopLevelIsEveryRulesDefault) {
  const Config c = load(kUp +
                        "rate_limit: {limit: 10, window: 1s, by: header:X-Key}\n"
                        "rules:\n  - match: GET /a\n    ttl: 1s\n"
                        "  - match: PUT /a\n    invalidate: [GET /a]\n");
  const RateLimitSpec expected{10, seconds(1), RateLimitBy::Header, "X-Key",
                               RateLimitFailure::Open};
  ASSERT_TRUE(c.rate_limit);
  EXPECT_EQ(*c.rate_limit, expected);
  EXPECT_EQ(rule_named(c, "GET /a").rate_limit, expected);
  EXPECT_EQ(rule_named(c, "PUT /a").rate_limit, expected);
}

TEST(RateLimitConfig, RuleFieldsOverrideTheDefaultOneByOne) {
  const Config c = load(kUp +
                        "rate_limit: {limit: 10, window: 1m, by: header:X-Key, fail: closed}\n"
                        "rules:\n  - match: GET /a\n    ttl: 1s\n    rate_limit: {limit: 3}\n"
                        "  - match: GET /b\n    ttl: 1s\n    rate_limit: {by: client_ip}\n");
  EXPECT_EQ(rule_named(c, "GET /a").rate_limit, (RateLimitSpec{3, seconds(60), RateLimitBy::Header,
                                                               "X-Key", RateLimitFailure::Closed}));
  EXPECT_EQ(rule_named(c, "GET /b").rate_limit,
            (RateLimitSpec{10, seconds(60), RateLimitBy::ClientIp, "", RateLimitFailure::Closed}));
}

TEST(RateLimitConfig, OffTurnsTheDefaultOff) {
  const Config c = load(kUp +
                        "rate_limit: {limit: 10, window: 1m}\n"
                        "rules:\n  - match: GET /health\n    ttl: 1s\n    rate_limit: off\n");
  EXPECT_FALSE(rule_named(c, "GET /health").rate_limit);
}

TEST(RateLimitConfig, ALimitAloneMakesARuleUseful) {
  // Neither ttl nor invalidate: without the limit this rule would be an error.
  const Config c =
      load(kUp + "rules:\n  - match: GET /search\n    rate_limit: {limit: 1, window: 1s}\n");
  EXPECT_TRUE(rule_named(c, "GET /search").rate_limit);
  EXPECT_FALSE(rule_named(c, "GET /search").caches());
  // The top-level default is enough too.
  const Config d = load(kUp + "rate_limit: {limit: 1, window: 1s}\nrules:\n  - match: POST /x\n");
  EXPECT_TRUE(rule_named(d, "POST /x").rate_limit);
}

TEST(RateLimitConfig, DurationsAndLimitBounds) {
  const Config c =
      load(kUp +
           "rules:\n  - match: GET /a\n    rate_limit: {limit: 1000000000, window: 24h}\n"
           "  - match: GET /b\n    rate_limit: {limit: 1, window: 90}\n");
  EXPECT_EQ(rule_named(c, "GET /a").rate_limit->window, seconds(86'400));
  EXPECT_EQ(rule_named(c, "GET /a").rate_limit->limit, 1'000'000'000U);
  EXPECT_EQ(rule_named(c, "GET /b").rate_limit->window, seconds(90));  // plain seconds
}

}  // namespace
}  // namespace cachecar::config
