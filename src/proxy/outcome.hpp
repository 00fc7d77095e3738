// What the cache did for one request, typed: the X-Cache value, the RFC 9211 Cache-Status
// parameters and the metrics outcome all come from one CacheResult, rendered in one place.
#pragma once

#include "metrics/metrics.hpp"
#include "policy/cacheability.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace cachecar::proxy {

// RFC 9211 §2.2 `fwd`: why the request went to the upstream.
enum class Forward {
  Bypass,   // the client asked for a refresh
  Method,   // not a cacheable method
  UriMiss,  // nothing cacheable under this URI (no rule, or the response is not storable)
  Miss,     // cacheable, not in the cache
  Request,  // the request itself prevents the cache's use (Authorization, bad Host, bad target)
  Stale,    // a stored response was found but had to be validated (or the upstream failed)
};
std::string_view to_string(Forward fwd) noexcept;
std::ostream& operator<<(std::ostream& os, Forward fwd);

// RFC 9211 §2.8 `detail`: cachecar's reason, beside the fwd value.
enum class Detail {
  None,
  L1,                   // a hit from the in-process tier
  NoRule,               // no rule caches this path
  Host,                 // the Host is invalid or not one cache.hosts names
  Authorization,        // the request carries Authorization and the rule does not allow it
  PendingInvalidation,  // a failed invalidation of this key awaits replay
  StoreError,           // the store failed: served, not stored
  OvertakenByWrite,     // a write invalidated the key while the response was in flight
  NotStorable,          // the response is not storable: CacheResult::not_stored says why
  StaleIfError,         // the upstream failed; answered with the stale copy (RFC 5861 §4)
  OnlyIfCached,         // only-if-cached and nothing usable stored: 504 (RFC 9111 §5.2.1.7)
  MultiRange,           // a request for several ranges: forwarded, not cached
  RateLimited,          // refused by the rule's rate limit (429), or it could not be checked (503)
};
std::string_view to_string(Detail detail) noexcept;
std::ostream& operator<<(std::ostream& os, Detail detail);

struct CacheResult {
  metrics::CacheOutcome outcome = metrics::CacheOutcome::Pass;
  Forward fwd = Forward::Method;
  Detail detail = Detail::None;
  policy::NotStored not_stored = policy::NotStored::None;  // with Detail::NotStorable
  bool stored = false;
  bool collapsed = false;  // answered with another request's fill (RFC 9211 "collapsed")
  // The answer came from the cache although the upstream was asked (revalidation, stale-if-error):
  // Cache-Status says fwd=stale, X-Cache REVALIDATED or STALE.
  bool forwarded = false;
  bool stale = false;  // a stale copy was served (X-Cache STALE)
  bool revalidated =
      false;           // the upstream confirmed the stored copy with 304 (X-Cache REVALIDATED)
  int fwd_status = 0;  // RFC 9211 fwd-status: the upstream's status, 0 = none
  std::optional<std::int64_t> ttl;  // RFC 9211 ttl on a hit (negative: served stale)

  void not_storable(policy::NotStored reason) noexcept {
    detail = Detail::NotStorable;
    not_stored = reason;
  }
  // The Cache-Status field value (RFC 9211 §2): "cachecar; hit" or "cachecar; fwd=...".
  std::string cache_status() const;
  // The X-Cache field value: HIT, MISS, BYPASS, PASS, STALE or REVALIDATED.
  std::string_view x_cache() const noexcept;
  std::string_view detail_text() const noexcept;
};

}  // namespace cachecar::proxy
