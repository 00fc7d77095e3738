#include "core/constant_time.hpp"

#include <gtest/gtest.h>

namespace cachecar::core {
namespace {

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equals("s3cret", "s3cret"));
  EXPECT_FALSE(constant_time_equals("s3creT", "s3cret"));
  EXPECT_FALSE(constant_time_equals("s3cre", "s3cret"));
  EXPECT_FALSE(constant_time_equals("s3crets3cret", "s3cret"));  // repeats the expected token
  EXPECT_FALSE(constant_time_equals("", "s3cret"));
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_FALSE(constant_time_equals("x", ""));
}

}  // namespace
}  // namespace cachecar::core
