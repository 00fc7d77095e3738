#include "store/l1_cache.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace cachecar::store {
namespace {

using namespace std::chrono_literals;

Value bytes(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

struct ActiveL1 {
  ActiveL1() { l1.set_active(true); }
  L1Cache l1{1 << 20, 60s};
};

TEST(L1Cache, ServesNothingUntilItsChannelTurnsItOn) {
  L1Cache l1(1 << 20, 60s);
  l1.fill("GET:/a", bytes("v"), 10s, l1.token("GET:/a"));
  EXPECT_FALSE(l1.get("GET:/a"));  // inactive: the fill was refused too
  l1.set_active(true);
  EXPECT_FALSE(l1.get("GET:/a"));
  l1.fill("GET:/a", bytes("v"), 10s, l1.token("GET:/a"));
  EXPECT_TRUE(l1.get("GET:/a"));
}

TEST(L1Cache, HitsShareTheStoredBytesInsteadOfCopyingThem) {
  ActiveL1 f;
  const auto value = bytes(std::string(64 * 1024, 'x'));
  f.l1.fill("GET:/big", value, 10s, f.l1.token("GET:/big"));
  const auto hit = f.l1.get("GET:/big");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit.get(), value.get());
}

TEST(L1Cache, AFillThatRacedAnInvalidationOfItsKeyIsDropped) {
  ActiveL1 f;
  const auto before = f.l1.token("GET:/a");  // taken before the Redis round trip
  f.l1.invalidate("GET:/a");                 // the channel reports a write meanwhile
  f.l1.fill("GET:/a", bytes("old"), 10s, before);
  EXPECT_FALSE(f.l1.get("GET:/a"));

  f.l1.fill("GET:/a", bytes("new"), 10s, f.l1.token("GET:/a"));
  ASSERT_TRUE(f.l1.get("GET:/a"));
  EXPECT_EQ(*f.l1.get("GET:/a"), "new");
}

TEST(L1Cache, LocalPrefixErasesAndFlushesInvalidateEveryKey) {
  ActiveL1 f;
  for (const char* key : {"GET:/p/1", "GET:/p/2", "GET:/q"}) {
    f.l1.fill(key, bytes("v"), 10s, f.l1.token(key));
  }
  const auto before = f.l1.token("GET:/p/3");
  f.l1.erase({EraseTarget{EraseTarget::Kind::Prefix, "GET:/p/"}});
  EXPECT_FALSE(f.l1.get("GET:/p/1"));
  EXPECT_FALSE(f.l1.get("GET:/p/2"));
  EXPECT_TRUE(f.l1.get("GET:/q"));
  f.l1.fill("GET:/p/3", bytes("v"), 10s, before);  // in flight across the prefix erase
  EXPECT_FALSE(f.l1.get("GET:/p/3"));

  f.l1.invalidate_all();
  EXPECT_FALSE(f.l1.get("GET:/q"));
}

// L1 keeps no tags: a local Tag erase drops everything (and fences the fills in flight).
TEST(L1Cache, ALocalTagEraseDropsEverything) {
  ActiveL1 f;
  f.l1.fill("GET:/a", bytes("v"), 10s, f.l1.token("GET:/a"));
  f.l1.fill("GET:/b", bytes("v"), 10s, f.l1.token("GET:/b"));
  const auto before = f.l1.token("GET:/c");
  f.l1.erase({EraseTarget{EraseTarget::Kind::Tag, "products"}});
  EXPECT_FALSE(f.l1.get("GET:/a"));
  EXPECT_FALSE(f.l1.get("GET:/b"));
  f.l1.fill("GET:/c", bytes("v"), 10s, before);
  EXPECT_FALSE(f.l1.get("GET:/c"));
}

// With hashed Redis names the channel reports names: L1 maps them back to what it holds.
TEST(L1Cache, HashedNamesReportedByTheChannelDropTheirEntries) {
  ActiveL1 f;
  f.l1.set_key_names([](std::string_view key) { return "P:" + std::string(key) + "#"; });
  f.l1.fill("GET:/a", bytes("v"), 10s, f.l1.token("GET:/a"));
  f.l1.fill("GET:/b host=h", bytes("v"), 10s, f.l1.token("GET:/b host=h"));
  EXPECT_TRUE(f.l1.invalidate_name("P:GET:/a#"));
  EXPECT_FALSE(f.l1.get("GET:/a"));
  EXPECT_TRUE(f.l1.get("GET:/b host=h"));
  EXPECT_TRUE(f.l1.invalidate_name("P:GET:/b host=h#"));
  EXPECT_FALSE(f.l1.get("GET:/b host=h"));
  EXPECT_FALSE(f.l1.invalidate_name("P:GET:/a#"));  // forgotten with its entry
}

// A name L1 does not know may be the entry a fill is about to add: every fill in flight is
// refused, later ones are not.
TEST(L1Cache, AnUnknownHashedNameRefusesTheFillsInFlight) {
  ActiveL1 f;
  f.l1.set_key_names([](std::string_view key) { return "P:" + std::string(key); });
  const auto before = f.l1.token("GET:/a");
  EXPECT_FALSE(f.l1.invalidate_name("P:GET:/a"));
  f.l1.fill("GET:/a", bytes("pre-write"), 10s, before);
  EXPECT_FALSE(f.l1.get("GET:/a"));
  f.l1.fill("GET:/a", bytes("v"), 10s, f.l1.token("GET:/a"));
  EXPECT_TRUE(f.l1.get("GET:/a"));
}

// The name map stays bounded: names of entries L1 evicted are pruned.
TEST(L1Cache, TheNameMapForgetsEvictedEntries) {
  L1Cache l1(64 * 1024, 60s);
  l1.set_active(true);
  l1.set_key_names([](std::string_view key) { return "P:" + std::string(key); });
  for (int i = 0; i < 20'000; ++i) {
    const std::string key = "GET:/k/" + std::to_string(i);
    l1.fill(key, bytes(std::string(512, 'v')), 10s, l1.token(key));
  }
  EXPECT_TRUE(l1.get("GET:/k/19999"));
  EXPECT_FALSE(l1.invalidate_name("P:GET:/k/0"));  // evicted long ago, its name forgotten
  EXPECT_TRUE(l1.invalidate_name("P:GET:/k/19999"));
}

TEST(L1Cache, LosingTheChannelDropsEverything) {
  ActiveL1 f;
  f.l1.fill("GET:/a", bytes("v"), 10s, f.l1.token("GET:/a"));
  f.l1.set_active(false);
  f.l1.set_active(true);  // reconnected: what was kept while deaf must not come back
  EXPECT_FALSE(f.l1.get("GET:/a"));
  EXPECT_EQ(f.l1.bytes_used(), 0u);
}

TEST(L1Cache, ServesNothingWhenTheReaderHookReportsTheChannelLost) {
  ActiveL1 f;
  bool channel_ok = true;
  f.l1.set_reader_hook([&] { return channel_ok; });
  f.l1.fill("GET:/a", bytes("v"), 10s, f.l1.token("GET:/a"));
  EXPECT_TRUE(f.l1.get("GET:/a"));
  channel_ok = false;
  EXPECT_FALSE(f.l1.get("GET:/a"));
}

}  // namespace
}  // namespace cachecar::store
