#include "policy/invalidation.hpp"

#include <gtest/gtest.h>

namespace cachecar::policy {
namespace {

// RFC 9111 §4.4: every method not known to be safe invalidates. The safe ones are those RFC
// 9110 §9.2.1 defines as safe; method names are case-sensitive (RFC 9110 §9.1). Extension
// methods that their own RFCs call safe (PROPFIND, REPORT, SEARCH) invalidate too: that costs
// a miss, never a stale answer.
TEST(IsInvalidatingMethod, OnlyTheSafeMethodsDoNotInvalidate) {
  for (std::string_view safe : {"GET", "HEAD", "OPTIONS", "TRACE"}) {
    EXPECT_FALSE(is_invalidating_method(safe)) << safe;
  }
  for (std::string_view unsafe :
       {"POST", "PUT", "PATCH", "DELETE", "CONNECT", "PURGE", "LOCK", "UNLOCK", "MKCOL", "COPY",
        "MOVE", "PROPPATCH", "PROPFIND", "REPORT", "SEARCH", "BASELINE-CONTROL", "BAN"}) {
    EXPECT_TRUE(is_invalidating_method(unsafe)) << unsafe;
  }
}

TEST(IsInvalidatingMethod, NamesAreCaseSensitive) {
  // "get" is not GET: a method nobody defined as safe.
  for (std::string_view method : {"get", "Get", "head", "options", "trace", "GET "}) {
    EXPECT_TRUE(is_invalidating_method(method)) << method;
  }
  EXPECT_TRUE(is_invalidating_method(""));  // never reaches here (the parser refuses it)
}

TEST(IsInvalidatingStatus, NonErrorAnswersOnly) {
  for (int status : {200, 201, 204, 206, 299, 300, 301, 304, 399}) {
    EXPECT_TRUE(is_invalidating_status(status)) << status;
  }
  for (int status : {100, 103, 199, 400, 404, 409, 500, 502, 503}) {
    EXPECT_FALSE(is_invalidating_status(status)) << status;
  }
}

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
