#include "core/strings.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachecar::core {
namespace {

std::vector<std::string> list_items(std::string_view list) {
  std::vector<std::string> out;
  for_each_list_item(list, [&](std::string_view item) { out.emplace_back(item); });
  return out;
}

TEST(Iequals, IgnoresAsciiCase) {
  EXPECT_TRUE(iequals("Content-Type", "content-type"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Content-Type", "Content-Typ"));
  EXPECT_FALSE(iequals("a", "b"));
  // Only ASCII letters fold: '[' (0x5B) is not the upper case of '{' (0x7B).
  EXPECT_FALSE(iequals("[", "{"));
}

TEST(Trim, RemovesSpacesAndTabsOnly) {
  EXPECT_EQ(trim(" \tvalue \t"), "value");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(trim("a b"), "a b");
  EXPECT_EQ(trim("\nvalue"), "\nvalue");
}

TEST(ToLower, LowersAsciiLetters) {
  EXPECT_EQ(to_lower("GET /Api-1"), "get /api-1");
}

TEST(ForEachListItem, SplitsTrimsAndSkipsEmptyItems) {
  EXPECT_EQ(list_items("a, b,,c ,"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(list_items("no-store"), (std::vector<std::string>{"no-store"}));
  EXPECT_EQ(list_items("\tgzip ,  br"), (std::vector<std::string>{"gzip", "br"}));
}

TEST(ForEachListItem, EmptyOrBlankListYieldsNothing) {
  EXPECT_TRUE(list_items("").empty());
  EXPECT_TRUE(list_items(" , ,").empty());
}

}  // namespace
}  // namespace cachecar::core
