#include "admin/auth.hpp"

#include <gtest/gtest.h>

namespace cachecar::admin {
namespace {

TEST(CheckBearer, NoTokenConfiguredAllowsEverything) {
  EXPECT_EQ(check_bearer("", ""), AuthResult::Allowed);
  EXPECT_EQ(check_bearer("Bearer anything", ""), AuthResult::Allowed);
}

TEST(CheckBearer, RequiresTheConfiguredToken) {
  EXPECT_EQ(check_bearer("Bearer t0k", "t0k"), AuthResult::Allowed);
  EXPECT_EQ(check_bearer("bearer t0k", "t0k"), AuthResult::Allowed);  // scheme is case-insensitive
  EXPECT_EQ(check_bearer("  Bearer   t0k  ", "t0k"), AuthResult::Allowed);
  EXPECT_EQ(check_bearer("", "t0k"), AuthResult::Missing);
  EXPECT_EQ(check_bearer("Bearer", "t0k"), AuthResult::Invalid);
  EXPECT_EQ(check_bearer("Bearer ", "t0k"), AuthResult::Invalid);
  EXPECT_EQ(check_bearer("Bearer T0K", "t0k"), AuthResult::Invalid);  // the token is not
  EXPECT_EQ(check_bearer("Basic dDBrOg==", "t0k"), AuthResult::Invalid);
  EXPECT_EQ(check_bearer("Bearer t0k extra", "t0k"), AuthResult::Invalid);
  EXPECT_EQ(check_bearer("t0k", "t0k"), AuthResult::Invalid);
}

}  // namespace
}  // namespace cachecar::admin
