// The lookup tier: L1 → store → decode → coalescer, and the order of every write across them
// (fill: pending re-check, then the store's conditional put, then the waiters; invalidate: the
// store's erase, pending on failure, then L1). The session asks it one question per request
// and gets a typed answer; it never touches L1, the fill token or the coalescer itself.
#pragma once

#include "core/log_limiter.hpp"
#include "metrics/metrics.hpp"
#include "policy/entry.hpp"
#include "proxy/fill_coalescer.hpp"
#include "proxy/outcome.hpp"
#include "store/cache_store.hpp"
#include "store/l1_cache.hpp"
#include "store/pending_invalidations.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cachecar::proxy {

enum class LookupKind {
  Hit,        // from L1 or the store
  Collapsed,  // another request's fill, handed over by the coalescer
  Miss,       // not found or unusable: ask the upstream
  Bypass,     // the client asked for a refresh: ask the upstream
};
std::string_view to_string(LookupKind kind) noexcept;

// Permission to store the upstream's answer for one key: the fill token read before the
// upstream was asked, and the coalescer lease when others wait for this fetch.
struct Fill {
  store::FillToken token;
  FillCoalescer::Lease lease;
};

struct LookupResult {
  LookupKind kind = LookupKind::Miss;
  store::Value value;            // Hit, Collapsed: the encoded entry, which `entry` views into
  policy::EntryView entry;       // Hit, Collapsed
  Detail detail = Detail::None;  // Hit: L1 or none; Miss, Bypass: why nothing will be stored
  std::optional<Fill> fill;      // Miss, Bypass: set when the answer may be stored
};

enum class StoreResult {
  Stored,
  Overtaken,   // a write invalidated the key since the fill token was read: not kept
  StoreError,  // the store failed; the waiters got the entry anyway
};

// What invalidate() did; the write's client is answered either way.
struct InvalidateResult {
  bool erased = false;        // the store completed the erase
  std::uint64_t entries = 0;  // entries that existed (when erased)
};

struct LookupParts {
  store::CacheStore& store;
  store::L1Cache* l1 = nullptr;                    // null: no L1 tier
  store::PendingInvalidations* pending = nullptr;  // null: failed invalidations not kept
  FillCoalescer* coalescer = nullptr;              // null: no coalescing
  std::chrono::milliseconds coalesce_wait{0};      // 0: no coalescing
  std::size_t max_pending_invalidations = 0;       // for the overflow message
  metrics::Metrics& metrics;
  core::LogLimiter& store_error_log;
  core::LogLimiter& invalidation_error_log;
  std::function<std::int64_t()> now_ms;  // unix milliseconds
};

// One per worker thread (the parts it points to may be shared). Never throws.
class LookupTier {
 public:
  explicit LookupTier(LookupParts parts) : parts_(std::move(parts)) {}

  // `key` must outlive the call (the session's request does). `lifetime`: how long the rule keeps
  // entries (policy::rule_lifetime), bounding what an L1 fill may keep. `bypass`: the client asked
  // for a refresh, so nothing is served.
  boost::asio::awaitable<LookupResult> lookup(const std::string& key,
                                              std::chrono::milliseconds lifetime, bool bypass);

  // Stores the encoded entry under `key` with the permission a lookup gave, then hands it to
  // coalesced waiters (not when overtaken: they fetch for themselves).
  // `body_bytes`: the response body's size, for metrics.
  boost::asio::awaitable<StoreResult> store(std::string key, Fill fill, std::string entry,
                                            std::chrono::milliseconds ttl, std::string ns,
                                            std::uint64_t body_bytes);

  // A write succeeded at the origin: erases what it names from the store, then from L1; a
  // failed erase is kept pending (and logged) so the old entries are neither served nor
  // refilled until it is replayed.
  boost::asio::awaitable<InvalidateResult> invalidate(std::vector<store::EraseTarget> targets);

 private:
  bool covered_by_pending(const std::string& key) const;
  void store_failed(metrics::StoreOperation operation, const boost::system::error_code& ec);
  void keep_pending(const std::vector<store::EraseTarget>& targets,
                    const boost::system::error_code& ec);
  boost::asio::awaitable<LookupResult> miss(const std::string& key, std::optional<Fill>& fill,
                                            Detail detail);

  LookupParts parts_;
};

}  // namespace cachecar::proxy
