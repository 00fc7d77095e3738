#include "store/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace cachecar::store {

namespace {

// Absorbs the rounding of a partly drained level (a count that should be a whole number comes
// out a hair above it); far below one request.
constexpr double kLevelEpsilon = 1e-9;

std::chrono::milliseconds ceil_ms(double microseconds) noexcept {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(microseconds / 1000.0)));
}

}  // namespace

// redis/rate_limiter.cpp's script computes exactly this, in the same order of operations (both
// are IEEE doubles), so a budget behaves the same on either store.
RateDecision meter_request(RateBucket& bucket, std::int64_t now_us, std::uint64_t limit,
                           std::chrono::milliseconds window) noexcept {
  const double capacity = static_cast<double>(limit);
  const double emission_us = static_cast<double>(window.count()) * 1000.0 / capacity;
  const double elapsed_us =
      static_cast<double>(std::max<std::int64_t>(now_us - bucket.since_us, 0));
  const double level = std::max(bucket.level - elapsed_us / emission_us, 0.0);
  RateDecision decision;
  if (level + 1 <= capacity + kLevelEpsilon) {
    bucket.level = level + 1;
    bucket.since_us = now_us;
    decision.allowed = true;
    decision.remaining =
        static_cast<std::uint64_t>(std::floor(capacity - bucket.level + kLevelEpsilon));
    decision.reset = ceil_ms(bucket.level * emission_us);
    return decision;
  }
  decision.reset = ceil_ms(level * emission_us);
  decision.retry_after = ceil_ms((level + 1 - capacity) * emission_us);
  return decision;
}

std::chrono::milliseconds drain_time(double level, std::uint64_t limit,
                                     std::chrono::milliseconds window) noexcept {
  const double emission_us =
      static_cast<double>(window.count()) * 1000.0 / static_cast<double>(limit);
  return std::max(ceil_ms(level * emission_us), std::chrono::milliseconds(1));
}

}  // namespace cachecar::store
