#include "store/invalidation_fence.hpp"

#include <gtest/gtest.h>

namespace cachecar::store {
namespace {

using Kind = EraseTarget::Kind;

TEST(InvalidationFence, ATicketStaysCurrentUntilItsPathIsInvalidated) {
  InvalidationFence fence;
  const auto ticket = fence.ticket("GET:/users/1?fields=name");
  EXPECT_TRUE(fence.still_current(ticket));
  fence.invalidated({EraseTarget{Kind::PathAndVariants, "GET:/users/2"}});
  EXPECT_TRUE(fence.still_current(ticket));  // another path (a different slot)
  fence.invalidated({EraseTarget{Kind::PathAndVariants, "GET:/users/1"}});
  EXPECT_FALSE(fence.still_current(ticket));  // the path, and so every query variant of it
  EXPECT_TRUE(fence.still_current(fence.ticket("GET:/users/1?fields=name")));
}

TEST(InvalidationFence, AnExactEraseOfAVariantMovesItsPath) {
  InvalidationFence fence;
  const auto plain = fence.ticket("GET:/users/1");
  fence.invalidated({EraseTarget{Kind::Exact, "GET:/users/1?fields=name"}});
  EXPECT_FALSE(fence.still_current(plain));  // coarser than needed, never finer
}

TEST(InvalidationFence, AHostVariantWatchesItsPath) {
  InvalidationFence fence;
  const auto plain = fence.ticket("GET:/users/1 host=a.example");
  const auto query = fence.ticket("GET:/users/1?x=1 host=b.example");
  fence.invalidated({EraseTarget{Kind::PathAndVariants, "GET:/users/1"}});
  EXPECT_FALSE(fence.still_current(plain));
  EXPECT_FALSE(fence.still_current(query));
}

TEST(InvalidationFence, PrefixErasesAndFlushesMoveEveryTicket) {
  InvalidationFence fence;
  const auto a = fence.ticket("GET:/a");
  fence.invalidated({EraseTarget{Kind::Prefix, "GET:/zzz/"}});
  EXPECT_FALSE(fence.still_current(a));
  const auto b = fence.ticket("GET:/b");
  fence.invalidated_all();
  EXPECT_FALSE(fence.still_current(b));
}

}  // namespace
}  // namespace cachecar::store
