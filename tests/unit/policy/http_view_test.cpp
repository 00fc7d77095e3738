#include "policy/http_view.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::policy {
namespace {

TEST(IsHopByHop, NamesTheConnectionLevelFieldsInAnyCase) {
  for (const auto* name :
       {"Connection", "keep-alive", "Proxy-Connection", "Proxy-Authenticate", "PROXY-AUTHORIZATION",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade"}) {
    EXPECT_TRUE(is_hop_by_hop(name)) << name;
  }
  for (const auto* name :
       {"Content-Length", "Trailers", "Host", "Cache-Control", "Upgrade-Insecure-Requests", ""}) {
    EXPECT_FALSE(is_hop_by_hop(name)) << name;
  }
}

TEST(NamedInConnection, MatchesWholeOptionsCaseInsensitively) {
  EXPECT_TRUE(named_in_connection("close, X-Private", "x-private"));
  EXPECT_TRUE(named_in_connection(" x-a ,x-b", "X-B"));
  EXPECT_FALSE(named_in_connection("x-private-2", "x-private"));
  EXPECT_FALSE(named_in_connection("", "x-private"));
}

TEST(NamedInConnection, ReadsEveryConnectionLine) {
  const HeaderList headers{
      {"Connection", "keep-alive"}, {"X-A", "1"}, {"connection", "X-B"}, {"X-Connection", "X-C"}};
  EXPECT_TRUE(named_in_connection(headers, "x-b"));
  EXPECT_TRUE(named_in_connection(headers, "Keep-Alive"));
  EXPECT_FALSE(named_in_connection(headers, "x-a"));
  EXPECT_FALSE(named_in_connection(headers, "x-c"));  // not a Connection line
  EXPECT_FALSE(named_in_connection(HeaderList{}, "x-b"));
}

}  // namespace
}  // namespace cachecar::policy
