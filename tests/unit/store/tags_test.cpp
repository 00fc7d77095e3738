#include "store/tags.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachecar::store {
namespace {

using Tags = std::vector<std::string>;

TEST(KeepTags, KeepsDistinctTagsInTheOrderGiven) {
  const auto kept = keep_tags({"b", "a", "b", "c"});
  EXPECT_EQ(kept.tags, (Tags{"b", "a", "c"}));
  EXPECT_EQ(kept.dropped, 0u);
}

TEST(KeepTags, KeepsTheFirst32AndCountsTheRest) {
  Tags many;
  for (int i = 0; i < 40; ++i) many.push_back("t" + std::to_string(i));
  const auto kept = keep_tags(many);
  ASSERT_EQ(kept.tags.size(), kMaxTagsPerEntry);
  EXPECT_EQ(kept.tags.front(), "t0");
  EXPECT_EQ(kept.tags.back(), "t31");
  EXPECT_EQ(kept.dropped, 8u);
}

TEST(KeepTags, DropsEmptyTooLongAndControlCharacterTags) {
  const auto kept = keep_tags({"", std::string(kMaxTagBytes + 1, 'x'), "a\nb", "a\rb", "a\x7f",
                               std::string(kMaxTagBytes, 'y'), "product:1 é"});
  EXPECT_EQ(kept.tags, (Tags{std::string(kMaxTagBytes, 'y'), "product:1 é"}));
  EXPECT_EQ(kept.dropped, 5u);
}

// Invalid tags do not use up the cap.
TEST(KeepTags, InvalidTagsDoNotCountTowardsTheCap) {
  Tags tags{""};
  for (int i = 0; i < 32; ++i) tags.push_back("t" + std::to_string(i));
  const auto kept = keep_tags(tags);
  EXPECT_EQ(kept.tags.size(), 32u);
  EXPECT_EQ(kept.dropped, 1u);
}

}  // namespace
}  // namespace cachecar::store
