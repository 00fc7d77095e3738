// Counters for everything the proxy does, shared by all threads (atomics, no locks).
// Must not depend on HTTP plumbing: callers pass plain values.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string_view>

namespace cachecar::metrics {

// How a request related to the cache (the X-Cache header and the metrics label).
enum class CacheOutcome {
  Hit,          // answered from the cache
  Miss,         // cacheable, not found, forwarded (stored or not)
  Bypass,       // cacheable, but the client asked to bypass the cache
  Uncacheable,  // matched a caching rule but could not use the cache (e.g. Authorization)
  Pass,         // no caching rule applies (other methods, unmatched paths)
};
std::string_view to_string(CacheOutcome outcome) noexcept;  // "hit", "miss", ...
std::ostream& operator<<(std::ostream& os, CacheOutcome outcome);

class Metrics {
 public:
  struct Snapshot {
    std::uint64_t hits = 0, misses = 0, bypasses = 0, uncacheable = 0, passes = 0;
    std::uint64_t stores = 0, invalidations = 0;
    std::uint64_t store_errors = 0, upstream_errors = 0;
  };

  void record_request(CacheOutcome outcome, int status, std::chrono::nanoseconds duration);
  void record_stored(std::uint64_t body_bytes);
  void record_invalidated(std::uint64_t entries);
  void record_store_error();
  void record_upstream_error();

  Snapshot snapshot() const;

 private:
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, bypasses_{0}, uncacheable_{0}, passes_{0};
  std::atomic<std::uint64_t> stores_{0}, invalidations_{0};
  std::atomic<std::uint64_t> store_errors_{0}, upstream_errors_{0};
};

}  // namespace cachecar::metrics
