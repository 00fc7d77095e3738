// What the cache did for one request, typed: the X-Cache value, the RFC 9211 Cache-Status
// parameters and the metrics outcome all come from one CacheResult, rendered in one place.
#pragma once

#include "metrics/metrics.hpp"
#include "policy/cacheability.hpp"

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

  void not_storable(policy::NotStored reason) noexcept {
    detail = Detail::NotStorable;
    not_stored = reason;
  }
  // The Cache-Status field value (RFC 9211 §2): "cachecar; hit" or "cachecar; fwd=...".
  std::string cache_status() const;
  // The X-Cache field value: HIT, MISS, BYPASS or PASS.
  std::string_view x_cache() const noexcept;
  std::string_view detail_text() const noexcept;
};

}  // namespace cachecar::proxy
