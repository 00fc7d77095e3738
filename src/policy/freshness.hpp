// Freshness and age (RFC 9111 §4.2, RFC 5861): decided once when a response is stored,
// recorded in the entry, and compared with the clock on every reuse. Pure: time is a parameter.
#pragma once

#include "policy/cache_control.hpp"

#include <cstdint>

namespace cachecar::policy {

enum FreshnessFlag : std::uint32_t {
  // must-revalidate, proxy-revalidate or s-maxage: once stale, never served without
  // revalidation (RFC 9111 §5.2.2.2, §5.2.2.8, §5.2.2.10); 504 when the upstream is unreachable.
  kMustRevalidate = 1u << 0,
  // The no-cache directive: revalidated before every reuse, never served stale, not even on
  // an upstream error (RFC 9111 §5.2.2.4). A lifetime of 0 alone does not set it: such an
  // entry is stale at once but its stale windows still apply (RFC 5861).
  kNoCache = 1u << 1,
  // public, s-maxage or must-revalidate: may answer a request with Authorization (§3.5).
  kSharedWithAuthorization = 1u << 2,
  kHasValidator = 1u << 3,  // an ETag or Last-Modified: can be revalidated
};

// What a stored entry records about its freshness; unix milliseconds and durations in ms.
struct Freshness {
  std::int64_t request_ms = 0;                 // request_time: the request was sent upstream
  std::int64_t response_ms = 0;                // response_time: the response head arrived
  std::int64_t initial_age_ms = 0;             // corrected_initial_age (RFC 9111 §4.2.3)
  std::int64_t lifetime_ms = 0;                // freshness_lifetime (§4.2.1); 0 = stale at once
  std::int64_t stale_while_revalidate_ms = 0;  // already capped by cache.max_stale
  std::int64_t stale_if_error_ms = 0;          // already capped by cache.max_stale
  std::uint32_t flags = 0;                     // FreshnessFlag bits

  bool has(FreshnessFlag flag) const noexcept { return (flags & flag) != 0; }
};

// current_age = corrected_initial_age + resident_time (RFC 9111 §4.2.3), never negative.
std::int64_t current_age_ms(const Freshness& freshness, std::int64_t now_ms) noexcept;

// What reusing a stored entry needs at `now_ms`.
enum class Reuse {
  Fresh,                 // answer from the cache
  StaleWhileRevalidate,  // answer now, revalidate in the background (RFC 5861 §3)
  Revalidate,            // ask the upstream first (conditionally when it has a validator)
};

struct ReuseDecision {
  Reuse reuse = Reuse::Revalidate;
  std::int64_t age_s = 0;  // current age in whole seconds: the Age field
  std::int64_t ttl_s = 0;  // freshness left in whole seconds; negative once stale (RFC 9211 ttl)
  // The upstream failed (connection, timeout, 500/502/503/504): answer with this entry
  // (RFC 5861 §4). Never with kMustRevalidate or kNoCache.
  bool serve_on_error = false;
};

// `client`: the request's directives when the rule honours them, else null. only-if-cached is
// the caller's business. A request's no-cache (or max-age=0) makes a fresh entry Revalidate;
// max-age, min-fresh and max-stale move the boundary between Fresh and Revalidate (§5.2.1).
ReuseDecision decide_reuse(const Freshness& freshness, std::int64_t now_ms,
                           const RequestCacheControl* client) noexcept;

}  // namespace cachecar::policy
