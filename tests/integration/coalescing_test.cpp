// Request coalescing: concurrent misses for one key make one upstream request.
//
// The upstream holds its answers back (StubReply::hold) until the test has seen every request
// arrive where it should be (joined the key's fill, or at the upstream), so no outcome depends
// on how fast the machine is.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;

const std::string kRules =
    "  - match: \"GET /slow/{id}\"\n"
    "    ttl: 60s\n";

// Neither the followers' wait nor the held leader's upstream request may run out while the
// test gathers its requests, however slow the machine.
HarnessOptions patient(unsigned threads) {
  return HarnessOptions{.rules = kRules,
                        .cache = "  coalesce_wait: 30s\n",
                        .upstream_timeout = "30s",
                        .threads = threads};
}

// Sends `count` GETs of `target` at once, each on its own connection, runs `meanwhile` while
// they are in flight (it must let the upstream answer), and returns the responses.
std::vector<HttpResponse> concurrent_gets(std::uint16_t port, const std::string& target, int count,
                                          const std::function<void()>& meanwhile) {
  std::vector<HttpResponse> responses(static_cast<std::size_t>(count));
  std::vector<std::thread> clients;
  for (int i = 0; i < count; ++i) {
    clients.emplace_back(
        [&, i] { responses[static_cast<std::size_t>(i)] = http_get(port, target); });
  }
  meanwhile();
  for (auto& client : clients) client.join();
  return responses;
}

std::shared_ptr<std::atomic<bool>> held() {
  return std::make_shared<std::atomic<bool>>(false);
}

struct Outcomes {
  int stored = 0;
  int collapsed = 0;
};

// 100 concurrent GETs of /slow/<id>; the leader's answer is held until all 100 lookups are
// counted. Returns how each was answered.
Outcomes hundred_misses(Harness& h, const std::string& id) {
  const std::string path = "/slow/" + id;
  const std::string body = "{\"id\": " + id + "}";
  const auto release = held();
  h.upstream.on(path, StubReply{.body = body, .hold = release});
  const auto responses = concurrent_gets(h.port(), path, 100, [&] {
    EXPECT_TRUE(wait_until([&] { return h.lookups("GET:" + path) == 100; }, 10s, 1ms));
    release->store(true);
  });
  Outcomes outcomes;
  for (const auto& response : responses) {
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, body);
    const auto status = response.header("Cache-Status");
    if (status == "cachecar; fwd=miss; stored") ++outcomes.stored;
    if (status == "cachecar; fwd=miss; collapsed") ++outcomes.collapsed;
  }
  return outcomes;
}

// One worker thread: the lookups are counted on the thread that later handles the leader's
// response, so once all 100 are counted, the 99 followers are waiting on the leader.
TEST(CoalescingTest, HundredConcurrentMissesMakeOneUpstreamRequest) {
  Harness h{patient(1)};
  const auto outcomes = hundred_misses(h, "1");
  EXPECT_EQ(h.upstream.requests("/slow/1"), 1u);
  EXPECT_EQ(outcomes.stored, 1);
  EXPECT_EQ(outcomes.collapsed, 99);
}

// Two worker threads: the coalescer is process-wide, so followers on the other thread wait for
// the leader too and are woken on their own executor. A follower counted on the thread that is
// not the leader's may not have joined yet when the leader publishes (at most one: nothing
// suspends between counting and joining); it then fetches and stores by itself.
TEST(CoalescingTest, MissesOnTwoWorkerThreadsShareOneFetch) {
  Harness h{patient(2)};
  const auto outcomes = hundred_misses(h, "5");
  EXPECT_EQ(outcomes.stored + outcomes.collapsed, 100);
  EXPECT_GE(outcomes.stored, 1);
  EXPECT_LE(outcomes.stored, 2);
  EXPECT_EQ(h.upstream.requests("/slow/5"), static_cast<std::size_t>(outcomes.stored));
}

TEST(CoalescingTest, WaitersFetchThemselvesWhenTheResponseIsNotStorable) {
  Harness h{patient(2)};
  const auto release = held();
  h.upstream.on("/slow/2",
                StubReply{.headers = {{"Set-Cookie", "s=1"}}, .body = "personal", .hold = release});
  const auto responses = concurrent_gets(h.port(), "/slow/2", 8, [&] {
    // Every request has looked up before the leader's unstorable answer comes; while the
    // leader is held, the others wait instead of fetching.
    EXPECT_TRUE(wait_until(
        [&] { return h.lookups("GET:/slow/2") == 8 && h.upstream.requests("/slow/2") >= 1; }, 10s,
        1ms));
    EXPECT_EQ(h.upstream.requests("/slow/2"), 1u);
    release->store(true);
  });
  for (const auto& response : responses) {
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("Set-Cookie"), "s=1");  // each got its own response
    EXPECT_EQ(response.header("Cache-Status"), "cachecar; fwd=uri-miss; detail=set-cookie");
  }
  EXPECT_EQ(h.upstream.requests("/slow/2"), 8u);
}

TEST(CoalescingTest, WaitingIsBoundedByCoalesceWait) {
  Harness h{HarnessOptions{.rules = kRules,
                           .cache = "  coalesce_wait: 50ms\n",
                           .upstream_timeout = "30s",
                           .threads = 2}};
  const auto release = held();
  h.upstream.on("/slow/3", StubReply{.body = "late", .hold = release});
  const auto responses = concurrent_gets(h.port(), "/slow/3", 5, [&] {
    // The leader is held until every request has reached the upstream: nobody waited for it
    // longer than coalesce_wait.
    EXPECT_TRUE(wait_until([&] { return h.upstream.requests("/slow/3") == 5; }, 10s, 1ms));
    release->store(true);
  });
  for (const auto& response : responses) EXPECT_EQ(response.status, 200);
  EXPECT_EQ(h.upstream.requests("/slow/3"), 5u);
}

TEST(CoalescingTest, DisabledWithZeroWait) {
  Harness h{HarnessOptions{
      .rules = kRules, .cache = "  coalesce_wait: 0\n", .upstream_timeout = "30s", .threads = 2}};
  const auto release = held();
  h.upstream.on("/slow/4", StubReply{.body = "x", .hold = release});
  const auto responses = concurrent_gets(h.port(), "/slow/4", 4, [&] {
    // All four reach the upstream while the first is still held: none waits for another.
    EXPECT_TRUE(wait_until([&] { return h.upstream.requests("/slow/4") == 4; }, 10s, 1ms));
    release->store(true);
  });
  for (const auto& response : responses) EXPECT_EQ(response.status, 200);
  EXPECT_EQ(h.upstream.requests("/slow/4"), 4u);
}

}  // namespace
}  // namespace cachecar::test
