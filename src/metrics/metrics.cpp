#include "metrics/metrics.hpp"

namespace cachecar::metrics {

namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
}

std::string_view to_string(CacheOutcome outcome) noexcept {
  switch (outcome) {
    case CacheOutcome::Hit: return "hit";
    case CacheOutcome::Miss: return "miss";
    case CacheOutcome::Bypass: return "bypass";
    case CacheOutcome::Uncacheable: return "uncacheable";
    case CacheOutcome::Pass: return "pass";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, CacheOutcome outcome) { return os << to_string(outcome); }

void Metrics::record_request(const RequestRecord& request) {
  switch (request.outcome) {
    case CacheOutcome::Hit: hits_.fetch_add(1, kRelaxed); break;
    case CacheOutcome::Miss: misses_.fetch_add(1, kRelaxed); break;
    case CacheOutcome::Bypass: bypasses_.fetch_add(1, kRelaxed); break;
    case CacheOutcome::Uncacheable: uncacheable_.fetch_add(1, kRelaxed); break;
    case CacheOutcome::Pass: passes_.fetch_add(1, kRelaxed); break;
  }
}

void Metrics::record_lookup(std::string_view /*key*/, bool /*hit*/) {}
void Metrics::record_upstream_call(std::chrono::nanoseconds /*latency*/, bool /*ok*/) {}

void Metrics::record_stored(std::uint64_t /*body_bytes*/) { stores_.fetch_add(1, kRelaxed); }
void Metrics::record_invalidated(std::uint64_t entries) {
  invalidations_.fetch_add(entries, kRelaxed);
}
void Metrics::record_store_error(std::string_view /*operation*/) { store_errors_.fetch_add(1, kRelaxed); }
void Metrics::record_upstream_error() { upstream_errors_.fetch_add(1, kRelaxed); }

Metrics::Snapshot Metrics::snapshot() const {
  Snapshot s;
  s.hits = hits_.load(kRelaxed);
  s.misses = misses_.load(kRelaxed);
  s.bypasses = bypasses_.load(kRelaxed);
  s.uncacheable = uncacheable_.load(kRelaxed);
  s.passes = passes_.load(kRelaxed);
  s.stores = stores_.load(kRelaxed);
  s.invalidations = invalidations_.load(kRelaxed);
  s.store_errors = store_errors_.load(kRelaxed);
  s.upstream_errors = upstream_errors_.load(kRelaxed);
  return s;
}

}  // namespace cachecar::metrics
