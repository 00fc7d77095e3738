#include "store/redis/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace cachecar::store::redis {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;

// Fake time: an arbitrary origin plus offsets.
const CircuitBreaker::TimePoint kT0 = CircuitBreaker::TimePoint{} + 1000h;

TEST(CircuitBreaker, StartsClosedAndAllowsEverything) {
  CircuitBreaker b;
  EXPECT_EQ(b.state(), State::Closed);
  EXPECT_EQ(b.state_name(), "closed");
  EXPECT_TRUE(b.allow(kT0));
  EXPECT_TRUE(b.allow(kT0));
}

TEST(CircuitBreaker, OpensAfterThreeConsecutiveFailures) {
  CircuitBreaker b;
  b.on_failure(kT0);
  b.on_failure(kT0);
  EXPECT_EQ(b.state(), State::Closed);
  b.on_failure(kT0);
  EXPECT_EQ(b.state(), State::Open);
  EXPECT_EQ(b.state_name(), "open");
  EXPECT_FALSE(b.allow(kT0));
}

TEST(CircuitBreaker, SuccessResetsTheFailureCount) {
  CircuitBreaker b;
  b.on_failure(kT0);
  b.on_failure(kT0);
  b.on_success();
  b.on_failure(kT0);
  b.on_failure(kT0);
  EXPECT_EQ(b.state(), State::Closed);
  EXPECT_EQ(b.consecutive_failures(), 2u);
}

TEST(CircuitBreaker, ThresholdIsConfigurable) {
  CircuitBreaker b({.failure_threshold = 1});
  b.on_failure(kT0);
  EXPECT_EQ(b.state(), State::Open);
}

TEST(CircuitBreaker, TripOpensAtOnce) {
  CircuitBreaker b;
  b.trip(kT0);
  EXPECT_EQ(b.state(), State::Open);
  EXPECT_EQ(b.retry_at(), kT0 + 100ms);
}

TEST(CircuitBreaker, OpenRefusesUntilTheBackoffHasElapsedThenAllowsOneProbe) {
  CircuitBreaker b;
  b.trip(kT0);
  EXPECT_FALSE(b.allow(kT0 + 99ms));
  EXPECT_TRUE(b.allow(kT0 + 100ms));
  EXPECT_EQ(b.state(), State::HalfOpen);
  EXPECT_EQ(b.state_name(), "half-open");
  EXPECT_FALSE(b.allow(kT0 + 100ms));  // exactly one probe
  EXPECT_FALSE(b.allow(kT0 + 10s));
}

TEST(CircuitBreaker, ProbeSuccessClosesAndResetsTheBackoff) {
  CircuitBreaker b;
  b.trip(kT0);
  ASSERT_TRUE(b.allow(kT0 + 100ms));
  b.on_failure(kT0 + 100ms);  // probe failed: open for 200ms
  ASSERT_TRUE(b.allow(kT0 + 300ms));
  b.on_success();
  EXPECT_EQ(b.state(), State::Closed);
  EXPECT_TRUE(b.allow(kT0 + 300ms));
  b.trip(kT0 + 1s);
  EXPECT_EQ(b.retry_at(), kT0 + 1s + 100ms);
}

TEST(CircuitBreaker, BackoffDoublesUpToFiveSeconds) {
  CircuitBreaker b;
  auto now = kT0;
  b.trip(now);
  const std::chrono::milliseconds expected[] = {100ms,  200ms,  400ms,  800ms,
                                                1600ms, 3200ms, 5000ms, 5000ms};
  for (auto backoff : expected) {
    EXPECT_EQ(b.retry_at() - now, backoff);
    now = b.retry_at();
    ASSERT_TRUE(b.allow(now));
    b.on_failure(now);  // the probe fails: open again, longer
    ASSERT_EQ(b.state(), State::Open);
  }
}

TEST(CircuitBreaker, TripDuringProbeCountsAsProbeFailure) {
  CircuitBreaker b;
  b.trip(kT0);
  ASSERT_TRUE(b.allow(kT0 + 100ms));
  b.trip(kT0 + 150ms);
  EXPECT_EQ(b.state(), State::Open);
  EXPECT_EQ(b.retry_at(), kT0 + 150ms + 200ms);
}

TEST(CircuitBreaker, LateResultsWhileOpenAreIgnored) {
  CircuitBreaker b;
  b.trip(kT0);
  const auto retry = b.retry_at();
  b.on_success();
  b.on_failure(kT0 + 50ms);
  b.trip(kT0 + 60ms);
  EXPECT_EQ(b.state(), State::Open);
  EXPECT_EQ(b.retry_at(), retry);
}

TEST(CircuitBreaker, CustomBackoffs) {
  CircuitBreaker b({.failure_threshold = 3, .initial_backoff = 10ms, .max_backoff = 15ms});
  b.trip(kT0);
  EXPECT_EQ(b.retry_at(), kT0 + 10ms);
  ASSERT_TRUE(b.allow(kT0 + 10ms));
  b.on_failure(kT0 + 10ms);
  EXPECT_EQ(b.retry_at(), kT0 + 25ms);
}

TEST(CircuitBreaker, StatesPrintTheirNames) {
  std::ostringstream os;
  os << State::Closed << ' ' << State::Open << ' ' << State::HalfOpen;
  EXPECT_EQ(os.str(), "closed open half-open");
}

}  // namespace
}  // namespace cachecar::store::redis
