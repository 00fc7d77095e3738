#include "store/pending_invalidations.hpp"

#include "store/memory_store.hpp"
#include "support/run_awaitable.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace cachecar::store {
namespace {

using namespace std::chrono_literals;
using Kind = EraseTarget::Kind;

std::vector<EraseTarget> one(Kind kind, std::string key) {
  return {EraseTarget{kind, std::move(key)}};
}

TEST(PendingInvalidations, NothingPendingCoversNothing) {
  PendingInvalidations pending(10);
  EXPECT_TRUE(pending.empty());
  EXPECT_FALSE(pending.covers("GET:/a"));
  EXPECT_FALSE(pending.next_batch());
}

TEST(PendingInvalidations, CoversWhatItsTargetsName) {
  PendingInvalidations pending(10);
  pending.add(one(Kind::PathAndVariants, "GET:/users/1"));
  pending.add(one(Kind::Prefix, "GET:/posts/"));
  pending.add(one(Kind::Exact, "GET:/exact"));
  EXPECT_FALSE(pending.empty());
  EXPECT_EQ(pending.size(), 3u);
  EXPECT_TRUE(pending.covers("GET:/users/1"));
  EXPECT_TRUE(pending.covers("GET:/users/1?x=1"));
  EXPECT_FALSE(pending.covers("GET:/users/10"));
  EXPECT_TRUE(pending.covers("GET:/posts/"));
  EXPECT_TRUE(pending.covers("GET:/posts/7?page=2"));
  EXPECT_FALSE(pending.covers("GET:/posts"));
  EXPECT_TRUE(pending.covers("GET:/exact"));
  EXPECT_FALSE(pending.covers("GET:/exact?x=1"));
  // Every variant of a logical key (secondary key after the separator) is covered with it.
  EXPECT_TRUE(pending.covers("GET:/users/1 host=api.example"));
  EXPECT_TRUE(pending.covers("GET:/exact host=api.example"));
  EXPECT_FALSE(pending.covers("GET:/users/10 host=api.example"));
}

TEST(PendingInvalidations, OverflowCoversEverythingUntilAClearCompletes) {
  PendingInvalidations pending(2);
  EXPECT_EQ(pending.add(one(Kind::Exact, "GET:/a")), PendingInvalidations::Added::Queued);
  EXPECT_EQ(pending.add(one(Kind::Exact, "GET:/b")), PendingInvalidations::Added::Queued);
  EXPECT_EQ(pending.add(one(Kind::Exact, "GET:/c")), PendingInvalidations::Added::Overflowed);
  EXPECT_EQ(pending.add(one(Kind::Exact, "GET:/d")), PendingInvalidations::Added::Covered);
  EXPECT_TRUE(pending.overflowed());
  EXPECT_TRUE(pending.covers("GET:/anything/at/all"));
  EXPECT_EQ(pending.size(), 3u);

  auto batch = pending.next_batch();
  ASSERT_TRUE(batch);
  EXPECT_TRUE(batch->clear_all);
  EXPECT_EQ(pending.completed(*batch), 1u);
  EXPECT_TRUE(pending.empty());
  EXPECT_FALSE(pending.covers("GET:/a"));
}

TEST(PendingInvalidations, AFailureDuringTheClearKeepsTheOverflow) {
  PendingInvalidations pending(1);
  pending.add(one(Kind::Exact, "GET:/a"));
  pending.add(one(Kind::Exact, "GET:/b"));  // overflow
  auto batch = pending.next_batch();
  ASSERT_TRUE(batch && batch->clear_all);
  pending.add(one(Kind::Exact, "GET:/c"));  // may have reached Redis after the clear ran
  EXPECT_EQ(pending.completed(*batch), 0u);
  EXPECT_TRUE(pending.overflowed());
}

TEST(PendingInvalidations, InvalidationsAddedDuringAReplayStayPending) {
  PendingInvalidations pending(10);
  pending.add(one(Kind::Exact, "GET:/a"));
  auto batch = pending.next_batch();
  ASSERT_TRUE(batch);
  pending.add(one(Kind::Exact, "GET:/b"));
  EXPECT_EQ(pending.completed(*batch), 1u);
  EXPECT_FALSE(pending.covers("GET:/a"));
  EXPECT_TRUE(pending.covers("GET:/b"));
}

TEST(PendingInvalidations, BatchesTakeWholeInvalidations) {
  PendingInvalidations pending(10);
  pending.add({{Kind::Exact, "GET:/a"}, {Kind::Exact, "GET:/b"}});
  pending.add({{Kind::Exact, "GET:/c"}, {Kind::Exact, "GET:/d"}});
  auto batch = pending.next_batch(3);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->targets.size(), 2u);
  EXPECT_EQ(pending.completed(*batch), 1u);
  EXPECT_TRUE(pending.covers("GET:/c"));
}

TEST(PendingInvalidations, ReplayErasesFromTheStore) {
  boost::asio::io_context ctx;
  MemoryStore store(1 << 20);
  store.put_sync("GET:/a", "old", 60s, "");
  store.put_sync("GET:/a?x=1", "old", 60s, "");
  store.put_sync("GET:/b", "kept", 60s, "");
  PendingInvalidations pending(10);
  pending.add(one(Kind::PathAndVariants, "GET:/a"));

  auto replayed = test::run_awaitable(ctx, replay_pending(store, pending));
  ASSERT_TRUE(replayed);
  EXPECT_EQ(*replayed, 1u);
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(store.get_sync("GET:/a"), nullptr);
  EXPECT_EQ(store.get_sync("GET:/a?x=1"), nullptr);
  EXPECT_NE(store.get_sync("GET:/b"), nullptr);
}

TEST(PendingInvalidations, ReplayAfterOverflowClearsTheWholeStore) {
  boost::asio::io_context ctx;
  MemoryStore store(1 << 20);
  store.put_sync("GET:/a", "old", 60s, "");
  store.put_sync("GET:/z", "old", 60s, "ns");
  PendingInvalidations pending(1);
  pending.add(one(Kind::Exact, "GET:/a"));
  pending.add(one(Kind::Exact, "GET:/b"));

  auto replayed = test::run_awaitable(ctx, replay_pending(store, pending));
  ASSERT_TRUE(replayed);
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(store.count_sync(), 0u);
}

TEST(PendingInvalidations, DescribesTargetsForTheLog) {
  EXPECT_EQ(describe_targets({{Kind::PathAndVariants, "GET:/a"}, {Kind::Prefix, "GET:/b/"}}),
            "GET:/a (and its query variants), GET:/b/*");
}

}  // namespace
}  // namespace cachecar::store
