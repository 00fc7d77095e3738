#include "policy/rules.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::policy {
namespace {

Rule make_rule(std::string method, std::string_view path) {
  Rule rule;
  rule.method = std::move(method);
  rule.pattern = RoutePattern::parse(path, nullptr).value();
  rule.name = rule.method + " " + std::string(path);
  return rule;
}

RuleSet demo_rules() {
  return RuleSet({make_rule("GET", "/api/users/{id}"), make_rule("PUT", "/api/users/{id}"),
                  make_rule("GET", "/api/users/*"), make_rule("GET", "/api/posts/")});
}

TEST(RuleSet, FirstMatchingRuleWins) {
  const auto rules = demo_rules();
  Params params;
  const Rule* rule = rules.match("GET", "/api/users/42", &params);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->name, "GET /api/users/{id}");
  EXPECT_EQ(params, (Params{{"id", "42"}}));
}

TEST(RuleSet, LaterRuleMatchesWhenEarlierDoesNot) {
  const auto rules = demo_rules();
  Params params{{"stale", "x"}};
  const Rule* rule = rules.match("GET", "/api/users/42/posts", &params);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->name, "GET /api/users/*");
  EXPECT_TRUE(params.empty());
}

TEST(RuleSet, MethodMustMatchExactly) {
  const auto rules = demo_rules();
  const Rule* put = rules.match("PUT", "/api/users/42", nullptr);
  ASSERT_NE(put, nullptr);
  EXPECT_EQ(put->name, "PUT /api/users/{id}");
  EXPECT_EQ(rules.match("get", "/api/users/42", nullptr), nullptr);
  EXPECT_EQ(rules.match("DELETE", "/api/users/42", nullptr), nullptr);
}

TEST(RuleSet, NoRuleMatches) {
  const auto rules = demo_rules();
  EXPECT_EQ(rules.match("GET", "/api/posts/1", nullptr), nullptr);
  EXPECT_EQ(rules.match("GET", "/other", nullptr), nullptr);
  EXPECT_EQ(RuleSet{}.match("GET", "/", nullptr), nullptr);
}

TEST(RuleSet, ExposesRulesInOrder) {
  const auto rules = demo_rules();
  ASSERT_EQ(rules.rules().size(), 4U);
  EXPECT_EQ(rules.rules()[3].name, "GET /api/posts/");
}

}  // namespace
}  // namespace cachecar::policy
