#include "policy/invalidation.hpp"

#include <gtest/gtest.h>

namespace cachecar::policy {
namespace {

TEST(ResolveSameHostPath, NormalisesLikeARequestTarget) {
  EXPECT_EQ(resolve_same_host_path("/api/users/%35%32", "h", "/api/users"), "/api/users/52");
  EXPECT_EQ(resolve_same_host_path("http://h/a/./b/../c%2f", "h", "/x"), "/a/c%2F");
  EXPECT_EQ(resolve_same_host_path("../c", "h", "/a/b/d"), "/a/c");
  EXPECT_EQ(resolve_same_host_path("http://other/a", "h", "/x"), "");
}

TEST(InvalidationTargets, RequestPathAndLocationAsLogicalKeys) {
  const WriteResponse write{"/api/users", "h", "/api/users/%35%32", ""};
  const auto targets = invalidation_targets(nullptr, {}, write);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].key, "GET:/api/users");
  EXPECT_EQ(targets[1].key, "GET:/api/users/52");
  EXPECT_EQ(targets[1].kind, EraseSpec::Kind::PathAndVariants);
}

}  // namespace
}  // namespace cachecar::policy
