// Rate-limit budgets shared by every thread (memory) or every cachecar instance (Redis): the
// interface, and the one definition of the algorithm that MemoryRateLimiter runs in C++ and
// redis::RedisRateLimiter runs as a Lua script. Keep Beast out of here.
#pragma once

#include "core/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace cachecar::store {

// GCRA (the generic cell rate algorithm), kept as a leaky bucket that meters requests: the
// bucket holds `level` requests at time `since_us` and drains continuously at limit / window.
// A request is allowed when one more fits (level + 1 <= limit) and then adds 1; a refused
// request adds nothing. So `limit` requests may come at once, after which one more is allowed
// every window / limit, and an idle client's budget is whole again after at most `window`.
// Design: the level is a count of requests, not a theoretical arrival time in microseconds,
// because a burst then adds exact integers, so the limit-th request is allowed and the next
// refused whatever window / limit rounds to; and a changed limit (a reload) applies to the
// requests already counted. One key with one value per identity, expiring once the bucket is
// empty (at most `window` after the last allowed request).
struct RateBucket {
  double level = 0;
  std::int64_t since_us = 0;
};

struct RateDecision {
  bool allowed = false;
  std::uint64_t remaining = 0;               // requests that would be allowed right now after this
  std::chrono::milliseconds reset{0};        // until the bucket is empty (the budget whole again)
  std::chrono::milliseconds retry_after{0};  // refused: until one request fits
};

// One request at `now_us` (microseconds on any clock that does not go back; a clock that does
// is treated as no time passing). Preconditions: limit >= 1, window > 0. The bucket is updated
// only when the request is allowed. Pure.
RateDecision meter_request(RateBucket& bucket, std::int64_t now_us, std::uint64_t limit,
                           std::chrono::milliseconds window) noexcept;

// How long a bucket at `level` takes to drain: its key's expiry.
std::chrono::milliseconds drain_time(double level, std::uint64_t limit,
                                     std::chrono::milliseconds window) noexcept;

// Contract for acquire():
// - runs on, and completes on, the executor of the coroutine that awaits it;
// - `name` is a logical budget name (policy::rate_limit_name); it must stay valid until the
//   coroutine completes (the caller's frame keeps it alive while it awaits);
// - one atomic step: concurrent acquires of one name (any thread, any instance sharing the
//   store) never both take the last request of a budget;
// - never throws; a budget that cannot be read (store down, circuit open, timeout, a full
//   table) comes back as an error code, and the caller decides (fail open or closed);
// - a Redis limiter queues its command before it first suspends, so an acquire started
//   together with a cache lookup on the same connection goes out in the same write.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual boost::asio::awaitable<result<RateDecision>> acquire(
      std::string_view name, std::uint64_t limit, std::chrono::milliseconds window) = 0;
  virtual std::string_view kind() const noexcept = 0;  // "memory" | "redis"
};

}  // namespace cachecar::store
