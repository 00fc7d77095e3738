// RFC 9111 §4.4 through real sockets (real redis-server, real upstream stub, real proxy): every
// method not known to be safe invalidates the target's entry on a non-error answer, not only
// POST, PUT, PATCH and DELETE; an error answer invalidates nothing.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::test {
namespace {

const std::string kRules =
    "  - match: \"GET /items/{id}\"\n"
    "    ttl: 60s\n"
    "  - match: \"GET /lists/{name}\"\n"
    "    ttl: 60s\n"
    // A rule for a method cachecar knows nothing about: its invalidate list applies as well.
    "  - match: \"PURGE /items/{id}\"\n"
    "    invalidate: [\"GET /lists/*\"]\n";

class UnsafeMethodTest : public ::testing::TestWithParam<std::string> {
 protected:
  // GET `target` until it is a hit (the second request).
  void cache(const std::string& target) {
    h.get(target);
    ASSERT_EQ(h.get(target).header("X-Cache"), "HIT") << target;
  }

  Harness h{HarnessOptions{.rules = kRules}};
};

TEST_P(UnsafeMethodTest, ASuccessfulAnswerInvalidatesTheTarget) {
  const std::string& method = GetParam();
  cache("/items/1");
  cache("/items/2");
  h.upstream.on("/items/1", [](const SeenRequest& request, std::size_t) {
    StubReply reply;
    reply.status = request.method == "GET" ? 200 : 204;
    reply.body = request.method == "GET" ? "{\"id\": 1}" : "";
    return reply;
  });

  const auto answer = h.request(method, "/items/1");
  EXPECT_EQ(answer.status, 204);
  EXPECT_EQ(h.upstream.last().method, method);
  // Gone by the time the answer arrives.
  EXPECT_FALSE(h.redis_has("GET:/items/1"));
  EXPECT_EQ(h.get("/items/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/items/2").header("X-Cache"), "HIT");
}

TEST_P(UnsafeMethodTest, AnErrorAnswerInvalidatesNothing) {
  const std::string& method = GetParam();
  cache("/items/3");
  for (int status : {404, 500}) {
    h.upstream.on("/items/3", [status](const SeenRequest& request, std::size_t) {
      StubReply reply;
      reply.status = request.method == "GET" ? 200 : status;
      reply.body = "{}";
      return reply;
    });
    EXPECT_EQ(h.request(method, "/items/3").status, status);
    EXPECT_EQ(h.upstream.last().method, method);
    EXPECT_TRUE(h.redis_has("GET:/items/3")) << status;
    EXPECT_EQ(h.get("/items/3").header("X-Cache"), "HIT") << status;
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, UnsafeMethodTest,
                         testing::Values("LOCK", "PURGE", "MKCOL", "REPORT", "BAN"),
                         [](const testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

class SafeMethodTest : public ::testing::TestWithParam<std::string> {
 protected:
  Harness h{HarnessOptions{.rules = kRules}};
};

// RFC 9110 §9.2.1: OPTIONS and TRACE are safe; they are forwarded and invalidate nothing.
TEST_P(SafeMethodTest, InvalidatesNothing) {
  h.get("/items/4");
  ASSERT_EQ(h.get("/items/4").header("X-Cache"), "HIT");
  EXPECT_EQ(h.request(GetParam(), "/items/4").status, 200);
  EXPECT_EQ(h.upstream.last().method, GetParam());
  EXPECT_EQ(h.get("/items/4").header("X-Cache"), "HIT");
}

INSTANTIATE_TEST_SUITE_P(Methods, SafeMethodTest, testing::Values("OPTIONS", "TRACE"),
                         [](const testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

// A rule for an extension method: its templates are invalidated along with the target.
TEST(UnsafeMethodRuleTest, AnExtensionMethodRuleInvalidatesItsTemplates) {
  Harness h{HarnessOptions{.rules = kRules}};
  for (const std::string target : {"/items/5", "/lists/a", "/lists/b"}) {
    h.get(target);
    ASSERT_EQ(h.get(target).header("X-Cache"), "HIT") << target;
  }
  EXPECT_EQ(h.request("PURGE", "/items/5").status, 200);
  EXPECT_EQ(h.get("/items/5").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/lists/a").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/lists/b").header("X-Cache"), "MISS");
}

}  // namespace
}  // namespace cachecar::test
