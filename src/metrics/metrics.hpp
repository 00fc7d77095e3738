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

// One finished client request.
struct RequestRecord {
  CacheOutcome outcome = CacheOutcome::Pass;
  std::string_view rule;    // the matching rule's name (its `match` text), "" when none
  std::string_view method;  // as received
  int status = 0;           // status sent to the client
  std::chrono::nanoseconds duration{0};
};

// Thread-safe; every record_* is called on the request path and must stay cheap (no I/O).
class Metrics {
 public:
  struct Snapshot {
    std::uint64_t hits = 0, misses = 0, bypasses = 0, uncacheable = 0, passes = 0;
    std::uint64_t stores = 0, invalidations = 0;
    std::uint64_t store_errors = 0, upstream_errors = 0;
  };

  void record_request(const RequestRecord& request);
  // A cache lookup of `key` (a logical key) that hit or missed; feeds top keys.
  void record_lookup(std::string_view key, bool hit);
  // One exchange with the upstream, from acquiring a connection to the response head.
  void record_upstream_call(std::chrono::nanoseconds latency, bool ok);
  void record_stored(std::uint64_t body_bytes);
  void record_invalidated(std::uint64_t entries);
  // `operation`: "get", "put", "invalidate", "decode".
  void record_store_error(std::string_view operation);
  void record_upstream_error();

  Snapshot snapshot() const;

 private:
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, bypasses_{0}, uncacheable_{0}, passes_{0};
  std::atomic<std::uint64_t> stores_{0}, invalidations_{0};
  std::atomic<std::uint64_t> store_errors_{0}, upstream_errors_{0};
};

}  // namespace cachecar::metrics
