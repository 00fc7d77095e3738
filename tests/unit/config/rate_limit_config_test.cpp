// `rate_limit:` at the top level (every rule's default) and on rules: values, inheritance,
// `off`, and every error naming its line and field.
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <ostream>
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

std::string error_of(const std::string& yaml) {
  try {
    load(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
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

struct ErrorCase {
  std::string name;
  std::string yaml;
  int line;
  std::string path;
  std::string message_part;
};
void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class RateLimitConfigError : public testing::TestWithParam<ErrorCase> {};

TEST_P(RateLimitConfigError, NamesLineAndField) {
  const auto& c = GetParam();
  const std::string message = error_of(c.yaml);
  const std::string prefix = "test.yaml:" + std::to_string(c.line) + ": " + c.path + ": ";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
  EXPECT_NE(message.find(c.message_part), std::string::npos) << message;
}

std::string rule_limit(std::string_view body) {
  return kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n    rate_limit:\n" + std::string(body);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, RateLimitConfigError,
    testing::Values(
        ErrorCase{"ZeroLimit", rule_limit("      limit: 0\n      window: 1s\n"), 7,
                  "rules[0].rate_limit.limit", "expected an integer from 1 to 1000000000"},
        ErrorCase{"NegativeLimit", rule_limit("      limit: -3\n      window: 1s\n"), 7,
                  "rules[0].rate_limit.limit", "got '-3'"},
        ErrorCase{"HugeLimit", rule_limit("      limit: 1000000001\n      window: 1s\n"), 7,
                  "rules[0].rate_limit.limit", "from 1 to 1000000000"},
        ErrorCase{"LimitNotANumber", rule_limit("      limit: lots\n      window: 1s\n"), 7,
                  "rules[0].rate_limit.limit", "got 'lots'"},
        ErrorCase{"MissingLimit", rule_limit("      window: 1s\n"), 6, "rules[0].rate_limit.limit",
                  "required"},
        ErrorCase{"MissingWindow", rule_limit("      limit: 1\n"), 6, "rules[0].rate_limit.window",
                  "required"},
        ErrorCase{"BadWindow", rule_limit("      limit: 1\n      window: soon\n"), 8,
                  "rules[0].rate_limit.window", "invalid duration 'soon'"},
        ErrorCase{"ZeroWindow", rule_limit("      limit: 1\n      window: 0s\n"), 8,
                  "rules[0].rate_limit.window", "must be greater than 0"},
        ErrorCase{"FractionalWindow", rule_limit("      limit: 1\n      window: 1500ms\n"), 8,
                  "rules[0].rate_limit.window", "whole number of seconds"},
        ErrorCase{"WindowTooLong", rule_limit("      limit: 1\n      window: 2d\n"), 8,
                  "rules[0].rate_limit.window", "longer than the maximum, 24h"},
        ErrorCase{"UnknownBy", rule_limit("      limit: 1\n      window: 1s\n      by: user\n"), 9,
                  "rules[0].rate_limit.by", "expected client_ip or header:<field name>"},
        ErrorCase{"BadHeaderName",
                  rule_limit("      limit: 1\n      window: 1s\n      by: \"header:X Key\"\n"), 9,
                  "rules[0].rate_limit.by", "is not a field name"},
        ErrorCase{"EmptyHeaderName",
                  rule_limit("      limit: 1\n      window: 1s\n      by: \"header:\"\n"), 9,
                  "rules[0].rate_limit.by", "is not a field name"},
        ErrorCase{"UnknownFail",
                  rule_limit("      limit: 1\n      window: 1s\n      fail: maybe\n"), 9,
                  "rules[0].rate_limit.fail", "unknown value 'maybe'; expected open or closed"},
        ErrorCase{"UnknownKey", rule_limit("      limit: 1\n      window: 1s\n      burst: 3\n"), 9,
                  "rules[0].rate_limit.burst", "allowed keys: limit, window, by, fail"},
        ErrorCase{"RuleScalarNotOff",
                  kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n    rate_limit: 100\n", 6,
                  "rules[0].rate_limit", "expected a map {limit, window, by, fail} or off"},
        ErrorCase{"RuleList", kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n    rate_limit: [1]\n",
                  6, "rules[0].rate_limit", "expected a map, got a list"},
        ErrorCase{"TopLevelMissingWindow", kUp + "rate_limit: {limit: 5}\n", 3, "rate_limit.window",
                  "required"},
        ErrorCase{"TopLevelOff", kUp + "rate_limit: off\n", 3, "rate_limit",
                  "expected a map, got a scalar"},
        ErrorCase{"TopLevelBadFail", kUp + "rate_limit:\n  limit: 5\n  window: 1s\n  fail: shut\n",
                  6, "rate_limit.fail", "expected open or closed"},
        ErrorCase{"InheritedStillValidated",
                  kUp + "rate_limit: {limit: 5, window: 1s}\nrules:\n  - match: GET /a\n"
                        "    ttl: 1s\n    rate_limit: {window: 1.5s}\n",
                  7, "rules[0].rate_limit.window", "invalid duration"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace cachecar::config
