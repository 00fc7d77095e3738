// The lookup tier: L1 → store → decode → coalescer, and the order of every write across them
// (fill: pending re-check, then the store's conditional put, then the waiters; invalidate: the
// store's erase, pending on failure, then L1). The session asks it one question per request
// and gets a typed answer; it never touches L1, the fill token or the coalescer itself.
#pragma once

#include "core/log_limiter.hpp"
#include "metrics/metrics.hpp"
#include "policy/cache_control.hpp"
#include "policy/entry.hpp"
#include "policy/freshness.hpp"
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
  Hit,         // fresh (or acceptable to the client's directives): answer from the cache
  Stale,       // stale within stale-while-revalidate: answer now; with `fill`, this request
               // also revalidates it in the background (at most one does per key)
  Revalidate,  // a stored entry that must be validated with the upstream before use (with a
               // validator: conditionally; else refetched). `entry` is the stale-if-error fallback
  Collapsed,   // another request's fill, handed over by the coalescer
  Miss,        // not found or unusable: ask the upstream
  Bypass,      // the client asked for a refresh: ask the upstream
};
std::string_view to_string(LookupKind kind) noexcept;

// Permission to store the upstream's answer for one key: the fill token read before the
// upstream was asked, and the coalescer lease when others wait for this fetch.
struct Fill {
  store::FillToken token;
  FillCoalescer::Lease lease;
  std::string lease_key;  // the stored key the lease was taken for (waiters get only that key's)
};

// What a lookup needs to know about the request besides its key.
struct LookupRequest {
  bool bypass = false;          // the client asked for a refresh: nothing is served
  bool only_if_cached = false;  // answer only from the cache: no token, no coalescing
  // A request with Authorization on a rule that does not cache such requests wholesale: only
  // entries stored with public, s-maxage or must-revalidate may answer it (RFC 9111 §3.5).
  bool needs_shared_authorization = false;
  const policy::RequestCacheControl* client = nullptr;  // honoured request directives, or null
  // The secondary key of this request for a variant index's Vary fields (policy::vary_secondary_key
  // over the request's fields). Called only when the key has variants.
  std::function<std::string(const std::vector<std::string>& fields)> secondary_key;
};

struct LookupResult {
  LookupKind kind = LookupKind::Miss;
  store::Value value;            // with an entry: the encoded entry, which `entry` views into
  policy::EntryView entry;       // Hit, Stale, Revalidate, Collapsed
  policy::ReuseDecision reuse;   // Hit, Stale, Revalidate: about `entry`, now
  Detail detail = Detail::None;  // Hit: L1 or none; Miss, Bypass: why nothing will be stored
  std::optional<Fill> fill;  // Stale, Revalidate, Miss, Bypass: set when the answer may be stored
  // The key `entry` was (or would have been) found under when it may be a variant; empty: the
  // primary key itself (a hit copies no key).
  std::string stored_key;
  // The key's variant index names Accept-Encoding (compressed variants are stored).
  bool variants_on_encoding = false;
  bool has_entry() const noexcept { return value != nullptr; }
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
  // How long L1 may keep a variant index (L1 caps it by its own max_ttl as well).
  std::chrono::milliseconds variant_index_l1_ttl{30'000};
};

// One per worker thread (the parts it points to may be shared). Never throws.
class LookupTier {
 public:
  explicit LookupTier(LookupParts parts) : parts_(std::move(parts)) {}

  // A configuration reload: misses from now on wait this long for another request's fill.
  void set_coalesce_wait(std::chrono::milliseconds wait) noexcept { parts_.coalesce_wait = wait; }

  // `key` (the primary stored key) and `request` must outlive the call (the session's do).
  boost::asio::awaitable<LookupResult> lookup(const std::string& key, const LookupRequest& request);

  // Stores the encoded entry with the permission a lookup gave, then hands it to coalesced
  // waiters (not when overtaken: they fetch for themselves). `variant` set: the response
  // carries Vary and is stored as that variant of `key`. `fresh_for`: how long the entry stays
  // fresh from now (bounds an L1 copy). `tags`: the entry's tags (EraseTarget::Kind::Tag),
  // stored with it in the store and L1. `body_bytes`: the response body's size, for metrics.
  boost::asio::awaitable<StoreResult> store(const std::string& key,
                                            const std::optional<store::VariantFill>& variant,
                                            Fill& fill, std::string entry,
                                            std::chrono::milliseconds ttl, std::string ns,
                                            std::vector<std::string> tags,
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
                                            Detail detail, const LookupRequest& request);
  boost::asio::awaitable<std::optional<Fill>> token_for(const std::string& key);
  std::optional<LookupResult> l1_lookup(const std::string& key, const LookupRequest& request);

  LookupParts parts_;
  // Without a shared coalescer (tests), revalidations are still one per key in this tier.
  FillCoalescer own_revalidations_;
};

}  // namespace cachecar::proxy
