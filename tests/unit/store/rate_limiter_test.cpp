// The rate-limit algorithm (meter_request) with time as a parameter, and MemoryRateLimiter.
#include "store/rate_limiter.hpp"
#include "store/memory_rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace cachecar::store {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t kStartUs = 1'700'000'000 * kSecondUs;  // a unix time: large values

TEST(MeterRequest, ExactlyLimitAtOnceThenRefused) {
  for (std::uint64_t limit : {1ull, 3ull, 7ull, 100ull, 999ull, 1'000'000ull}) {
    RateBucket bucket;
    for (std::uint64_t n = 1; n <= limit; ++n) {
      const auto d = meter_request(bucket, kStartUs, limit, 60s);
      ASSERT_TRUE(d.allowed) << "limit " << limit << ", request " << n;
      ASSERT_EQ(d.remaining, limit - n) << "limit " << limit << ", request " << n;
    }
    const auto refused = meter_request(bucket, kStartUs, limit, 60s);
    EXPECT_FALSE(refused.allowed) << "limit " << limit;
    EXPECT_EQ(refused.remaining, 0u);
  }
}

TEST(MeterRequest, RefusalSaysWhenOneMoreFits) {
  RateBucket bucket;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(meter_request(bucket, kStartUs, 3, 60s).allowed);
  const auto refused = meter_request(bucket, kStartUs, 3, 60s);
  ASSERT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 20s);  // window / limit
  EXPECT_EQ(refused.reset, 60s);        // the whole budget
  // Not a microsecond early...
  EXPECT_FALSE(meter_request(bucket, kStartUs + 20 * kSecondUs - 1, 3, 60s).allowed);
  // ...and then exactly one.
  const auto later = meter_request(bucket, kStartUs + 20 * kSecondUs, 3, 60s);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 0u);
  EXPECT_FALSE(meter_request(bucket, kStartUs + 20 * kSecondUs, 3, 60s).allowed);
}

TEST(MeterRequest, RefusedRequestsCostNothing) {
  RateBucket bucket;
  ASSERT_TRUE(meter_request(bucket, kStartUs, 1, 10s).allowed);
  for (int i = 0; i < 100; ++i) {
    ASSERT_FALSE(meter_request(bucket, kStartUs + i * 1000, 1, 10s).allowed);
  }
  EXPECT_TRUE(meter_request(bucket, kStartUs + 10 * kSecondUs, 1, 10s).allowed);
}

TEST(MeterRequest, WholeBudgetBackAfterTheWindow) {
  RateBucket bucket;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(meter_request(bucket, kStartUs, 5, 1s).allowed);
  ASSERT_FALSE(meter_request(bucket, kStartUs, 5, 1s).allowed);
  const auto first = meter_request(bucket, kStartUs + kSecondUs, 5, 1s);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.remaining, 4u);
}

TEST(MeterRequest, ResetIsTheDrainTime) {
  RateBucket bucket;
  const auto first = meter_request(bucket, kStartUs, 4, 60s);
  EXPECT_EQ(first.reset, 15s);
  const auto second = meter_request(bucket, kStartUs, 4, 60s);
  EXPECT_EQ(second.reset, 30s);
  EXPECT_EQ(drain_time(bucket.level, 4, 60s), 30s);
  // Half an emission interval later: 1.5 requests left in the bucket.
  const auto third = meter_request(bucket, kStartUs + 7'500'000, 4, 60s);
  EXPECT_EQ(third.remaining, 1u);
  EXPECT_EQ(third.reset, 37'500ms);
}

TEST(MeterRequest, ClockGoingBackIsNoTimePassing) {
  RateBucket bucket;
  ASSERT_TRUE(meter_request(bucket, kStartUs, 1, 60s).allowed);
  EXPECT_FALSE(meter_request(bucket, kStartUs - 60 * kSecondUs, 1, 60s).allowed);
}

TEST(MeterRequest, LowerLimitAppliesToWhatIsCounted) {
  RateBucket bucket;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(meter_request(bucket, kStartUs, 10, 10s).allowed);
  // A reload lowered the limit to 2 per 10 s: 10 counted requests drain at the new rate.
  const auto refused = meter_request(bucket, kStartUs, 2, 10s);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 45s);  // (10 + 1 - 2) * 5 s
}

TEST(MemoryRateLimiter, BudgetsPerName) {
  std::int64_t now = kStartUs;
  MemoryRateLimiter limiter(16, [&now] { return now; });
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(limiter.acquire_sync("__rl:r:ip:a", 2, 60s)->allowed);
  EXPECT_FALSE(limiter.acquire_sync("__rl:r:ip:a", 2, 60s)->allowed);
  EXPECT_TRUE(limiter.acquire_sync("__rl:r:ip:b", 2, 60s)->allowed);
  now += 30 * kSecondUs;
  EXPECT_TRUE(limiter.acquire_sync("__rl:r:ip:a", 2, 60s)->allowed);
}

TEST(MemoryRateLimiter, DrainedBudgetsAreForgottenAndTheTableIsBounded) {
  std::int64_t now = kStartUs;
  MemoryRateLimiter limiter(4, [&now] { return now; });
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(limiter.acquire_sync("n" + std::to_string(i), 1, 1s)) << i;
  }
  // Full of live budgets: a fifth identity cannot be counted (the rule's fail mode decides)...
  const auto full = limiter.acquire_sync("n4", 1, 1s);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error(), errc::store_unavailable);
  // ...while a known one still is.
  EXPECT_FALSE(limiter.acquire_sync("n0", 1, 1s)->allowed);
  // Once they drained they make room.
  now += kSecondUs;
  EXPECT_TRUE(limiter.acquire_sync("n4", 1, 1s)->allowed);
  EXPECT_EQ(limiter.size(), 1u);
}

TEST(MemoryRateLimiter, SharedByThreadsNeverOverspends) {
  MemoryRateLimiter limiter;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.acquire_sync("__rl:r:ip:shared", 100, 24h)->allowed) ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 100);
}

}  // namespace
}  // namespace cachecar::store
