// Rate limits in the request flow (internal to proxy/): the budget one request spends, what the
// limiter said about it, and the fields every response of a limited rule carries. The algorithm
// is store/rate_limiter.hpp's; identities, budget names and field values are policy's.
#pragma once

#include "policy/rate_limit.hpp"

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace cachecar::proxy {

// Where a request stands with its rule's rate limit.
enum class RateLimitVerdict {
  None,         // its rule is not limited
  Pending,      // limited; the limiter has not been asked yet
  Allowed,      // within the budget, or the budget could not be read and the rule fails open
  Refused,      // over the budget: 429
  Unavailable,  // the budget could not be read and the rule fails closed: 503
};
std::string_view to_string(RateLimitVerdict verdict) noexcept;
std::ostream& operator<<(std::ostream& os, RateLimitVerdict verdict);

struct RateLimitState {
  const policy::RateLimitSpec* spec = nullptr;  // the rule's, in the request's options snapshot
  std::string_view rule;                        // the rule's name (the metrics label)
  std::string name;                             // the budget: policy::rate_limit_name
  RateLimitVerdict verdict = RateLimitVerdict::None;
  std::int64_t retry_after_s = 0;  // Refused: the Retry-After value
  std::string fields;  // rendered "Name: value\r\n" lines, on every response once decided

  bool pending() const noexcept { return verdict == RateLimitVerdict::Pending; }
  // Not limited, or limited and let through.
  bool admitted() const noexcept {
    return verdict == RateLimitVerdict::None || verdict == RateLimitVerdict::Allowed;
  }
};

}  // namespace cachecar::proxy
