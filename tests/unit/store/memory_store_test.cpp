#include "store/memory_store.hpp"

#include "store/variant_index.hpp"

#include "support/run_awaitable.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <thread>
#include <vector>

namespace cachecar::store {
namespace {

using namespace std::chrono_literals;

// MemoryStore with a hand-driven clock.
struct Fixture {
  explicit Fixture(std::uint64_t max_bytes = 1 << 20)
      : store(max_bytes, [this] { return now_ms.load(); }) {}
  std::atomic<std::int64_t> now_ms{1'000'000};
  MemoryStore store;
  // The stored bytes, or nullopt when absent.
  std::optional<std::string> value(const std::string& key) {
    auto shared = store.get_sync(key);
    return shared ? std::optional<std::string>(*shared) : std::nullopt;
  }
};

TEST(MemoryStore, PutThenGet) {
  Fixture f;
  f.store.put_sync("GET:/a", "value", 1s, "");
  EXPECT_EQ(f.value("GET:/a"), "value");
  EXPECT_EQ(f.value("GET:/b"), std::nullopt);
  EXPECT_EQ(f.store.kind(), "memory");
}

TEST(MemoryStore, ExpiresExactlyAtTtl) {
  Fixture f;
  f.store.put_sync("GET:/a", "v", 100ms, "");
  f.now_ms += 99;
  EXPECT_EQ(f.value("GET:/a"), "v");
  f.now_ms += 1;
  EXPECT_EQ(f.value("GET:/a"), std::nullopt);
  EXPECT_EQ(f.store.bytes_used(), 0u);  // removed on the read that found it expired
}

TEST(MemoryStore, CountIgnoresExpiredEntries) {
  Fixture f;
  f.store.put_sync("GET:/short", "v", 10ms, "");
  f.store.put_sync("GET:/long", "v", 10s, "");
  EXPECT_EQ(f.store.count_sync(), 2u);
  f.now_ms += 10;
  EXPECT_EQ(f.store.count_sync(), 1u);
}

TEST(MemoryStore, OverwriteReplacesValueTtlAndBytes) {
  Fixture f;
  f.store.put_sync("GET:/a", "12345", 10ms, "");
  f.store.put_sync("GET:/a", "1", 1s, "");
  EXPECT_EQ(f.store.bytes_used(), std::string("GET:/a1").size());
  f.now_ms += 500;
  EXPECT_EQ(f.value("GET:/a"), "1");
  EXPECT_EQ(f.store.count_sync(), 1u);
}

TEST(MemoryStore, EvictsLeastRecentlyUsedByBytes) {
  Fixture f(30);                               // room for three 10-byte entries
  f.store.put_sync("GET:/1", "abcd", 1s, "");  // 6 + 4 bytes
  f.store.put_sync("GET:/2", "abcd", 1s, "");
  f.store.put_sync("GET:/3", "abcd", 1s, "");
  EXPECT_EQ(f.store.bytes_used(), 30u);
  ASSERT_TRUE(f.store.get_sync("GET:/1"));  // /2 is now the least recently used
  f.store.put_sync("GET:/4", "abcd", 1s, "");
  EXPECT_EQ(f.value("GET:/2"), std::nullopt);
  EXPECT_TRUE(f.store.get_sync("GET:/1"));
  EXPECT_TRUE(f.store.get_sync("GET:/3"));
  EXPECT_TRUE(f.store.get_sync("GET:/4"));
  EXPECT_LE(f.store.bytes_used(), 30u);
}

TEST(MemoryStore, BigEntryEvictsAsManyAsNeeded) {
  Fixture f(30);
  f.store.put_sync("GET:/1", "abcd", 1s, "");
  f.store.put_sync("GET:/2", "abcd", 1s, "");
  f.store.put_sync("GET:/3", "abcd", 1s, "");
  f.store.put_sync("GET:/big", std::string(20, 'x'), 1s, "");  // 28 bytes
  EXPECT_EQ(f.store.count_sync(), 1u);
  EXPECT_TRUE(f.store.get_sync("GET:/big"));
}

TEST(MemoryStore, ValueLargerThanCapacityIsNotStoredAndDropsTheOldOne) {
  Fixture f(30);
  f.store.put_sync("GET:/a", "small", 1s, "");
  f.store.put_sync("GET:/a", std::string(100, 'x'), 1s, "");
  EXPECT_EQ(f.value("GET:/a"), std::nullopt);
  EXPECT_EQ(f.store.bytes_used(), 0u);
}

TEST(MemoryStore, PutDropsExpiredEntriesBeforeEvictingLiveOnes) {
  Fixture f(30);
  f.store.put_sync("GET:/old", "abcd", 10ms, "");
  f.store.put_sync("GET:/1", "abcd", 1s, "");
  f.store.put_sync("GET:/2", "abcd", 1s, "");
  f.now_ms += 10;
  f.store.put_sync("GET:/3", "abcd", 1s, "");
  EXPECT_EQ(f.store.count_sync(), 3u);
  EXPECT_TRUE(f.store.get_sync("GET:/1"));
}

TEST(MemoryStore, EraseRangesUseTheOrderedIndex) {
  Fixture f;
  for (const char* k : {"GET:/api/posts", "GET:/api/posts/", "GET:/api/posts/1",
                        "GET:/api/posts/?page=2", "GET:/api/postsX", "GET:/api/posts?x=1"}) {
    f.store.put_sync(k, "v", 1s, "");
  }
  EXPECT_EQ(f.store.erase_sync({{EraseTarget::Kind::PathAndVariants, "GET:/api/posts/"}}), 2u);
  EXPECT_TRUE(f.store.get_sync("GET:/api/posts/1"));
  EXPECT_TRUE(f.store.get_sync("GET:/api/posts?x=1"));
  EXPECT_EQ(f.store.erase_sync({{EraseTarget::Kind::Prefix, "GET:/api/posts"}}), 4u);
  EXPECT_EQ(f.store.count_sync(), 0u);
}

TEST(MemoryStore, EraseCountsOnlyLiveEntries) {
  Fixture f;
  f.store.put_sync("GET:/a", "v", 10ms, "");
  f.store.put_sync("GET:/b", "v", 1s, "");
  f.now_ms += 10;
  EXPECT_EQ(f.store.erase_sync({{EraseTarget::Kind::Prefix, "GET:/"}}), 1u);
  EXPECT_EQ(f.store.bytes_used(), 0u);
}

TEST(MemoryStore, NamespacesFollowTheLatestPut) {
  Fixture f;
  f.store.put_sync("GET:/a", "v", 1s, "posts");
  f.store.put_sync("GET:/b", "v", 1s, "posts");
  f.store.put_sync("GET:/c", "v", 1s, "users");
  f.store.put_sync("GET:/b", "v", 1s, "users");  // moves to "users"
  EXPECT_EQ(f.store.clear_sync("posts"), 1u);
  EXPECT_FALSE(f.store.get_sync("GET:/a"));
  EXPECT_TRUE(f.store.get_sync("GET:/b"));
  EXPECT_EQ(f.store.clear_sync("users"), 2u);
  EXPECT_EQ(f.store.clear_sync("nothing"), 0u);
  EXPECT_EQ(f.store.clear_sync(""), 0u);
}

TEST(MemoryStore, ClearAll) {
  Fixture f;
  f.store.put_sync("GET:/a", "v", 1s, "posts");
  f.store.put_sync("GET:/b", "v", 1s, "");
  f.store.put_sync("GET:/c", "v", 10ms, "");
  f.now_ms += 10;
  EXPECT_EQ(f.store.clear_sync(std::nullopt), 2u);
  EXPECT_EQ(f.store.count_sync(), 0u);
  EXPECT_EQ(f.store.bytes_used(), 0u);
  EXPECT_EQ(f.store.clear_sync("posts"), 0u);
  f.store.put_sync("GET:/a", "v", 1s, "posts");  // usable again afterwards
  EXPECT_EQ(f.store.count_sync(), 1u);
}

TEST(MemoryStore, CoroutinesCompleteImmediately) {
  Fixture f;
  boost::asio::io_context ctx;
  auto error = test::run_awaitable(ctx, f.store.put("GET:/a", "v", 1s, "ns", {}));
  EXPECT_FALSE(error);
  auto value = test::run_awaitable(ctx, f.store.get("GET:/a"));
  ASSERT_TRUE(value.has_value());
  ASSERT_TRUE(*value);
  EXPECT_EQ(**value, "v");
  auto health = f.store.health();
  EXPECT_TRUE(health.connected);
  EXPECT_EQ(health.state, BreakerState::Closed);
}

TEST(MemoryStore, ConcurrentUseFromManyThreads) {
  Fixture f(4096);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = "GET:/" + std::to_string(t) + "/" + std::to_string(i % 50);
        f.store.put_sync(key, std::string(i % 40, 'v'), 1s, i % 2 ? "odd" : "");
        (void)f.store.get_sync(key);
        if (i % 100 == 0) {
          f.store.erase_sync({{EraseTarget::Kind::Prefix, "GET:/" + std::to_string(t)}});
        }
        if (i % 500 == 0) (void)f.store.clear_sync("odd");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(f.store.bytes_used(), 4096u);
  const auto n = f.store.count_sync();
  EXPECT_EQ(f.store.clear_sync(std::nullopt), n);
}

// Vary: LRU eviction by bytes may drop the index or its variants independently of each other.
const std::string kPrimary = "GET:/v";
std::string variant_key(int n) {
  return kPrimary + " vary=" + std::string(31, '0') + std::to_string(n);
}
bool fill_variant(Fixture& f, int n, std::chrono::milliseconds ttl = 10s) {
  const std::string key = variant_key(n);
  return f.store.fill_variant_sync({kPrimary, {"origin"}, key, 8}, "variant " + std::to_string(n),
                                   ttl, "", f.store.read_fill_token_sync(key));
}
std::vector<std::string> listed(Fixture& f) {
  auto index = f.value(kPrimary);
  return index ? variant_index_members(*index) : std::vector<std::string>{};
}
std::string secondary(int n) {
  return variant_key(n).substr(kPrimary.size());
}
// A put of an unrelated entry just big enough to evict the `evict` least recently used bytes.
void squeeze(Fixture& f, std::uint64_t evict) {
  const std::uint64_t free = f.store.max_bytes() - f.store.bytes_used();
  const std::string key = "GET:/filler";
  f.store.put_sync(key, std::string(free + evict - key.size(), 'x'), 10s, "");
}

TEST(MemoryStore, AVariantWhoseIndexWasEvictedIsUnreachableButExpiresNormally) {
  Fixture f(1000);
  ASSERT_TRUE(fill_variant(f, 1));
  ASSERT_TRUE(fill_variant(f, 2));
  const std::uint64_t index_bytes = kPrimary.size() + f.value(kPrimary)->size();
  f.value(variant_key(1));  // the index is now the least recently used
  f.value(variant_key(2));
  squeeze(f, index_bytes);
  EXPECT_EQ(f.value(kPrimary), std::nullopt);
  EXPECT_EQ(f.value(variant_key(1)), "variant 1");  // still stored; a lookup of the key misses
  EXPECT_EQ(f.store.count_sync(), 3u);              // two variants and the filler

  ASSERT_TRUE(fill_variant(f, 3));  // a new index knows only the new variant
  EXPECT_EQ(listed(f), std::vector<std::string>{secondary(3)});
  f.now_ms += 10'000;
  EXPECT_EQ(f.value(variant_key(1)), std::nullopt);
  EXPECT_EQ(f.store.count_sync(), 0u);
}

TEST(MemoryStore, AnIndexWhoseVariantsWereEvictedIsOnlyAMissForThem) {
  Fixture f(1000);
  ASSERT_TRUE(fill_variant(f, 1));
  ASSERT_TRUE(fill_variant(f, 2));
  const std::uint64_t variant_bytes = variant_key(1).size() + f.value(variant_key(1))->size();
  f.value(kPrimary);  // the variants are now the least recently used
  squeeze(f, 2 * variant_bytes);
  EXPECT_EQ(listed(f), (std::vector<std::string>{secondary(1), secondary(2)}));
  auto miss = f.store.lookup_for_fill_sync(variant_key(1));
  EXPECT_FALSE(miss.value);
  EXPECT_FALSE(miss.token.empty());
  EXPECT_EQ(f.store.count_sync(), 1u);  // the filler; the index is not an entry
  ASSERT_TRUE(fill_variant(f, 1));      // evicted variants are no longer listed
  EXPECT_EQ(listed(f), std::vector<std::string>{secondary(1)});
  EXPECT_EQ(f.value(variant_key(1)), "variant 1");
}

// Entries and indexes share the table and its byte budget: an index counts its bytes.
TEST(MemoryStore, IndexBytesAreAccountedAndFreed) {
  Fixture f;
  ASSERT_TRUE(fill_variant(f, 1));
  EXPECT_EQ(f.store.bytes_used(), kPrimary.size() + f.value(kPrimary)->size() +
                                      variant_key(1).size() + f.value(variant_key(1))->size());
  EXPECT_EQ(f.store.erase_sync({{EraseTarget::Kind::Exact, kPrimary}}), 1u);
  EXPECT_EQ(f.store.bytes_used(), 0u);
}

}  // namespace
}  // namespace cachecar::store
