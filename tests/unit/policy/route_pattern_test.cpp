#include "policy/route_pattern.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace cachecar::policy {
namespace {

RoutePattern must_parse(std::string_view text) {
  std::string error;
  auto pattern = RoutePattern::parse(text, &error);
  EXPECT_TRUE(pattern.has_value()) << text << ": " << error;
  return pattern.value_or(RoutePattern{});
}

struct MatchCase {
  std::string name;
  std::string pattern;
  std::string path;
  bool matches;
  Params params;  // expected captures when it matches
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const MatchCase& c, std::ostream* os) {
  *os << c.name;
}

class RoutePatternMatchTest : public testing::TestWithParam<MatchCase> {};

TEST_P(RoutePatternMatchTest, Matches) {
  const auto& c = GetParam();
  const auto pattern = must_parse(c.pattern);
  Params params{{"stale", "value"}};
  EXPECT_EQ(pattern.match(c.path, &params), c.matches) << c.pattern << " vs " << c.path;
  if (c.matches) {
    EXPECT_EQ(params, c.params);
  } else {
    // A failed match leaves the caller's params untouched.
    EXPECT_EQ(params, (Params{{"stale", "value"}}));
  }
  EXPECT_EQ(pattern.match(c.path, nullptr), c.matches);
}

INSTANTIATE_TEST_SUITE_P(
    Policy, RoutePatternMatchTest,
    testing::Values(
        MatchCase{
            "ParamMatchesOneSegment", "/api/users/{id}", "/api/users/42", true, {{"id", "42"}}},
        MatchCase{"ParamNeverMatchesEmptySegment", "/api/users/{id}", "/api/users/", false, {}},
        MatchCase{"ParamDoesNotSpanSlash", "/api/users/{id}", "/api/users/42/x", false, {}},
        MatchCase{"ParamMissingSegment", "/api/users/{id}", "/api/users", false, {}},
        MatchCase{"TwoParams",
                  "/api/users/{user}/posts/{post}",
                  "/api/users/7/posts/9",
                  true,
                  {{"user", "7"}, {"post", "9"}}},
        MatchCase{"ParamKeepsRawText", "/files/{name}", "/files/a%20b", true, {{"name", "a%20b"}}},
        MatchCase{"TrailingSlashLiteralExact", "/api/posts/", "/api/posts/", true, {}},
        MatchCase{"TrailingSlashLiteralNotDeeper", "/api/posts/", "/api/posts/1", false, {}},
        MatchCase{"TrailingSlashMatters", "/a", "/a/", false, {}},
        MatchCase{"TrailingSlashMattersReverse", "/a/", "/a", false, {}},
        MatchCase{"LiteralIsCaseSensitive", "/api/Users", "/api/users", false, {}},
        MatchCase{"WildcardMatchesEmptyRemainder", "/api/posts/*", "/api/posts/", true, {}},
        MatchCase{"WildcardMatchesOneSegment", "/api/posts/*", "/api/posts/1", true, {}},
        MatchCase{"WildcardMatchesDeeper", "/api/posts/*", "/api/posts/1/comments", true, {}},
        MatchCase{"WildcardNeedsTheSlash", "/api/posts/*", "/api/posts", false, {}},
        MatchCase{"WildcardPrefixChecked", "/api/posts/*", "/api/postsX/1", false, {}},
        MatchCase{"WildcardInsideSegmentEmpty", "/files/v*", "/files/v", true, {}},
        MatchCase{"WildcardInsideSegmentDeeper", "/files/v*", "/files/v2/x", true, {}},
        MatchCase{"WildcardInsideSegmentPrefixMismatch", "/files/v*", "/files/w2", false, {}},
        MatchCase{
            "WildcardAfterParam", "/api/users/{id}/*", "/api/users/5/a/b", true, {{"id", "5"}}},
        MatchCase{"RootWildcardMatchesEverything", "/*", "/anything/at/all", true, {}},
        MatchCase{"Root", "/", "/", true, {}}, MatchCase{"RootNotOther", "/", "/a", false, {}},
        MatchCase{"PathMustStartWithSlash", "/*", "api", false, {}},
        MatchCase{"EmptyPath", "/*", "", false, {}}),
    [](const testing::TestParamInfo<MatchCase>& param_info) { return param_info.param.name; });

struct ErrorCase {
  std::string name;
  std::string pattern;
  std::string message_part;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class RoutePatternErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(RoutePatternErrorTest, Rejects) {
  const auto& c = GetParam();
  std::string error;
  EXPECT_FALSE(RoutePattern::parse(c.pattern, &error).has_value()) << c.pattern;
  EXPECT_NE(error.find(c.message_part), std::string::npos) << "error was: " << error;
}

INSTANTIATE_TEST_SUITE_P(
    Policy, RoutePatternErrorTest,
    testing::Values(ErrorCase{"Empty", "", "must start with '/'"},
                    ErrorCase{"NoLeadingSlash", "api/users", "must start with '/'"},
                    ErrorCase{"UnclosedBrace", "/api/{id", "segment 2: unclosed '{'"},
                    ErrorCase{"UnmatchedClose", "/api/id}", "segment 2: unmatched '}'"},
                    ErrorCase{"CloseBeforeOpen", "/api/}id{", "unmatched '}'"},
                    ErrorCase{"EmptyName", "/api/{}", "empty parameter name"},
                    ErrorCase{"InvalidName", "/api/{user-id}", "invalid parameter name 'user-id'"},
                    ErrorCase{"DuplicateName", "/a/{id}/b/{id}", "duplicate parameter name 'id'"},
                    ErrorCase{"StarNotLast", "/a/*/b", "'*' is only allowed as the very last"},
                    ErrorCase{"TwoStars", "/a/**", "'*' is only allowed as the very last"},
                    ErrorCase{"LiteralBeforeParam", "/a/x{id}", "must span the whole segment"},
                    ErrorCase{"LiteralAfterParam", "/a/{id}x", "must span the whole segment"},
                    ErrorCase{"TwoParamsInSegment", "/a/{x}{y}", "segment 2"},
                    ErrorCase{"ParamWithStar", "/a/{id}*", "cannot be combined with '*'"},
                    ErrorCase{"QueryInPattern", "/a?x=1", "not allowed"},
                    ErrorCase{"SpaceInPattern", "/a b", "not allowed"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(RoutePattern, ExposesTextParamNamesAndWildcard) {
  const auto pattern = must_parse("/api/users/{user}/posts/{post}/*");
  EXPECT_EQ(pattern.text(), "/api/users/{user}/posts/{post}/*");
  EXPECT_EQ(pattern.param_names(), (std::vector<std::string>{"user", "post"}));
  EXPECT_TRUE(pattern.has_wildcard());
  EXPECT_FALSE(must_parse("/api/users/{id}").has_wildcard());
}

TEST(RoutePattern, ParseAcceptsNullErrorPointer) {
  EXPECT_FALSE(RoutePattern::parse("nope", nullptr).has_value());
  EXPECT_TRUE(RoutePattern::parse("/ok", nullptr).has_value());
}

// --- InvalidationTemplate ---

InvalidationTemplate must_parse_template(std::string_view text,
                                         const std::vector<std::string>& available) {
  std::string error;
  auto tmpl = InvalidationTemplate::parse(text, available, &error);
  EXPECT_TRUE(tmpl.has_value()) << text << ": " << error;
  return tmpl.value_or(InvalidationTemplate{});
}

TEST(InvalidationTemplate, FillsParamsIntoPathAndVariantsKey) {
  const auto tmpl = must_parse_template("GET /api/users/{id}", {"id"});
  EXPECT_EQ(tmpl.text(), "GET /api/users/{id}");
  const auto spec = tmpl.fill({{"id", "42"}});
  EXPECT_EQ(spec.kind, EraseSpec::Kind::PathAndVariants);
  EXPECT_EQ(spec.key, "GET:/api/users/42");
}

TEST(InvalidationTemplate, TrailingStarYieldsPrefixWithoutStar) {
  const auto spec = must_parse_template("GET /api/users/*", {"id"}).fill({{"id", "42"}});
  EXPECT_EQ(spec.kind, EraseSpec::Kind::Prefix);
  EXPECT_EQ(spec.key, "GET:/api/users/");
}

TEST(InvalidationTemplate, ParamAndStarTogether) {
  const auto spec = must_parse_template("GET /api/users/{id}/*", {"id"}).fill({{"id", "7"}});
  EXPECT_EQ(spec.kind, EraseSpec::Kind::Prefix);
  EXPECT_EQ(spec.key, "GET:/api/users/7/");
}

TEST(InvalidationTemplate, SeveralParamsInAnyOrder) {
  const auto tmpl = must_parse_template("GET /u/{user}/p/{post}", {"post", "user"});
  EXPECT_EQ(tmpl.fill({{"post", "9"}, {"user", "3"}}).key, "GET:/u/3/p/9");
}

TEST(InvalidationTemplate, LiteralTemplateNeedsNoParams) {
  const auto spec = must_parse_template("GET /api/posts/", {}).fill({});
  EXPECT_EQ(spec.kind, EraseSpec::Kind::PathAndVariants);
  EXPECT_EQ(spec.key, "GET:/api/posts/");
}

TEST(InvalidationTemplate, UnknownParamIsNamedInError) {
  std::string error;
  EXPECT_FALSE(InvalidationTemplate::parse("GET /api/posts/{slug}", {"id"}, &error));
  EXPECT_NE(error.find("{slug}"), std::string::npos) << error;
  EXPECT_NE(error.find("{id}"), std::string::npos) << error;
}

struct TemplateErrorCase {
  std::string name;
  std::string text;
  std::string message_part;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const TemplateErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class InvalidationTemplateErrorTest : public testing::TestWithParam<TemplateErrorCase> {};

TEST_P(InvalidationTemplateErrorTest, Rejects) {
  const auto& c = GetParam();
  std::string error;
  EXPECT_FALSE(InvalidationTemplate::parse(c.text, {"id"}, &error).has_value()) << c.text;
  EXPECT_NE(error.find(c.message_part), std::string::npos) << "error was: " << error;
}

INSTANTIATE_TEST_SUITE_P(
    Policy, InvalidationTemplateErrorTest,
    testing::Values(TemplateErrorCase{"NoMethod", "/api/users/{id}", "METHOD /path"},
                    TemplateErrorCase{"LeadingSpace", " /api", "METHOD /path"},
                    TemplateErrorCase{"LowerCaseMethod", "get /api", "upper-case"},
                    TemplateErrorCase{"TwoSpaces", "GET  /api", "exactly one space"},
                    TemplateErrorCase{"NoPath", "GET ", "exactly one space"},
                    TemplateErrorCase{"RelativePath", "GET api", "exactly one space"},
                    TemplateErrorCase{"BadPattern", "GET /api/{id", "unclosed '{'"},
                    TemplateErrorCase{"UnknownParam", "GET /api/{other}", "uses {other}"}),
    [](const testing::TestParamInfo<TemplateErrorCase>& param_info) {
      return param_info.param.name;
    });

}  // namespace
}  // namespace cachecar::policy
