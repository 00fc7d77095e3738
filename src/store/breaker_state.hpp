// The state of a store's circuit breaker, as health checks, metrics and logs name it. Only the
// Redis client has a breaker (store/redis/circuit_breaker.hpp); memory:// is always Closed.
#pragma once

#include <ostream>
#include <string_view>

namespace cachecar::store {

enum class BreakerState {
  Closed,    // requests go to the store
  HalfOpen,  // one probe is out; everything else is a miss until it answers
  Open,      // the store is skipped until the backoff has elapsed
};
std::string_view to_string(BreakerState state) noexcept;  // "closed", "half-open", "open"
std::ostream& operator<<(std::ostream& os, BreakerState state);

// The less healthy of the two (Open, then HalfOpen, then Closed): what several stores, one per
// worker thread, report as one.
BreakerState worse(BreakerState a, BreakerState b) noexcept;

}  // namespace cachecar::store
