// Request coalescing without sockets: who leads a key's fill, what its waiters get, and how
// long they wait. Coroutines run on io_contexts the test drives itself.
#include "proxy/fill_coalescer.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cachecar::proxy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A wait that never runs out during a test: waiters come back only when the leader is done.
constexpr auto kLongWait = 10min;

struct Outcome {
  std::optional<FillCoalescer::Joined> joined;
  std::thread::id resumed_on;
  bool leader() const { return joined && static_cast<bool>(joined->lease); }
  bool waiting() const { return !joined; }
};

// `key` is a named local of the caller (GCC 12: no temporaries passed by value to coroutines).
asio::awaitable<void> join_into(FillCoalescer& coalescer, const std::string& key,
                                std::chrono::milliseconds max_wait, Outcome& out) {
  std::string copy = key;
  out.joined = co_await coalescer.join(std::move(copy), max_wait);
  out.resumed_on = std::this_thread::get_id();
}

// Starts a join on `ctx` and runs it as far as it goes without waiting: a leader has its lease
// afterwards, a follower is registered and waiting.
void start_join(asio::io_context& ctx, FillCoalescer& coalescer, const std::string& key,
                Outcome& out, std::chrono::milliseconds max_wait = kLongWait) {
  asio::co_spawn(ctx, join_into(coalescer, key, max_wait, out), asio::detached);
  ctx.restart();
  ctx.poll();
}

// Runs `ctx` until `out` has joined, within a liveness bound.
bool finish(asio::io_context& ctx, Outcome& out) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!out.joined && std::chrono::steady_clock::now() < deadline) {
    ctx.restart();
    ctx.run_one_for(10ms);
  }
  return out.joined.has_value();
}

store::Value entry(const std::string& text) {
  return std::make_shared<const std::string>(text);
}

class FillCoalescerTest : public ::testing::Test {
 protected:
  asio::io_context ctx_;
  FillCoalescer coalescer_;
  const std::string key_ = "GET:/a host=x";
};

TEST_F(FillCoalescerTest, TheFirstRequestForAKeyLeads) {
  Outcome first;
  start_join(ctx_, coalescer_, key_, first);
  ASSERT_TRUE(first.leader());
  EXPECT_FALSE(first.joined->entry);
}

TEST_F(FillCoalescerTest, FollowersWaitForTheLeadersEntryAndShareIt) {
  Outcome leader, a, b;
  start_join(ctx_, coalescer_, key_, leader);
  ASSERT_TRUE(leader.leader());
  start_join(ctx_, coalescer_, key_, a);
  start_join(ctx_, coalescer_, key_, b);
  EXPECT_TRUE(a.waiting());
  EXPECT_TRUE(b.waiting());

  const auto published = entry("the entry");
  leader.joined->lease.publish(published);
  ASSERT_TRUE(finish(ctx_, a));
  ASSERT_TRUE(finish(ctx_, b));
  for (const auto* follower : {&a, &b}) {
    EXPECT_FALSE(follower->joined->lease);                      // a follower never leads
    EXPECT_EQ(follower->joined->entry.get(), published.get());  // shared, not copied
  }
}

TEST_F(FillCoalescerTest, ALeaseGivenUpUnpublishedReleasesTheFollowersEmptyHanded) {
  Outcome leader, follower;
  start_join(ctx_, coalescer_, key_, leader);
  start_join(ctx_, coalescer_, key_, follower);
  ASSERT_TRUE(follower.waiting());
  leader.joined->lease = {};  // not storable, or the upstream failed
  // At once, not after the long wait: finish() gives up long before kLongWait.
  ASSERT_TRUE(finish(ctx_, follower));
  EXPECT_FALSE(follower.joined->lease);
  EXPECT_FALSE(follower.joined->entry);
}

TEST_F(FillCoalescerTest, DestroyingTheLeaseReleasesTheFollowersToo) {
  Outcome follower;
  {
    Outcome leader;
    start_join(ctx_, coalescer_, key_, leader);
    start_join(ctx_, coalescer_, key_, follower);
    ASSERT_TRUE(follower.waiting());
  }
  ASSERT_TRUE(finish(ctx_, follower));
  EXPECT_FALSE(follower.joined->entry);
}

TEST_F(FillCoalescerTest, WaitingIsBoundedByMaxWait) {
  Outcome leader, follower, late;
  start_join(ctx_, coalescer_, key_, leader);
  start_join(ctx_, coalescer_, key_, follower, 20ms);
  ASSERT_TRUE(follower.waiting());
  ASSERT_TRUE(finish(ctx_, follower));   // the leader never publishes
  EXPECT_FALSE(follower.joined->lease);  // it fetches for itself, without leading
  EXPECT_FALSE(follower.joined->entry);
  // The leader still holds the key: a later request waits for it as well.
  start_join(ctx_, coalescer_, key_, late);
  EXPECT_TRUE(late.waiting());
  leader.joined->lease.publish(entry("late"));
  ASSERT_TRUE(finish(ctx_, late));
  ASSERT_TRUE(late.joined->entry);
  EXPECT_EQ(*late.joined->entry, "late");
}

TEST_F(FillCoalescerTest, AfterTheLeaderIsDoneTheNextRequestLeadsAgain) {
  for (bool published : {true, false}) {
    Outcome leader, next;
    start_join(ctx_, coalescer_, key_, leader);
    ASSERT_TRUE(leader.leader());
    if (published) {
      leader.joined->lease.publish(entry("x"));
    } else {
      leader.joined->lease = {};
    }
    start_join(ctx_, coalescer_, key_, next);
    EXPECT_TRUE(next.leader()) << (published ? "after publish" : "after release");
  }
}

TEST_F(FillCoalescerTest, KeysAreIndependent) {
  const std::string other = "GET:/b host=x";
  Outcome a, b, a_follower;
  start_join(ctx_, coalescer_, key_, a);
  start_join(ctx_, coalescer_, other, b);
  EXPECT_TRUE(a.leader());
  EXPECT_TRUE(b.leader());
  start_join(ctx_, coalescer_, key_, a_follower);
  b.joined->lease.publish(entry("b"));  // does not concern key_'s follower
  ctx_.restart();
  ctx_.poll();
  EXPECT_TRUE(a_follower.waiting());
  a.joined->lease.publish(entry("a"));
  ASSERT_TRUE(finish(ctx_, a_follower));
  EXPECT_EQ(*a_follower.joined->entry, "a");
}

TEST_F(FillCoalescerTest, AMovedLeaseStillReleasesOnce) {
  Outcome leader, follower;
  start_join(ctx_, coalescer_, key_, leader);
  start_join(ctx_, coalescer_, key_, follower);
  FillCoalescer::Lease moved = std::move(leader.joined->lease);
  EXPECT_FALSE(leader.joined->lease);
  EXPECT_TRUE(moved);
  leader.joined->lease = {};  // the moved-from lease releases nothing
  ctx_.restart();
  ctx_.poll();
  EXPECT_TRUE(follower.waiting());
  moved.publish(entry("moved"));
  EXPECT_FALSE(moved);
  ASSERT_TRUE(finish(ctx_, follower));
  EXPECT_EQ(*follower.joined->entry, "moved");
}

// The coalescer is shared by all worker threads: a follower on one thread's io_context is woken
// on that context (its timer is not thread-safe), by a leader finishing on another thread.
TEST_F(FillCoalescerTest, FollowersOnOtherExecutorsAreWokenOnTheirOwn) {
  asio::io_context other_ctx;
  Outcome leader, here, there;
  start_join(ctx_, coalescer_, key_, leader);
  start_join(ctx_, coalescer_, key_, here);
  start_join(other_ctx, coalescer_, key_, there);
  ASSERT_TRUE(here.waiting());
  ASSERT_TRUE(there.waiting());

  const auto published = entry("cross-thread");
  std::thread publisher([&] { leader.joined->lease.publish(published); });
  publisher.join();
  std::thread other_worker([&] { finish(other_ctx, there); });
  const auto other_worker_id = other_worker.get_id();
  ASSERT_TRUE(finish(ctx_, here));
  other_worker.join();
  ASSERT_TRUE(there.joined.has_value());
  EXPECT_EQ(here.joined->entry.get(), published.get());
  EXPECT_EQ(there.joined->entry.get(), published.get());
  EXPECT_EQ(here.resumed_on, std::this_thread::get_id());
  EXPECT_EQ(there.resumed_on, other_worker_id);  // woken where it waited, not by the publisher
}

}  // namespace
}  // namespace cachecar::proxy
