// Request coalescing: concurrent misses for one key make one upstream request.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace cachecar::test {
namespace {

const std::string kRules =
    "  - match: \"GET /slow/{id}\"\n"
    "    ttl: 60s\n";

// Sends `count` GETs of `target` at once, each on its own connection; returns the responses.
std::vector<HttpResponse> concurrent_gets(std::uint16_t port, const std::string& target,
                                          int count) {
  std::vector<HttpResponse> responses(static_cast<std::size_t>(count));
  std::vector<std::thread> clients;
  for (int i = 0; i < count; ++i) {
    clients.emplace_back(
        [&, i] { responses[static_cast<std::size_t>(i)] = http_get(port, target); });
  }
  for (auto& client : clients) client.join();
  return responses;
}

TEST(CoalescingTest, HundredConcurrentMissesMakeOneUpstreamRequest) {
  Harness h{HarnessOptions{.rules = kRules, .threads = 2}};
  h.upstream.on("/slow/1",
                StubReply{.body = "{\"id\": 1}", .delay = std::chrono::milliseconds(500)});
  const auto responses = concurrent_gets(h.port(), "/slow/1", 100);
  int stored = 0;
  int collapsed = 0;
  for (const auto& response : responses) {
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "{\"id\": 1}");
    const auto status = response.header("Cache-Status");
    if (status == "cachecar; fwd=miss; stored") ++stored;
    if (status == "cachecar; fwd=miss; collapsed") ++collapsed;
  }
  EXPECT_EQ(h.upstream.requests("/slow/1"), 1u);
  EXPECT_EQ(stored, 1);
  EXPECT_EQ(collapsed, 99);
}

TEST(CoalescingTest, WaitersFetchThemselvesWhenTheResponseIsNotStorable) {
  Harness h{HarnessOptions{.rules = kRules, .threads = 2}};
  h.upstream.on("/slow/2", StubReply{.headers = {{"Set-Cookie", "s=1"}},
                                     .body = "personal",
                                     .delay = std::chrono::milliseconds(300)});
  const auto responses = concurrent_gets(h.port(), "/slow/2", 8);
  for (const auto& response : responses) {
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("Set-Cookie"), "s=1");  // each got its own response
  }
  EXPECT_EQ(h.upstream.requests("/slow/2"), 8u);
}

TEST(CoalescingTest, WaitingIsBoundedByCoalesceWait) {
  Harness h{HarnessOptions{.rules = kRules, .cache = "  coalesce_wait: 50ms\n", .threads = 2}};
  h.upstream.on("/slow/3", StubReply{.body = "late", .delay = std::chrono::milliseconds(1000)});
  const auto responses = concurrent_gets(h.port(), "/slow/3", 5);
  for (const auto& response : responses) EXPECT_EQ(response.status, 200);
  EXPECT_EQ(h.upstream.requests("/slow/3"), 5u);  // nobody waited for the slow leader
}

TEST(CoalescingTest, DisabledWithZeroWait) {
  Harness h{HarnessOptions{.rules = kRules, .cache = "  coalesce_wait: 0\n", .threads = 2}};
  h.upstream.on("/slow/4", StubReply{.body = "x", .delay = std::chrono::milliseconds(300)});
  concurrent_gets(h.port(), "/slow/4", 4);
  EXPECT_EQ(h.upstream.requests("/slow/4"), 4u);
}

}  // namespace
}  // namespace cachecar::test
