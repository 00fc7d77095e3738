#include "metrics/top_keys.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace cachecar::metrics {
namespace {

using Entry = TopKeys::Entry;

std::string key(int i) {
  return "GET:/k/" + std::to_string(i);
}

TEST(TopKeys, CountsExactlyWhileThereIsRoom) {
  TopKeys top(8);
  for (int i = 0; i < 5; ++i) top.add("a");
  for (int i = 0; i < 3; ++i) top.add("b");
  top.add("c");
  EXPECT_EQ(top.top(10), (std::vector<Entry>{{"a", 5, 0}, {"b", 3, 0}, {"c", 1, 0}}));
  EXPECT_EQ(top.size(), 3u);
}

TEST(TopKeys, TopIsLimitedAndTiesAreOrderedByKey) {
  TopKeys top(16);
  for (const char* k : {"d", "c", "b", "a"}) top.add(k);
  top.add("z");
  top.add("z");
  EXPECT_EQ(top.top(3), (std::vector<Entry>{{"z", 2, 0}, {"a", 1, 0}, {"b", 1, 0}}));
  EXPECT_TRUE(top.top(0).empty());
}

TEST(TopKeys, MemoryStaysBoundedWhateverTheNumberOfDistinctKeys) {
  TopKeys top(32);
  for (int i = 0; i < 100'000; ++i) top.add(key(i));
  EXPECT_EQ(top.size(), 32u);
  EXPECT_EQ(top.capacity(), 32u);
}

TEST(TopKeys, NewKeyInheritsTheSmallestCountAsItsError) {
  TopKeys top(2);
  top.add("a", 5);
  top.add("b", 2);
  top.add("c");  // evicts b (2): c = 3 with error 2
  EXPECT_EQ(top.top(10), (std::vector<Entry>{{"a", 5, 0}, {"c", 3, 2}}));
}

TEST(TopKeys, HeavyHittersSurviveALongTailOfOneOffKeys) {
  // Space-Saving guarantee: a key seen more than N / capacity times is tracked.
  TopKeys top(64);
  std::mt19937 rng(42);
  std::map<std::string, int> truth;
  for (int i = 0; i < 50'000; ++i) {
    std::string k;
    const auto r = rng() % 100;
    if (r < 10) {
      k = "hot-1";
    } else if (r < 18) {
      k = "hot-2";
    } else if (r < 24) {
      k = "hot-3";
    } else {
      k = key(static_cast<int>(rng() % 1'000'000));  // one-off keys
    }
    ++truth[k];
    top.add(k);
  }
  const auto best = top.top(3);
  ASSERT_EQ(best.size(), 3u);
  EXPECT_EQ(best[0].key, "hot-1");
  EXPECT_EQ(best[1].key, "hot-2");
  EXPECT_EQ(best[2].key, "hot-3");
  for (const auto& e : best) {
    // Never underestimates; overestimates by at most its recorded error.
    EXPECT_GE(e.count, static_cast<std::uint64_t>(truth[e.key]));
    EXPECT_LE(e.count - e.error, static_cast<std::uint64_t>(truth[e.key]));
  }
}

TEST(TopKeys, LongKeysAreTrackedByTheirPrefixWithAStar) {
  TopKeys top(4);
  const std::string long_key = "GET:/" + std::string(2000, 'x');
  top.add(long_key);
  top.add(long_key + "different tail");
  const auto best = top.top(1);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0].count, 2u);
  EXPECT_EQ(best[0].key.size(), TopKeys::kMaxKeyBytes + 1);
  EXPECT_EQ(best[0].key.back(), '*');
  EXPECT_EQ(best[0].key.substr(0, 5), "GET:/");
}

TEST(TopKeys, ClearForgetsEverything) {
  TopKeys top(4);
  top.add("a");
  top.clear();
  EXPECT_EQ(top.size(), 0u);
  EXPECT_TRUE(top.top(10).empty());
  top.add("b");
  EXPECT_EQ(top.top(10), (std::vector<Entry>{{"b", 1, 0}}));
}

TEST(TopKeys, HeapStaysConsistentUnderRandomUpdates) {
  // Cross-check against exact counts while everything fits.
  TopKeys top(50);
  std::map<std::string, std::uint64_t> truth;
  std::mt19937 rng(7);
  for (int i = 0; i < 20'000; ++i) {
    const auto k = key(static_cast<int>(rng() % 50));
    const std::uint64_t w = 1 + rng() % 3;
    top.add(k, w);
    truth[k] += w;
  }
  const auto all = top.top(50);
  ASSERT_EQ(all.size(), truth.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].count, truth[all[i].key]);
    EXPECT_EQ(all[i].error, 0u);
    if (i > 0) {
      EXPECT_GE(all[i - 1].count, all[i].count);
    }
  }
}

TEST(MergeTop, SumsCountsAcrossPartsAndKeepsTheLargest) {
  std::vector<std::vector<Entry>> parts{
      {{"a", 3, 0}, {"b", 5, 0}},
      {{"a", 4, 1}, {"c", 1, 0}},
      {},
  };
  EXPECT_EQ(merge_top(parts, 2), (std::vector<Entry>{{"a", 7, 1}, {"b", 5, 0}}));
  EXPECT_EQ(merge_top(parts, 10).size(), 3u);
}

}  // namespace
}  // namespace cachecar::metrics
