#include "metrics/metrics.hpp"

#include "core/error.hpp"
#include "core/stored_key.hpp"
#include "core/strings.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace cachecar::metrics {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// Label values. Every label takes its values from one of these fixed lists (or the configured
// rule names), so the number of series is bounded whatever the traffic.
constexpr std::array<CacheOutcome, 5> kOutcomes{CacheOutcome::Hit, CacheOutcome::Miss,
                                                CacheOutcome::Bypass, CacheOutcome::Uncacheable,
                                                CacheOutcome::Pass};
constexpr std::array<std::string_view, 8> kMethods{"GET",   "HEAD",   "POST",    "PUT",
                                                   "PATCH", "DELETE", "OPTIONS", "OTHER"};
constexpr std::array<std::string_view, 6> kStatusClasses{"1xx", "2xx", "3xx",
                                                         "4xx", "5xx", "other"};
constexpr std::array<StoreOperation, 4> kStoreOperations{
    StoreOperation::Get, StoreOperation::Put, StoreOperation::Invalidate, StoreOperation::Decode};
constexpr std::array<std::string_view, 9> kRedisCommands{
    "MGET", "GET", "EVALSHA", "EVAL", "PING", "SCRIPT", "AUTH", "SELECT", "OTHER"};
constexpr std::array<std::string_view, 5> kRedisErrors{"timeout", "unavailable", "protocol",
                                                       "reply", "other"};
constexpr std::array<std::string_view, 3> kCircuitStates{"closed", "open", "half-open"};

constexpr std::array<RateLimitResult, 4> kRateLimitResults{
    RateLimitResult::Allowed, RateLimitResult::Limited, RateLimitResult::FailOpen,
    RateLimitResult::FailClosed};

constexpr std::size_t kOutcomeCount = kOutcomes.size();
constexpr std::size_t kMethodCount = kMethods.size();

std::size_t outcome_index(CacheOutcome outcome) noexcept {
  return static_cast<std::size_t>(outcome) % kOutcomeCount;
}

std::size_t method_index(std::string_view method) noexcept {
  for (std::size_t i = 0; i + 1 < kMethods.size(); ++i) {
    if (method == kMethods[i]) return i;
  }
  return kMethods.size() - 1;
}

std::size_t status_class_index(int status) noexcept {
  if (status >= 100 && status < 600) return static_cast<std::size_t>(status / 100 - 1);
  return kStatusClasses.size() - 1;
}

static_assert(
    [] {
      for (std::size_t i = 0; i < kStoreOperations.size(); ++i) {
        if (static_cast<std::size_t>(kStoreOperations[i]) != i) return false;
      }
      return true;
    }(),
    "kStoreOperations lists StoreOperation in declaration order");

std::size_t store_operation_index(StoreOperation operation) noexcept {
  return static_cast<std::size_t>(operation) % kStoreOperations.size();
}

std::size_t redis_command_index(std::string_view command) noexcept {
  for (std::size_t i = 0; i + 1 < kRedisCommands.size(); ++i) {
    if (core::iequals(command, kRedisCommands[i])) return i;
  }
  return kRedisCommands.size() - 1;
}

std::size_t redis_error_index(const boost::system::error_code& ec) noexcept {
  if (ec == errc::timeout) return 0;
  if (ec == errc::store_unavailable) return 1;
  if (ec == errc::store_protocol_error) return 2;
  if (ec == errc::store_reply_error) return 3;  // an error reply, e.g. NOSCRIPT
  return 4;
}

// A relaxed atomic counter. Shards are per thread, so these rarely share a cache line across
// cores; relaxed is enough because readers only need each value eventually.
struct Cell {
  std::atomic<std::uint64_t> value{0};
  void add(std::uint64_t n = 1) noexcept { value.fetch_add(n, kRelaxed); }
  std::uint64_t get() const noexcept { return value.load(kRelaxed); }
};

constexpr std::size_t kMaxBounds = 16;

// Histogram bucket upper bounds (inclusive) in the recorded integer unit (nanoseconds or
// bytes); an implicit last bucket is +Inf. `scale` converts to the exported unit.
struct Buckets {
  std::array<std::uint64_t, kMaxBounds> bounds;
  std::size_t size;
  double scale;
};

constexpr std::uint64_t kUs = 1'000;
constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kS = 1'000'000'000;
// Request latencies: hits take a fraction of a millisecond (fine buckets there), a miss takes
// the upstream's time.
constexpr Buckets kRequestBuckets{
    {100 * kUs, 250 * kUs, 500 * kUs, 1 * kMs, 2500 * kUs, 5 * kMs, 10 * kMs, 25 * kMs, 50 * kMs,
     100 * kMs, 250 * kMs, 500 * kMs, 1 * kS, 2500 * kMs, 5 * kS, 10 * kS},
    16,
    1e-9};
// Redis commands: sub-millisecond normally, bounded by redis.timeout.
constexpr Buckets kRedisBuckets{
    {50 * kUs, 100 * kUs, 250 * kUs, 500 * kUs, 1 * kMs, 2500 * kUs, 5 * kMs, 10 * kMs, 25 * kMs,
     50 * kMs, 100 * kMs, 250 * kMs, 500 * kMs, 1 * kS},
    14,
    1e-9};
constexpr Buckets kBodyBuckets{
    {256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20}, 9, 1.0};

class Histo {
 public:
  void observe(const Buckets& buckets, std::uint64_t value) noexcept {
    const auto* begin = buckets.bounds.data();
    const auto* it = std::lower_bound(begin, begin + buckets.size, value);
    counts_[static_cast<std::size_t>(it - begin)].add();
    sum_.add(value);
  }

  struct Totals {
    std::array<std::uint64_t, kMaxBounds + 1> counts{};
    std::uint64_t sum = 0;
  };
  void add_to(Totals& totals) const noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) totals.counts[i] += counts_[i].get();
    totals.sum += sum_.get();
  }

 private:
  std::array<Cell, kMaxBounds + 1> counts_;
  Cell sum_;
};

// Everything one thread records. Aligned so that two shards never share a cache line.
struct alignas(64) Shard {
  Shard(std::size_t request_cells, std::size_t top_keys_capacity)
      : requests(std::make_unique<Cell[]>(request_cells)), top_keys(top_keys_capacity) {}

  std::unique_ptr<Cell[]> requests;  // [rule][method][outcome]
  std::array<Cell, kStatusClasses.size()> responses;
  std::array<Histo, kOutcomeCount> request_duration;
  std::array<Histo, 2> upstream_duration;  // [ok, error]
  Cell upstream_errors;
  std::array<Histo, kRedisCommands.size()> redis_duration;
  std::array<Cell, kRedisCommands.size() * kRedisErrors.size()> redis_errors;
  std::array<Cell, kStoreOperations.size()> store_errors;
  Cell stores, invalidated, cleared;
  Cell worker_exceptions;
  Cell invalidations_failed, invalidations_replayed, invalidations_overflowed;
  std::array<Cell, 2> stale_responses;  // by StaleReason
  std::array<Cell, 2> tags_dropped;     // [over_limit, invalid]
  std::array<Cell, 2> tag_purges;       // by TagPurgeSource
  Cell compression_original, compression_stored, decompressions;
  std::unique_ptr<Cell[]> rate_limits;  // [rule][RateLimitResult]
  Histo stored_bytes;
  std::atomic<std::int64_t> client_connections{0};  // opened here minus closed here

  std::mutex top_keys_mutex;  // taken by this shard's thread, and by readers
  TopKeys top_keys;
};

// A small number per thread, assigned on first use; shard = slot % shards.
std::size_t thread_slot() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t slot = next.fetch_add(1, kRelaxed);
  return slot;
}

struct Totals {
  std::array<std::uint64_t, kOutcomeCount> outcomes{};
  std::uint64_t stores = 0, invalidations = 0, cleared = 0;
  std::uint64_t store_errors = 0, upstream_errors = 0;
  std::uint64_t redis_commands = 0, redis_errors = 0;
};

std::uint64_t minus(std::uint64_t now, std::uint64_t base) {
  return now >= base ? now - base : 0;
}

using Label = prometheus::ClientMetric::Label;

prometheus::ClientMetric counter_metric(std::vector<Label> labels, std::uint64_t value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = static_cast<double>(value);
  return metric;
}

prometheus::ClientMetric gauge_metric(std::vector<Label> labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

prometheus::ClientMetric histogram_metric(std::vector<Label> labels, const Histo::Totals& totals,
                                          const Buckets& buckets) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= buckets.size; ++i) {
    cumulative += totals.counts[i];
    const double bound = i < buckets.size ? static_cast<double>(buckets.bounds[i]) * buckets.scale
                                          : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back({cumulative, bound});
  }
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = static_cast<double>(totals.sum) * buckets.scale;
  return metric;
}

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

double unix_now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

}  // namespace

std::string_view to_string(CacheOutcome outcome) noexcept {
  switch (outcome) {
    case CacheOutcome::Hit:
      return "hit";
    case CacheOutcome::Miss:
      return "miss";
    case CacheOutcome::Bypass:
      return "bypass";
    case CacheOutcome::Uncacheable:
      return "uncacheable";
    case CacheOutcome::Pass:
      return "pass";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, CacheOutcome outcome) {
  return os << to_string(outcome);
}

std::string_view to_string(StoreOperation operation) noexcept {
  switch (operation) {
    case StoreOperation::Get:
      return "get";
    case StoreOperation::Put:
      return "put";
    case StoreOperation::Invalidate:
      return "invalidate";
    case StoreOperation::Decode:
      return "decode";
  }
  return "get";
}

std::ostream& operator<<(std::ostream& os, StoreOperation operation) {
  return os << to_string(operation);
}

struct Metrics::Impl {
  explicit Impl(MetricsOptions options) {
    rule_labels.emplace_back("none");
    for (auto& name : options.rule_names) {
      if (name.empty() || rule_index.contains(name)) continue;
      rule_index.emplace(name, rule_labels.size());
      rule_labels.push_back(std::move(name));
    }
    rule_labels.emplace_back("other");
    std::size_t shard_count = options.shards;
    if (shard_count == 0)
      shard_count = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 64);
    for (std::size_t i = 0; i < shard_count; ++i) {
      shards.push_back(std::make_unique<Shard>(rule_labels.size() * kMethodCount * kOutcomeCount,
                                               options.top_keys_per_shard));
      shards.back()->rate_limits =
          std::make_unique<Cell[]>(rule_labels.size() * kRateLimitResults.size());
    }

    registry = std::make_shared<prometheus::Registry>();
    prometheus::BuildGauge()
        .Name("cachecar_build_info")
        .Help("Build information; the value is always 1")
        .Register(*registry)
        .Add({{"version", CACHECAR_VERSION}})
        .Set(1);
    prometheus::BuildGauge()
        .Name("cachecar_start_time_seconds")
        .Help("Start time of this cachecar instance, in seconds since the Unix epoch")
        .Register(*registry)
        .Add({})
        .Set(start_time_unix);
    client_connections = &prometheus::BuildGauge()
                              .Name("cachecar_client_connections")
                              .Help("Client connections currently open on the proxy listener")
                              .Register(*registry)
                              .Add({});
    upstream_connections = &prometheus::BuildGauge()
                                .Name("cachecar_upstream_connections")
                                .Help("Connections to the upstream currently open (busy or idle)")
                                .Register(*registry)
                                .Add({});
    config_reloads = &prometheus::BuildCounter()
                          .Name("cachecar_config_reloads_total")
                          .Help("Configuration reloads applied (SIGHUP or POST /config/reload)")
                          .Register(*registry)
                          .Add({});
    config_reload_failures =
        &prometheus::BuildCounter()
             .Name("cachecar_config_reload_failures_total")
             .Help(
                 "Configuration reloads refused (the file did not load or validate); the "
                 "running configuration was kept")
             .Register(*registry)
             .Add({});
    config_last_success =
        &prometheus::BuildGauge()
             .Name("cachecar_config_last_reload_success_timestamp_seconds")
             .Help(
                 "When the configuration in use was loaded (start-up or the last applied "
                 "reload), in seconds since the Unix epoch")
             .Register(*registry)
             .Add({});
    config_last_success->Set(start_time_unix);
  }

  Shard& shard() const noexcept { return *shards[thread_slot() % shards.size()]; }

  std::size_t rule_index_of(std::string_view rule) const {
    if (rule.empty()) return 0;
    auto it = rule_index.find(rule);
    return it == rule_index.end() ? rule_labels.size() - 1 : it->second;
  }

  std::size_t request_cell(std::size_t rule, std::size_t method, std::size_t outcome) const {
    return (rule * kMethodCount + method) * kOutcomeCount + outcome;
  }

  Totals totals() const {
    Totals t;
    const std::size_t cells = rule_labels.size() * kMethodCount * kOutcomeCount;
    for (const auto& s : shards) {
      for (std::size_t i = 0; i < cells; ++i) t.outcomes[i % kOutcomeCount] += s->requests[i].get();
      t.stores += s->stores.get();
      t.invalidations += s->invalidated.get();
      t.cleared += s->cleared.get();
      for (const auto& c : s->store_errors) t.store_errors += c.get();
      t.upstream_errors += s->upstream_errors.get();
      for (const auto& h : s->redis_duration) {
        Histo::Totals ht;
        h.add_to(ht);
        for (auto n : ht.counts) t.redis_commands += n;
      }
      for (const auto& c : s->redis_errors) t.redis_errors += c.get();
    }
    return t;
  }

  std::int64_t open_client_connections() const {
    std::int64_t open = 0;
    for (const auto& s : shards) open += s->client_connections.load(kRelaxed);
    return std::max<std::int64_t>(open, 0);
  }

  template <class Select>
  Histo::Totals sum_histograms(Select select) const {
    Histo::Totals totals;
    for (const auto& s : shards) select(*s).add_to(totals);
    return totals;
  }

  std::vector<prometheus::MetricFamily> collect(const ScrapeState& state) const;

  std::vector<std::string> rule_labels;  // [0] "none", rules..., [last] "other"
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> rule_index;
  std::vector<std::unique_ptr<Shard>> shards;
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  const double start_time_unix = unix_now_seconds();

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Gauge* client_connections = nullptr;
  prometheus::Gauge* upstream_connections = nullptr;
  prometheus::Counter* config_reloads = nullptr;
  prometheus::Counter* config_reload_failures = nullptr;
  prometheus::Gauge* config_last_success = nullptr;

  mutable std::mutex reset_mutex;
  Totals baseline;  // totals() at the last reset_stats()
};

std::vector<prometheus::MetricFamily> Metrics::Impl::collect(const ScrapeState& state) const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;

  {
    auto f =
        family("cachecar_requests_total",
               "Client requests by method, cache status and matching rule", MetricType::Counter);
    for (std::size_t r = 0; r < rule_labels.size(); ++r) {
      for (std::size_t m = 0; m < kMethodCount; ++m) {
        for (std::size_t o = 0; o < kOutcomeCount; ++o) {
          std::uint64_t value = 0;
          for (const auto& s : shards) value += s->requests[request_cell(r, m, o)].get();
          if (value == 0) continue;  // only combinations that occurred
          f.metric.push_back(counter_metric({{"cache", std::string(to_string(kOutcomes[o]))},
                                             {"method", std::string(kMethods[m])},
                                             {"rule", rule_labels[r]}},
                                            value));
        }
      }
    }
    out.push_back(std::move(f));
  }
  {
    auto f = family("cachecar_responses_total", "Responses sent to clients by status class",
                    MetricType::Counter);
    for (std::size_t i = 0; i < kStatusClasses.size(); ++i) {
      std::uint64_t value = 0;
      for (const auto& s : shards) value += s->responses[i].get();
      if (value == 0 && i + 1 == kStatusClasses.size()) continue;
      f.metric.push_back(counter_metric({{"code", std::string(kStatusClasses[i])}}, value));
    }
    out.push_back(std::move(f));
  }
  {
    auto f = family("cachecar_request_duration_seconds",
                    "Time from reading a request head to the end of the response, by cache status",
                    MetricType::Histogram);
    for (std::size_t o = 0; o < kOutcomeCount; ++o) {
      auto totals =
          sum_histograms([o](const Shard& s) -> const Histo& { return s.request_duration[o]; });
      f.metric.push_back(histogram_metric({{"cache", std::string(to_string(kOutcomes[o]))}}, totals,
                                          kRequestBuckets));
    }
    out.push_back(std::move(f));
  }
  {
    auto f = family("cachecar_upstream_request_duration_seconds",
                    "Upstream exchanges, from acquiring a connection to the response head",
                    MetricType::Histogram);
    for (std::size_t i = 0; i < 2; ++i) {
      auto totals =
          sum_histograms([i](const Shard& s) -> const Histo& { return s.upstream_duration[i]; });
      f.metric.push_back(
          histogram_metric({{"result", i == 0 ? "ok" : "error"}}, totals, kRequestBuckets));
    }
    out.push_back(std::move(f));
  }
  {
    auto f = family("cachecar_upstream_errors_total",
                    "Requests that failed because of the upstream (502, 504, or cut mid-body)",
                    MetricType::Counter);
    std::uint64_t value = 0;
    for (const auto& s : shards) value += s->upstream_errors.get();
    f.metric.push_back(counter_metric({}, value));
    out.push_back(std::move(f));
  }
  if (state.store_kind == "redis") {
    auto latency = family("cachecar_redis_command_duration_seconds",
                          "Redis command round trips, by command (failed ones included)",
                          MetricType::Histogram);
    auto errors = family("cachecar_redis_command_errors_total",
                         "Redis commands that failed, by command and error", MetricType::Counter);
    for (std::size_t c = 0; c < kRedisCommands.size(); ++c) {
      auto totals =
          sum_histograms([c](const Shard& s) -> const Histo& { return s.redis_duration[c]; });
      std::uint64_t count = 0;
      for (auto n : totals.counts) count += n;
      if (count == 0) continue;
      latency.metric.push_back(
          histogram_metric({{"command", std::string(kRedisCommands[c])}}, totals, kRedisBuckets));
      for (std::size_t e = 0; e < kRedisErrors.size(); ++e) {
        std::uint64_t value = 0;
        for (const auto& s : shards) value += s->redis_errors[c * kRedisErrors.size() + e].get();
        if (value == 0) continue;
        errors.metric.push_back(counter_metric(
            {{"command", std::string(kRedisCommands[c])}, {"error", std::string(kRedisErrors[e])}},
            value));
      }
    }
    out.push_back(std::move(latency));
    out.push_back(std::move(errors));

    auto connected = family("cachecar_redis_connected",
                            "1 when at least one Redis connection is open and answering, else 0",
                            MetricType::Gauge);
    connected.metric.push_back(gauge_metric({}, state.store_connected ? 1 : 0));
    out.push_back(std::move(connected));
    auto circuit = family("cachecar_redis_circuit_breaker_state",
                          "1 for the Redis circuit breaker's current state, 0 for the others",
                          MetricType::Gauge);
    for (auto name : kCircuitStates) {
      circuit.metric.push_back(
          gauge_metric({{"state", std::string(name)}}, name == state.circuit_state ? 1 : 0));
    }
    out.push_back(std::move(circuit));
  }
  {
    auto f = family("cachecar_store_errors_total",
                    "Cache operations that failed and were treated as a miss or skipped",
                    MetricType::Counter);
    for (std::size_t i = 0; i < kStoreOperations.size(); ++i) {
      std::uint64_t value = 0;
      for (const auto& s : shards) value += s->store_errors[i].get();
      f.metric.push_back(
          counter_metric({{"operation", std::string(to_string(kStoreOperations[i]))}}, value));
    }
    out.push_back(std::move(f));
  }
  const auto simple_counter = [&](std::string name, std::string help, Cell Shard::*cell) {
    auto f = family(std::move(name), std::move(help), MetricType::Counter);
    std::uint64_t value = 0;
    for (const auto& s : shards) value += ((*s).*cell).get();
    f.metric.push_back(counter_metric({}, value));
    out.push_back(std::move(f));
  };
  simple_counter("cachecar_cache_stores_total", "Responses written to the cache", &Shard::stores);
  simple_counter("cachecar_cache_invalidated_entries_total",
                 "Cache entries deleted by invalidation (writes and the admin API)",
                 &Shard::invalidated);
  simple_counter("cachecar_cache_cleared_entries_total",
                 "Cache entries deleted by the admin API's clear routes", &Shard::cleared);
  simple_counter("cachecar_worker_exceptions_total",
                 "Exceptions that escaped a handler on a worker thread (logged; it goes on)",
                 &Shard::worker_exceptions);
  simple_counter("cachecar_invalidations_failed_total",
                 "Write invalidations the store could not complete (kept pending, replayed)",
                 &Shard::invalidations_failed);
  simple_counter("cachecar_invalidations_replayed_total",
                 "Pending invalidations completed by a later replay",
                 &Shard::invalidations_replayed);
  simple_counter("cachecar_invalidations_overflowed_total",
                 "Times the pending-invalidation queue overflowed (every lookup then misses until "
                 "the whole cache is cleared)",
                 &Shard::invalidations_overflowed);
  {
    auto f = family("cachecar_stale_responses_total",
                    "Stale stored responses served (RFC 5861), by reason", MetricType::Counter);
    for (const auto reason : {StaleReason::WhileRevalidate, StaleReason::IfError}) {
      std::uint64_t value = 0;
      for (const auto& s : shards)
        value += s->stale_responses[static_cast<std::size_t>(reason)].get();
      f.metric.push_back(counter_metric({{"reason", std::string(to_string(reason))}}, value));
    }
    out.push_back(std::move(f));
  }
  {
    auto f = family("cachecar_tags_dropped_total",
                    "Tags not kept with a stored entry (over 32 per entry, or not a valid tag)",
                    MetricType::Counter);
    const std::array<std::string_view, 2> reasons{"over_limit", "invalid"};
    for (std::size_t i = 0; i < reasons.size(); ++i) {
      std::uint64_t value = 0;
      for (const auto& s : shards) value += s->tags_dropped[i].get();
      f.metric.push_back(counter_metric({{"reason", std::string(reasons[i])}}, value));
    }
    out.push_back(std::move(f));
  }
  {
    auto f = family("cachecar_tag_purges_total",
                    "Tags purged (admin POST /invalidate/tag, write rules' invalidate_tags)",
                    MetricType::Counter);
    for (const auto source : {TagPurgeSource::Admin, TagPurgeSource::Write}) {
      std::uint64_t value = 0;
      for (const auto& s : shards) value += s->tag_purges[static_cast<std::size_t>(source)].get();
      f.metric.push_back(counter_metric({{"source", std::string(to_string(source))}}, value));
    }
    out.push_back(std::move(f));
  }
  {
    auto f = family("cachecar_compression_bytes_total",
                    "Bodies stored gzip (cache.compression): bytes before (original) and as stored",
                    MetricType::Counter);
    std::uint64_t original = 0, stored = 0;
    for (const auto& s : shards) {
      original += s->compression_original.get();
      stored += s->compression_stored.get();
    }
    f.metric.push_back(counter_metric({{"stage", "original"}}, original));
    f.metric.push_back(counter_metric({{"stage", "stored"}}, stored));
    out.push_back(std::move(f));
  }
  simple_counter("cachecar_decompressions_total",
                 "Stored or upstream gzip bodies decompressed (for clients without gzip, or "
                 "checked before being stored)",
                 &Shard::decompressions);
  {
    auto f = family("cachecar_rate_limit_requests_total",
                    "Requests of rate-limited rules, by rule and what the limit did",
                    MetricType::Counter);
    for (std::size_t r = 0; r < rule_labels.size(); ++r) {
      for (std::size_t i = 0; i < kRateLimitResults.size(); ++i) {
        std::uint64_t value = 0;
        for (const auto& s : shards)
          value += s->rate_limits[r * kRateLimitResults.size() + i].get();
        if (value == 0) continue;  // only the rules that are limited, and what happened
        f.metric.push_back(counter_metric(
            {{"result", std::string(to_string(kRateLimitResults[i]))}, {"rule", rule_labels[r]}},
            value));
      }
    }
    out.push_back(std::move(f));
  }
  {
    auto f = family("cachecar_pending_invalidations",
                    "Invalidations waiting to be replayed on the store (overflow: the limit + 1)",
                    MetricType::Gauge);
    f.metric.push_back(gauge_metric({}, static_cast<double>(state.pending_invalidations)));
    out.push_back(std::move(f));
  }
  {
    auto f = family("cachecar_cache_stored_body_bytes", "Sizes of the response bodies cached",
                    MetricType::Histogram);
    auto totals = sum_histograms([](const Shard& s) -> const Histo& { return s.stored_bytes; });
    f.metric.push_back(histogram_metric({}, totals, kBodyBuckets));
    out.push_back(std::move(f));
  }

  client_connections->Set(static_cast<double>(open_client_connections()));
  upstream_connections->Set(
      static_cast<double>(std::max<std::int64_t>(state.upstream_connections, 0)));
  for (auto& f : registry->Collect()) out.push_back(std::move(f));
  return out;
}

Metrics::Metrics(MetricsOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Metrics::~Metrics() = default;

void Metrics::record_request(const RequestRecord& request) {
  auto& s = impl_->shard();
  const std::size_t outcome = outcome_index(request.outcome);
  s.requests[impl_->request_cell(impl_->rule_index_of(request.rule), method_index(request.method),
                                 outcome)]
      .add();
  s.responses[status_class_index(request.status)].add();
  const auto ns = std::max<std::int64_t>(request.duration.count(), 0);
  s.request_duration[outcome].observe(kRequestBuckets, static_cast<std::uint64_t>(ns));
}

void Metrics::record_lookup(std::string_view key, bool /*hit*/) {
  auto& s = impl_->shard();
  std::lock_guard lock(s.top_keys_mutex);
  s.top_keys.add(core::logical_key(key));  // every host variant counts toward its logical key
}

void Metrics::record_upstream_call(std::chrono::nanoseconds latency, bool ok) {
  const auto ns = std::max<std::int64_t>(latency.count(), 0);
  impl_->shard().upstream_duration[ok ? 0 : 1].observe(kRequestBuckets,
                                                       static_cast<std::uint64_t>(ns));
}

void Metrics::record_stored(std::uint64_t body_bytes) {
  auto& s = impl_->shard();
  s.stores.add();
  s.stored_bytes.observe(kBodyBuckets, body_bytes);
}

void Metrics::record_invalidated(std::uint64_t entries) {
  impl_->shard().invalidated.add(entries);
}
void Metrics::record_cleared(std::uint64_t entries) {
  impl_->shard().cleared.add(entries);
}

void Metrics::record_invalidation_failed() {
  impl_->shard().invalidations_failed.add();
}

void Metrics::record_invalidations_replayed(std::uint64_t count) {
  impl_->shard().invalidations_replayed.add(count);
}

std::string_view to_string(StaleReason reason) noexcept {
  switch (reason) {
    case StaleReason::WhileRevalidate:
      return "while_revalidate";
    case StaleReason::IfError:
      return "if_error";
  }
  return "if_error";
}

void Metrics::record_stale_response(StaleReason reason) {
  impl_->shard().stale_responses[static_cast<std::size_t>(reason) % 2].add();
}

std::string_view to_string(TagPurgeSource source) noexcept {
  return source == TagPurgeSource::Admin ? "admin" : "write";
}

std::ostream& operator<<(std::ostream& os, TagPurgeSource source) {
  return os << to_string(source);
}

void Metrics::record_tags_dropped(std::uint64_t over_limit, std::uint64_t invalid) {
  auto& s = impl_->shard();
  if (over_limit) s.tags_dropped[0].add(over_limit);
  if (invalid) s.tags_dropped[1].add(invalid);
}

void Metrics::record_tag_purges(TagPurgeSource source, std::uint64_t tags) {
  impl_->shard().tag_purges[static_cast<std::size_t>(source) % 2].add(tags);
}

void Metrics::record_compression(std::uint64_t original_bytes, std::uint64_t stored_bytes) {
  auto& shard = impl_->shard();
  shard.compression_original.add(original_bytes);
  shard.compression_stored.add(stored_bytes);
}

void Metrics::record_decompression() {
  impl_->shard().decompressions.add();
}

std::string_view to_string(RateLimitResult result) noexcept {
  switch (result) {
    case RateLimitResult::Allowed:
      return "allowed";
    case RateLimitResult::Limited:
      return "limited";
    case RateLimitResult::FailOpen:
      return "fail_open";
    case RateLimitResult::FailClosed:
      return "fail_closed";
  }
  return "allowed";
}

std::ostream& operator<<(std::ostream& os, RateLimitResult result) {
  return os << to_string(result);
}

void Metrics::record_rate_limit(std::string_view rule, RateLimitResult result) {
  const auto i = static_cast<std::size_t>(result) % kRateLimitResults.size();
  impl_->shard().rate_limits[impl_->rule_index_of(rule) * kRateLimitResults.size() + i].add();
}

void Metrics::record_invalidations_overflowed() {
  impl_->shard().invalidations_overflowed.add();
}

void Metrics::record_store_error(StoreOperation operation) {
  impl_->shard().store_errors[store_operation_index(operation)].add();
}

void Metrics::record_upstream_error() {
  impl_->shard().upstream_errors.add();
}

void Metrics::record_worker_exception() {
  impl_->shard().worker_exceptions.add();
}

void Metrics::record_redis_command(std::string_view command, std::chrono::nanoseconds latency,
                                   boost::system::error_code ec) {
  if (ec == errc::shutting_down) return;
  auto& s = impl_->shard();
  const std::size_t c = redis_command_index(command);
  const auto ns = std::max<std::int64_t>(latency.count(), 0);
  s.redis_duration[c].observe(kRedisBuckets, static_cast<std::uint64_t>(ns));
  if (ec) s.redis_errors[c * kRedisErrors.size() + redis_error_index(ec)].add();
}

void Metrics::client_connection_opened() {
  impl_->shard().client_connections.fetch_add(1, kRelaxed);
}
void Metrics::client_connection_closed() {
  impl_->shard().client_connections.fetch_sub(1, kRelaxed);
}

Metrics::Snapshot Metrics::snapshot() const {
  const Totals t = impl_->totals();
  Snapshot s;
  s.hits = t.outcomes[outcome_index(CacheOutcome::Hit)];
  s.misses = t.outcomes[outcome_index(CacheOutcome::Miss)];
  s.bypasses = t.outcomes[outcome_index(CacheOutcome::Bypass)];
  s.uncacheable = t.outcomes[outcome_index(CacheOutcome::Uncacheable)];
  s.passes = t.outcomes[outcome_index(CacheOutcome::Pass)];
  s.stores = t.stores;
  s.invalidations = t.invalidations;
  s.cleared = t.cleared;
  s.store_errors = t.store_errors;
  s.upstream_errors = t.upstream_errors;
  s.redis_commands = t.redis_commands;
  s.redis_errors = t.redis_errors;
  s.client_connections = impl_->open_client_connections();
  return s;
}

CacheStats Metrics::cache_stats(std::size_t top_n) const {
  const Totals now = impl_->totals();
  Totals base;
  {
    std::lock_guard lock(impl_->reset_mutex);
    base = impl_->baseline;
  }
  CacheStats stats;
  const auto outcome = [&](CacheOutcome o) {
    const auto i = outcome_index(o);
    return minus(now.outcomes[i], base.outcomes[i]);
  };
  stats.hits = outcome(CacheOutcome::Hit);
  stats.misses = outcome(CacheOutcome::Miss);
  stats.bypasses = outcome(CacheOutcome::Bypass);
  stats.uncacheable = outcome(CacheOutcome::Uncacheable);
  stats.passes = outcome(CacheOutcome::Pass);
  stats.stores = minus(now.stores, base.stores);
  stats.invalidations = minus(now.invalidations, base.invalidations);
  stats.store_errors = minus(now.store_errors, base.store_errors);
  stats.upstream_errors = minus(now.upstream_errors, base.upstream_errors);
  const auto lookups = stats.hits + stats.misses;
  stats.hit_rate =
      lookups == 0 ? 0.0 : static_cast<double>(stats.hits) / static_cast<double>(lookups);

  std::vector<std::vector<TopKeys::Entry>> parts;
  for (const auto& s : impl_->shards) {
    std::lock_guard lock(s->top_keys_mutex);
    if (s->top_keys.size() > 0) parts.push_back(s->top_keys.entries());
  }
  stats.top_keys = merge_top(std::move(parts), top_n);
  stats.uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                  impl_->started);
  return stats;
}

void Metrics::reset_stats() {
  std::lock_guard lock(impl_->reset_mutex);
  impl_->baseline = impl_->totals();
  for (const auto& s : impl_->shards) {
    std::lock_guard shard_lock(s->top_keys_mutex);
    s->top_keys.clear();
  }
}

void Metrics::record_config_reload(bool applied) {
  if (!applied) {
    impl_->config_reload_failures->Increment();
    return;
  }
  impl_->config_reloads->Increment();
  impl_->config_last_success->Set(unix_now_seconds());
}

std::string Metrics::prometheus_text(const ScrapeState& state) const {
  return prometheus::TextSerializer{}.Serialize(impl_->collect(state));
}

}  // namespace cachecar::metrics
