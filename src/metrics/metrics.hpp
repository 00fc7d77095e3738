// Counters and histograms for everything the proxy does, shared by all threads; rendered as
// Prometheus text (prometheus-cpp) and as the JSON cache statistics of the admin API.
// Must not depend on HTTP plumbing or on the store: callers pass plain values.
#pragma once

#include "metrics/top_keys.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

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

// The cache operation that failed (the `operation` label of cachecar_store_errors_total).
enum class StoreOperation {
  Get,         // a lookup or a fill-token read
  Put,         // a fill
  Invalidate,  // a write's or the admin API's erase
  Decode,      // a stored entry that did not decode
};
std::string_view to_string(StoreOperation operation) noexcept;  // "get", "put", ...
std::ostream& operator<<(std::ostream& os, StoreOperation operation);

// Why a stale stored response was served (the `reason` label of
// cachecar_stale_responses_total; RFC 5861).
enum class StaleReason {
  WhileRevalidate,  // stale-while-revalidate: served while a background revalidation runs
  IfError,          // stale-if-error: the upstream failed
};
std::string_view to_string(StaleReason reason) noexcept;  // "while_revalidate", "if_error"

// Who asked for a tag purge (the `source` label of cachecar_tag_purges_total).
enum class TagPurgeSource {
  Admin,  // POST /invalidate/tag/<tag>
  Write,  // a write rule's invalidate_tags
};
std::string_view to_string(TagPurgeSource source) noexcept;  // "admin", "write"
std::ostream& operator<<(std::ostream& os, TagPurgeSource source);

// What a rate-limited rule did with one request (the `result` label of
// cachecar_rate_limit_requests_total).
enum class RateLimitResult {
  Allowed,     // within its budget
  Limited,     // over it: answered 429
  FailOpen,    // the budget could not be read; let through (fail: open)
  FailClosed,  // the budget could not be read; answered 503 (fail: closed)
};
std::string_view to_string(RateLimitResult result) noexcept;  // "allowed", "limited", ...
std::ostream& operator<<(std::ostream& os, RateLimitResult result);

// One finished client request.
struct RequestRecord {
  CacheOutcome outcome = CacheOutcome::Pass;
  std::string_view rule;    // the matching rule's name (its `match` text), "" when none
  std::string_view method;  // as received
  int status = 0;           // status sent to the client (0: none was sent)
  std::chrono::nanoseconds duration{0};
};

struct MetricsOptions {
  // Names of the configured rules: the only values the `rule` label takes besides "none" (no
  // rule) and "other" (a name not listed here). Keeps label cardinality bounded.
  std::vector<std::string> rule_names;
  std::size_t shards = 0;                // 0 = one per hardware thread, at most 64
  std::size_t top_keys_per_shard = 128;  // Space-Saving counters per shard
};

// What other components know, sampled when /metrics is scraped.
struct ScrapeState {
  std::int64_t upstream_connections = 0;
  std::string_view store_kind = "redis";  // "redis" | "memory" (no Redis gauges then)
  bool store_connected = true;
  std::string_view circuit_state = "closed";  // "closed" | "open" | "half-open"
  std::int64_t pending_invalidations = 0;
};

// The JSON cache statistics (GET /metrics/cache): counts since start or the last reset_stats().
struct CacheStats {
  std::uint64_t hits = 0, misses = 0, bypasses = 0, uncacheable = 0, passes = 0;
  std::uint64_t stores = 0, invalidations = 0;
  std::uint64_t store_errors = 0, upstream_errors = 0;
  double hit_rate = 0;  // hits / (hits + misses); 0 when there were none
  std::vector<TopKeys::Entry> top_keys;
  std::chrono::seconds uptime{0};  // since the Metrics were created (a reset does not change it)
};

// Thread-safe. Every record_* runs on the request path and stays cheap: no I/O, no lock shared
// between threads. Design: each thread writes to its own shard (chosen once per thread) of
// relaxed atomic cells and its own top-keys summary behind a mutex only that thread normally
// takes; readers (scrapes, the admin API) sum the shards. prometheus-cpp's own Histogram takes a
// mutex per observation, so the hot histograms are kept here and converted to prometheus-cpp
// MetricFamily values at scrape time; rarely-changing gauges live in a prometheus::Registry.
class Metrics {
 public:
  // Totals since start (monotonic; unaffected by reset_stats()).
  struct Snapshot {
    std::uint64_t hits = 0, misses = 0, bypasses = 0, uncacheable = 0, passes = 0;
    std::uint64_t stores = 0, invalidations = 0, cleared = 0;
    std::uint64_t store_errors = 0, upstream_errors = 0;
    std::uint64_t redis_commands = 0, redis_errors = 0;
    std::int64_t client_connections = 0;
  };

  explicit Metrics(MetricsOptions options = {});
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void record_request(const RequestRecord& request);
  // A cache lookup of `key` (a stored key: top keys count its logical key) that hit or missed.
  void record_lookup(std::string_view key, bool hit);
  // One exchange with the upstream, from acquiring a connection to the response head.
  void record_upstream_call(std::chrono::nanoseconds latency, bool ok);
  // A response body written to the cache.
  void record_stored(std::uint64_t body_bytes);
  // Entries deleted by invalidation (a write, or the admin API's DELETE /invalidate).
  void record_invalidated(std::uint64_t entries);
  // Entries deleted by the admin API's clear routes.
  void record_cleared(std::uint64_t entries);
  // A cache operation that failed (and so became a miss / no-op).
  void record_store_error(StoreOperation operation);
  void record_upstream_error();
  // An exception escaped a handler on a worker thread (a bug: the worker logs it and goes on).
  void record_worker_exception();
  // A write's invalidation that the store could not complete (kept pending and replayed).
  void record_invalidation_failed();
  // Pending invalidations that a replay completed.
  void record_invalidations_replayed(std::uint64_t count);
  // The pending queue overflowed: every lookup misses until the whole store is cleared.
  void record_invalidations_overflowed();
  void record_stale_response(StaleReason reason);
  // Tags a stored entry did not get (policy/tags.hpp): beyond the per-entry bound, or invalid.
  void record_tags_dropped(std::uint64_t over_limit, std::uint64_t invalid);
  // Tags purged (each deletes every entry stored with it; the entries count as invalidated).
  void record_tag_purges(TagPurgeSource source, std::uint64_t tags = 1);
  // A body stored gzip (cache.compression): its identity size and the size stored.
  void record_compression(std::uint64_t original_bytes, std::uint64_t stored_bytes);
  // A gzip body decompressed (for a client without gzip, or checked before it is stored).
  void record_decompression();
  // One request of the rate-limited rule `rule` (its name; see MetricsOptions::rule_names).
  void record_rate_limit(std::string_view rule, RateLimitResult result);
  // A configuration reload (SIGHUP or the admin API): applied (the last-success timestamp
  // becomes now; start-up counts as one) or refused, the running configuration kept.
  void record_config_reload(bool applied);
  // One Redis command (store::redis::Client's observer): `command` is its first argument.
  // errc::shutting_down is not counted.
  void record_redis_command(std::string_view command, std::chrono::nanoseconds latency,
                            boost::system::error_code ec);

  void client_connection_opened();
  void client_connection_closed();
  // RAII: a client connection open for the lifetime of this object.
  class ClientConnection {
   public:
    explicit ClientConnection(Metrics& metrics) : metrics_(metrics) {
      metrics_.client_connection_opened();
    }
    ~ClientConnection() { metrics_.client_connection_closed(); }
    ClientConnection(const ClientConnection&) = delete;
    ClientConnection& operator=(const ClientConnection&) = delete;

   private:
    Metrics& metrics_;
  };

  Snapshot snapshot() const;
  // Since start or the last reset_stats(); top_keys holds the `top_n` most looked-up keys.
  CacheStats cache_stats(std::size_t top_n = 10) const;
  // Zeroes what cache_stats() reports (counters and top keys). Prometheus counters stay
  // monotonic, as Prometheus requires.
  void reset_stats();

  // The Prometheus text exposition format (version 0.0.4).
  std::string prometheus_text(const ScrapeState& state) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachecar::metrics
