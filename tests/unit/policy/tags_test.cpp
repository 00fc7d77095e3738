#include "policy/tags.hpp"
#include "policy/invalidation.hpp"
#include "policy/route_pattern.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace cachecar::policy {
namespace {

using Tags = std::vector<std::string>;

Tags collect(std::initializer_list<std::string_view> values, DroppedTags* dropped = nullptr) {
  TagCollector collector;
  for (auto value : values) collector.add_list(value);
  if (dropped) *dropped = collector.dropped();
  return collector.take();
}

struct ListCase {
  std::string name;
  std::string value;
  Tags tags;
};
void PrintTo(const ListCase& c, std::ostream* os) {
  *os << c.name;
}

class TagListTest : public testing::TestWithParam<ListCase> {};

TEST_P(TagListTest, SplitsTrimsAndDeduplicates) {
  EXPECT_EQ(collect({GetParam().value}), GetParam().tags);
}

INSTANTIATE_TEST_SUITE_P(
    Values, TagListTest,
    testing::Values(ListCase{"one", "product:42", {"product:42"}},
                    ListCase{"spaces", "a b  c", {"a", "b", "c"}},
                    ListCase{"commas", "a,b,c", {"a", "b", "c"}},
                    ListCase{"mixed", " a, b\tc ,, d,", {"a", "b", "c", "d"}},
                    ListCase{"duplicates_keep_first_order", "b a b a c", {"b", "a", "c"}},
                    ListCase{"case_sensitive", "Tag tag TAG", {"Tag", "tag", "TAG"}},
                    ListCase{"empty", "", {}}, ListCase{"only_separators", " , ,\t", {}},
                    ListCase{"punctuation_is_fine", "a:b/c;d=e", {"a:b/c;d=e"}}),
    [](const testing::TestParamInfo<ListCase>& param_info) { return param_info.param.name; });

TEST(TagCollector, DropsInvalidTagsAndCountsThem) {
  DroppedTags dropped;
  const std::string too_long(kMaxTagBytes + 1, 'x');
  const std::string longest(kMaxTagBytes, 'y');
  EXPECT_EQ(collect({"ok caf\xc3\xa9 " + too_long + " " + longest + " a\x01z"}, &dropped),
            (Tags{"ok", longest}));
  EXPECT_EQ(dropped.invalid, 3u);
  EXPECT_EQ(dropped.over_limit, 0u);
}

TEST(TagCollector, KeepsAtMost32AndCountsTheRest) {
  std::string value;
  for (int i = 0; i < 40; ++i) value += "t" + std::to_string(i) + " ";
  value += "t0 t1";  // duplicates of kept tags are not drops
  DroppedTags dropped;
  const auto tags = collect({value}, &dropped);
  ASSERT_EQ(tags.size(), kMaxTagsPerEntry);
  EXPECT_EQ(tags.front(), "t0");
  EXPECT_EQ(tags.back(), "t31");
  EXPECT_EQ(dropped.over_limit, 8u);
  EXPECT_EQ(dropped.total(), 8u);
}

TEST(TagCollector, Exactly32IsNoDrop) {
  std::string value;
  for (int i = 0; i < 32; ++i) value += "t" + std::to_string(i) + ",";
  DroppedTags dropped;
  EXPECT_EQ(collect({value}, &dropped).size(), 32u);
  EXPECT_EQ(dropped.total(), 0u);
}

TEST(TagCollector, ReadsTheConfiguredFieldAndSurrogateKeyOnly) {
  const HeaderList headers{{"cache-tag", "a b"},
                           {"Content-Type", "text/plain"},
                           {"Surrogate-Key", "c a"},
                           {"CACHE-TAG", "d"},
                           {"X-Other-Tag", "nope"}};
  TagCollector collector;
  collector.add_fields(headers, TagOptions{});
  EXPECT_EQ(collector.tags(), (Tags{"a", "b", "c", "d"}));

  TagCollector custom;
  custom.add_fields(headers, TagOptions{"X-Other-Tag", false});
  EXPECT_EQ(custom.tags(), (Tags{"c", "a", "nope"}));
}

TEST(TagFields, StrippedWhateverTheirCase) {
  HeaderList headers{{"Cache-Tag", "a"},
                     {"content-type", "text/plain"},
                     {"surrogate-key", "b"},
                     {"ETag", "\"x\""}};
  strip_tag_fields(headers, TagOptions{});
  EXPECT_EQ(headers, (HeaderList{{"content-type", "text/plain"}, {"ETag", "\"x\""}}));
}

TEST(IsValidTag, VisibleAsciiWithoutComma) {
  EXPECT_TRUE(is_valid_tag("product:42"));
  EXPECT_TRUE(is_valid_tag("~!@#$%^&*()_+{}|:\"<>?[];'./"));
  EXPECT_FALSE(is_valid_tag(""));
  EXPECT_FALSE(is_valid_tag("a b"));
  EXPECT_FALSE(is_valid_tag("a,b"));
  EXPECT_FALSE(is_valid_tag("a\tb"));
  EXPECT_FALSE(is_valid_tag("a\x7f"));
  EXPECT_FALSE(is_valid_tag("\xc3\xa9"));
  EXPECT_TRUE(is_valid_tag(std::string(kMaxTagBytes, 'a')));
  EXPECT_FALSE(is_valid_tag(std::string(kMaxTagBytes + 1, 'a')));
}

TagTemplate must_parse(std::string_view text, const std::vector<std::string>& params) {
  std::string error;
  auto parsed = TagTemplate::parse(text, params, &error);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << error;
  return parsed.value_or(TagTemplate{});
}

std::string parse_error(std::string_view text, const std::vector<std::string>& params) {
  std::string error;
  EXPECT_FALSE(TagTemplate::parse(text, params, &error).has_value()) << text;
  return error;
}

TEST(TagTemplate, FillsParamsAnywhereInTheTag) {
  const Params params{{"id", "42"}, {"kind", "books"}};
  EXPECT_EQ(must_parse("product:{id}", {"id", "kind"}).fill(params), "product:42");
  EXPECT_EQ(must_parse("{kind}-{id}", {"id", "kind"}).fill(params), "books-42");
  EXPECT_EQ(must_parse("products", {}).fill(params), "products");
  EXPECT_EQ(fill_tags({must_parse("p:{id}", {"id"}), must_parse("all", {})}, params),
            (Tags{"p:42", "all"}));
}

TEST(TagTemplate, RefusesWhatCanNeverBeATag) {
  EXPECT_EQ(parse_error("product:{sku}", {"id"}),
            "uses {sku}, which the rule's match pattern does not define (it defines {id})");
  EXPECT_EQ(parse_error("p:{id}", {}),
            "uses {id}, which the rule's match pattern does not define (it defines no params)");
  EXPECT_EQ(parse_error("", {}), "must not be empty");
  EXPECT_EQ(parse_error("p:{id", {"id"}), "unclosed '{'");
  EXPECT_EQ(parse_error("p:id}", {"id"}), "'}' without a '{' before it");
  EXPECT_EQ(parse_error("p:{}", {"id"}), "{}: a param name is letters, digits and '_'");
  EXPECT_NE(parse_error("two words", {}).find("without spaces or commas"), std::string::npos);
  EXPECT_NE(parse_error("a,b", {}).find("without spaces or commas"), std::string::npos);
  EXPECT_NE(parse_error(std::string(kMaxTagBytes + 1, 'a'), {}).find("longer than 256"),
            std::string::npos);
}

TEST(InvalidationTargets, InvalidateTagsBecomeTagSpecs) {
  Rule rule;
  rule.method = "PUT";
  rule.invalidate_tags = {must_parse("product:{id}", {"id"}), must_parse("products", {}),
                          must_parse("products", {})};
  const WriteResponse write{"/api/products/42", "h", "", ""};
  const auto targets = invalidation_targets(&rule, {{"id", "42"}}, write);
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0].kind, EraseSpec::Kind::Tag);
  EXPECT_EQ(targets[0].key, "product:42");
  EXPECT_EQ(targets[1].kind, EraseSpec::Kind::Tag);
  EXPECT_EQ(targets[1].key, "products");
  EXPECT_EQ(targets[2].key, "GET:/api/products/42");
}

TEST(InvalidationTargets, ACaptureThatMakesAnInvalidTagNamesNothing) {
  Rule rule;
  rule.invalidate_tags = {must_parse("product:{id}", {"id"})};
  const WriteResponse write{"/api/products/a,b", "h", "", ""};
  const auto targets = invalidation_targets(&rule, {{"id", "a,b"}}, write);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].kind, EraseSpec::Kind::PathAndVariants);
}

TEST(JoinTags, SpaceSeparated) {
  EXPECT_EQ(join_tags({}), "");
  EXPECT_EQ(join_tags({"a", "b:1"}), "a b:1");
}

}  // namespace
}  // namespace cachecar::policy
