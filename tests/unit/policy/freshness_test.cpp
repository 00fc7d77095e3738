#include "policy/freshness.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace cachecar::policy {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;  // response_ms of every entry below

Freshness entry(std::int64_t lifetime_ms, std::int64_t initial_age_ms = 0,
                std::uint32_t flags = 0) {
  Freshness f;
  f.request_ms = kT0 - 50;
  f.response_ms = kT0;
  f.initial_age_ms = initial_age_ms;
  f.lifetime_ms = lifetime_ms;
  f.flags = flags;
  return f;
}

// RFC 9111 §4.2.3.
TEST(CurrentAge, InitialAgePlusResidentTime) {
  EXPECT_EQ(current_age_ms(entry(0), kT0), 0);
  EXPECT_EQ(current_age_ms(entry(0), kT0 + 1'500), 1'500);
  EXPECT_EQ(current_age_ms(entry(0, 7'000), kT0 + 1'500), 8'500);
  EXPECT_EQ(current_age_ms(entry(0, 7'000), kT0), 7'000);
}

TEST(CurrentAge, NeverNegativeNorOverflowing) {
  EXPECT_EQ(current_age_ms(entry(0, 7'000), kT0 - 60'000), 7'000);  // clock went backwards
  EXPECT_EQ(current_age_ms(entry(0, -5), kT0), 0);
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  Freshness f = entry(0, kMax);
  EXPECT_EQ(current_age_ms(f, kMax), kMax);
  f.response_ms = kMin;
  EXPECT_EQ(current_age_ms(f, kMax), kMax);
  EXPECT_EQ(current_age_ms(entry(0), kMin), 0);
}

TEST(DecideReuse, FreshThenStaleWithAgeAndTtl) {
  const Freshness f = entry(10'000, 2'000);  // arrived 2 s old, 8 s left
  auto d = decide_reuse(f, kT0, nullptr);
  EXPECT_EQ(d.reuse, Reuse::Fresh);
  EXPECT_EQ(d.age_s, 2);
  EXPECT_EQ(d.ttl_s, 8);

  d = decide_reuse(f, kT0 + 7'999, nullptr);
  EXPECT_EQ(d.reuse, Reuse::Fresh);
  EXPECT_EQ(d.age_s, 9);
  EXPECT_EQ(d.ttl_s, 0);  // 1 ms left

  // Stale once current_age reaches the lifetime (§4.2: fresh while lifetime > age).
  d = decide_reuse(f, kT0 + 8'000, nullptr);
  EXPECT_EQ(d.reuse, Reuse::Revalidate);
  EXPECT_EQ(d.age_s, 10);
  EXPECT_EQ(d.ttl_s, 0);

  // ttl rounds toward -inf: 1 ms stale shows ttl=-1.
  d = decide_reuse(f, kT0 + 8'001, nullptr);
  EXPECT_EQ(d.ttl_s, -1);
  d = decide_reuse(f, kT0 + 9'000, nullptr);
  EXPECT_EQ(d.ttl_s, -1);
  d = decide_reuse(f, kT0 + 9'001, nullptr);
  EXPECT_EQ(d.ttl_s, -2);
}

TEST(DecideReuse, StaleOnArrival) {
  // An Age larger than the lifetime: stale the moment it is stored (§4.2.3).
  const auto d = decide_reuse(entry(5'000, 60'000), kT0, nullptr);
  EXPECT_EQ(d.reuse, Reuse::Revalidate);
  EXPECT_EQ(d.age_s, 60);
  EXPECT_EQ(d.ttl_s, -55);
}

TEST(DecideReuse, LifetimeZeroIsStaleAtOnce) {
  EXPECT_EQ(decide_reuse(entry(0), kT0, nullptr).reuse, Reuse::Revalidate);
}

TEST(DecideReuse, NoCacheAlwaysRevalidatesAndIsNeverServedOnError) {
  Freshness f = entry(60'000, 0, kNoCache);
  f.stale_if_error_ms = 60'000;
  f.stale_while_revalidate_ms = 60'000;
  const auto d = decide_reuse(f, kT0 + 1'000, nullptr);
  EXPECT_EQ(d.reuse, Reuse::Revalidate);
  EXPECT_EQ(d.ttl_s, 59);
  EXPECT_FALSE(d.serve_on_error);  // RFC 9111 §5.2.2.4: not without successful validation
}

// RFC 5861 §3.
TEST(DecideReuse, StaleWhileRevalidateWindow) {
  Freshness f = entry(10'000);
  f.stale_while_revalidate_ms = 5'000;
  EXPECT_EQ(decide_reuse(f, kT0 + 9'999, nullptr).reuse, Reuse::Fresh);
  EXPECT_EQ(decide_reuse(f, kT0 + 10'000, nullptr).reuse, Reuse::StaleWhileRevalidate);
  EXPECT_EQ(decide_reuse(f, kT0 + 14'999, nullptr).reuse, Reuse::StaleWhileRevalidate);
  EXPECT_EQ(decide_reuse(f, kT0 + 15'000, nullptr).reuse, Reuse::Revalidate);
  f.flags = kMustRevalidate;
  EXPECT_EQ(decide_reuse(f, kT0 + 10'000, nullptr).reuse, Reuse::Revalidate);
}

// RFC 5861 §4.
TEST(DecideReuse, ServeOnErrorWithinStaleIfError) {
  Freshness f = entry(10'000);
  EXPECT_TRUE(decide_reuse(f, kT0, nullptr).serve_on_error);           // fresh: staleness 0
  EXPECT_TRUE(decide_reuse(f, kT0 + 10'000, nullptr).serve_on_error);  // stale by 0 ms
  EXPECT_FALSE(decide_reuse(f, kT0 + 10'001, nullptr).serve_on_error);
  f.stale_if_error_ms = 30'000;
  EXPECT_TRUE(decide_reuse(f, kT0 + 40'000, nullptr).serve_on_error);
  EXPECT_FALSE(decide_reuse(f, kT0 + 40'001, nullptr).serve_on_error);
  f.flags = kMustRevalidate;
  EXPECT_FALSE(decide_reuse(f, kT0, nullptr).serve_on_error);
  EXPECT_FALSE(decide_reuse(f, kT0 + 20'000, nullptr).serve_on_error);
}

// RFC 9111 §5.2.1.
TEST(DecideReuse, ClientNoCache) {
  RequestCacheControl client;
  client.no_cache = true;
  const auto d = decide_reuse(entry(60'000), kT0, &client);
  EXPECT_EQ(d.reuse, Reuse::Revalidate);
  EXPECT_TRUE(d.serve_on_error);
  EXPECT_EQ(decide_reuse(entry(60'000), kT0, nullptr).reuse, Reuse::Fresh);
}

TEST(DecideReuse, ClientMaxAge) {
  RequestCacheControl client;
  client.max_age = 5;
  const Freshness f = entry(60'000, 2'000);
  EXPECT_EQ(decide_reuse(f, kT0 + 3'000, &client).reuse, Reuse::Fresh);  // age 5 s: not older
  EXPECT_EQ(decide_reuse(f, kT0 + 3'001, &client).reuse, Reuse::Revalidate);
  // A max-age larger than the lifetime does not make a stale entry fresh.
  client.max_age = 600;
  EXPECT_EQ(decide_reuse(f, kT0 + 58'000, &client).reuse, Reuse::Revalidate);
}

TEST(DecideReuse, ClientMinFresh) {
  RequestCacheControl client;
  client.min_fresh = 10;
  const Freshness f = entry(60'000);
  EXPECT_EQ(decide_reuse(f, kT0 + 50'000, &client).reuse, Reuse::Fresh);  // exactly 10 s left
  EXPECT_EQ(decide_reuse(f, kT0 + 50'001, &client).reuse, Reuse::Revalidate);
  // min-fresh also rules out stale-while-revalidate.
  Freshness swr = entry(60'000);
  swr.stale_while_revalidate_ms = 60'000;
  EXPECT_EQ(decide_reuse(swr, kT0 + 61'000, &client).reuse, Reuse::Revalidate);
}

TEST(DecideReuse, ClientMaxStale) {
  RequestCacheControl client;
  client.max_stale = 5;
  Freshness f = entry(10'000);
  EXPECT_EQ(decide_reuse(f, kT0 + 15'000, &client).reuse, Reuse::Fresh);  // 5 s stale
  EXPECT_EQ(decide_reuse(f, kT0 + 15'000, &client).ttl_s, -5);
  EXPECT_EQ(decide_reuse(f, kT0 + 15'001, &client).reuse, Reuse::Revalidate);
  client.max_stale = kDeltaSecondsMax;  // max-stale without a value
  EXPECT_EQ(decide_reuse(f, kT0 + 86'400'000, &client).reuse, Reuse::Fresh);
  // Never past must-revalidate (§5.2.2.2) or no-cache.
  f.flags = kMustRevalidate;
  EXPECT_EQ(decide_reuse(f, kT0 + 11'000, &client).reuse, Reuse::Revalidate);
  f.flags = kNoCache;
  EXPECT_EQ(decide_reuse(f, kT0 + 11'000, &client).reuse, Reuse::Revalidate);
  // Together with max-age: both must hold.
  f.flags = 0;
  client.max_age = 12;
  EXPECT_EQ(decide_reuse(f, kT0 + 12'000, &client).reuse, Reuse::Fresh);
  EXPECT_EQ(decide_reuse(f, kT0 + 12'001, &client).reuse, Reuse::Revalidate);
}

TEST(DecideReuse, ClientWithoutDirectivesChangesNothing) {
  const RequestCacheControl client;
  Freshness f = entry(10'000);
  f.stale_while_revalidate_ms = 1'000;
  EXPECT_EQ(decide_reuse(f, kT0, &client).reuse, Reuse::Fresh);
  EXPECT_EQ(decide_reuse(f, kT0 + 10'500, &client).reuse, Reuse::StaleWhileRevalidate);
}

TEST(DecideReuse, ExtremeValuesDoNotOverflow) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  RequestCacheControl client;
  client.max_age = kMax;
  client.min_fresh = kMax;
  client.max_stale = kMax;
  for (const std::int64_t lifetime : {kMin, std::int64_t{0}, kMax}) {
    for (const std::int64_t now : {kMin, std::int64_t{0}, kT0, kMax}) {
      Freshness f = entry(lifetime, kMax);
      f.stale_if_error_ms = kMax;
      f.stale_while_revalidate_ms = kMax;
      const auto d = decide_reuse(f, now, &client);
      EXPECT_GE(d.age_s, 0);
      (void)decide_reuse(f, now, nullptr);
    }
  }
}

}  // namespace
}  // namespace cachecar::policy
