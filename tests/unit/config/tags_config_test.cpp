// cache.tag_header, cache.expose_tags and the rules' tags / invalidate_tags (issue 12 item 5).
#include "config/config.hpp"
#include "config/reload.hpp"
#include "policy/invalidation.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace cachecar::config {
namespace {

const EnvLookup kNoEnv = [](std::string_view) { return std::optional<std::string>{}; };
const std::string kUp = "upstream:\n  url: http://h:1\n";  // lines 1-2

Config load(const std::string& yaml) {
  return load_config_text(yaml, "tags.yaml", kNoEnv);
}

std::string error_of(std::string_view yaml) {
  try {
    load_config_text(yaml, "tags.yaml", kNoEnv);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TagConfig, Defaults) {
  const auto config = load(kUp);
  EXPECT_EQ(config.cache.tags.header, "Cache-Tag");
  EXPECT_FALSE(config.cache.tags.expose);
}

TEST(TagConfig, EveryKeySet) {
  const auto config = load(kUp +
                           "cache:\n  tag_header: X-Tags\n  expose_tags: true\n"
                           "rules:\n"
                           "  - match: GET /api/products/{id}\n"
                           "    ttl: 1m\n"
                           "    tags: [\"product:{id}\", products]\n"
                           "  - match: PUT /api/products/{id}\n"
                           "    invalidate_tags: [\"product:{id}\"]\n"
                           "  - match: DELETE /api/products/{id}\n"
                           "    invalidate: [\"GET /api/products/{id}\"]\n"
                           "    invalidate_tags: [products]\n");
  EXPECT_EQ(config.cache.tags.header, "X-Tags");
  EXPECT_TRUE(config.cache.tags.expose);
  const auto& rules = config.rules.rules();
  ASSERT_EQ(rules.size(), 3u);
  const policy::Params params{{"id", "7"}};
  EXPECT_EQ(policy::fill_tags(rules[0].tags, params),
            (std::vector<std::string>{"product:7", "products"}));
  EXPECT_TRUE(rules[0].invalidate_tags.empty());
  // A write rule with invalidate_tags alone is a rule that does something.
  ASSERT_EQ(rules[1].invalidate_tags.size(), 1u);
  const auto targets =
      policy::invalidation_targets(&rules[1], params, {"/api/products/7", "", "", ""});
  ASSERT_FALSE(targets.empty());
  EXPECT_EQ(targets[0].kind, policy::EraseSpec::Kind::Tag);
  EXPECT_EQ(targets[0].key, "product:7");
  EXPECT_EQ(rules[2].invalidate_tags.size(), 1u);
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

class TagConfigError : public testing::TestWithParam<ErrorCase> {};

TEST_P(TagConfigError, NamesLineAndField) {
  const auto& c = GetParam();
  const std::string message = error_of(c.yaml);
  const std::string prefix = "tags.yaml:" + std::to_string(c.line) + ": " + c.path + ": ";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
  EXPECT_NE(message.find(c.message_part), std::string::npos) << message;
}

std::string rule(std::string_view body) {
  return kUp + "rules:\n  - " + std::string(body);  // the rule's first line is line 4
}

std::string many_tags(int n) {
  std::string list = "[";
  for (int i = 0; i < n; ++i) list += (i ? ", t" : "t") + std::to_string(i);
  return list + "]";
}

INSTANTIATE_TEST_SUITE_P(
    Tags, TagConfigError,
    testing::Values(
        ErrorCase{"TagHeaderNotAFieldName", kUp + "cache:\n  tag_header: \"Cache Tag\"\n", 4,
                  "cache.tag_header", "must be a header field name"},
        ErrorCase{"TagHeaderEmpty", kUp + "cache:\n  tag_header: \"\"\n", 4, "cache.tag_header",
                  "must be a header field name"},
        ErrorCase{"TagHeaderColon", kUp + "cache:\n  tag_header: \"Cache-Tag:\"\n", 4,
                  "cache.tag_header", "got 'Cache-Tag:'"},
        ErrorCase{"ExposeTagsNotBool", kUp + "cache:\n  expose_tags: maybe\n", 4,
                  "cache.expose_tags", "expected true or false"},
        ErrorCase{"TagsNotList", rule("match: GET /p/{id}\n    ttl: 1s\n    tags: products\n"), 6,
                  "rules[0].tags", "expected a list of tags"},
        ErrorCase{"TagUnknownParam",
                  rule("match: GET /p/{id}\n    ttl: 1s\n    tags:\n      - products\n"
                       "      - \"product:{sku}\"\n"),
                  8, "rules[0].tags[1]",
                  "invalid tag 'product:{sku}' for \"GET /p/{id}\": uses {sku}, which the rule's "
                  "match pattern does not define (it defines {id})"},
        ErrorCase{"TagWithSpace", rule("match: GET /p\n    ttl: 1s\n    tags: [\"a b\"]\n"), 6,
                  "rules[0].tags[0]", "without spaces or commas"},
        ErrorCase{"TagUnclosedBrace",
                  rule("match: GET /p/{id}\n    ttl: 1s\n    tags: [\"p:{id\"]\n"), 6,
                  "rules[0].tags[0]", "unclosed '{'"},
        ErrorCase{"TooManyTags",
                  rule("match: GET /p\n    ttl: 1s\n    tags: " + many_tags(33) + "\n"), 6,
                  "rules[0].tags", "33 tags; an entry keeps at most 32"},
        ErrorCase{"TagsOnARuleThatDoesNotCache",
                  rule("match: PUT /p\n    invalidate: [GET /p]\n    tags: [a]\n"), 6,
                  "rules[0].tags", "only applies to cached rules"},
        ErrorCase{"InvalidateTagsOnAGetRule",
                  rule("match: GET /p\n    ttl: 1s\n    invalidate_tags: [a]\n"), 6,
                  "rules[0].invalidate_tags", "a GET request never invalidates"},
        ErrorCase{"InvalidateTagsUnknownParam",
                  rule("match: PUT /p/{id}\n    invalidate_tags: [\"p:{slug}\"]\n"), 5,
                  "rules[0].invalidate_tags[0]", "uses {slug}"},
        ErrorCase{"InvalidateTagsNotList", rule("match: PUT /p\n    invalidate_tags: {a: 1}\n"), 5,
                  "rules[0].invalidate_tags", "expected a list of tags"},
        ErrorCase{"EmptyInvalidateTagsDoNothing", rule("match: PUT /p\n    invalidate_tags: []\n"),
                  4, "rules[0]", "has neither ttl nor invalidate"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

// Hot reload: the tag settings are per-request settings, applied to new requests.
TEST(TagConfig, ReloadAppliesTagSettings) {
  const auto running = load(kUp + "rules:\n  - match: GET /p/{id}\n    ttl: 1s\n");
  auto next = load(kUp +
                   "cache:\n  tag_header: X-Tags\n  expose_tags: true\n"
                   "rules:\n  - match: GET /p/{id}\n    ttl: 1s\n    tags: [\"p:{id}\"]\n");
  EXPECT_TRUE(keep_restart_only(running, next).empty());
  EXPECT_EQ(next.cache.tags.header, "X-Tags");
  EXPECT_TRUE(next.cache.tags.expose);
  ASSERT_EQ(next.rules.rules().size(), 1u);
  EXPECT_EQ(next.rules.rules()[0].tags.size(), 1u);
}

}  // namespace
}  // namespace cachecar::config
