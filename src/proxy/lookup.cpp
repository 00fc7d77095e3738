#include "proxy/lookup.hpp"

#include "policy/cacheability.hpp"

#include <spdlog/spdlog.h>

namespace cachecar::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

std::string_view to_string(LookupKind kind) noexcept {
  switch (kind) {
    case LookupKind::Hit:
      return "hit";
    case LookupKind::Collapsed:
      return "collapsed";
    case LookupKind::Miss:
      return "miss";
    case LookupKind::Bypass:
      return "bypass";
  }
  return "miss";
}

namespace {

LookupResult hit(store::Value value, const policy::EntryView& entry, Detail detail) {
  LookupResult result;
  result.kind = LookupKind::Hit;
  result.value = std::move(value);
  result.entry = entry;
  result.detail = detail;
  return result;
}

}  // namespace

bool LookupTier::covered_by_pending(const std::string& key) const {
  return parts_.pending && parts_.pending->covers(key);
}

void LookupTier::store_failed(metrics::StoreOperation operation, const error_code& ec) {
  parts_.metrics.record_store_error(operation);
  std::uint64_t suppressed = 0;
  if (parts_.store_error_log.allow(&suppressed)) {
    spdlog::warn("cache store {} failed: {} (serving from upstream; {} similar errors suppressed)",
                 metrics::to_string(operation), ec.message(), suppressed);
  }
}

asio::awaitable<LookupResult> LookupTier::lookup(const std::string& key,
                                                 std::chrono::milliseconds lifetime, bool bypass) {
  // Until a failed invalidation that names this key is replayed, the store's copy may predate
  // the write: neither served nor refreshed.
  const bool storable = !covered_by_pending(key);
  if (bypass) {
    LookupResult result;
    result.kind = LookupKind::Bypass;
    if (!storable) co_return result;
    // An explicit refresh stores what it fetches, so, like a fill after a miss, it reads the
    // fill token before the upstream is asked: a write that overtakes it keeps its response
    // out of the store. Without a token nothing is stored (an unconditional put could keep
    // pre-write data).
    auto token = co_await parts_.store.read_fill_token(key);
    if (token) {
      result.fill = Fill{std::move(*token), {}};
    } else {
      store_failed(metrics::StoreOperation::Get, token.error());
      result.detail = Detail::StoreError;
    }
    co_return result;
  }
  if (!storable) {
    parts_.metrics.record_lookup(key, false);
    LookupResult result;
    result.detail = Detail::PendingInvalidation;
    co_return result;
  }

  auto* l1 = parts_.l1;
  if (l1) {
    if (auto value = l1->get(key)) {
      if (auto entry = policy::decode_entry(*value)) {
        parts_.metrics.record_lookup(key, true);
        co_return hit(std::move(value), *entry, Detail::L1);
      }
    }
  }
  // The L1 ticket is taken before the round trip: a reply that raced an invalidation of this
  // key is served once but never kept in L1.
  const bool fill_l1 = l1 && l1->active();
  const auto l1_ticket = fill_l1 ? l1->token(key) : store::L1Cache::Token{};
  auto found = co_await parts_.store.lookup_for_fill(key);
  if (!found) {
    store_failed(metrics::StoreOperation::Get, found.error());
    // No fill token was read, and a put without one is unconditional: it could keep a
    // response that a write (whose invalidation may land meanwhile, or be replayed) overtook.
    std::optional<Fill> no_fill;
    co_return co_await miss(key, no_fill, Detail::StoreError);
  }
  if (!found->value) {
    std::optional<Fill> fill{Fill{std::move(found->token), {}}};
    co_return co_await miss(key, fill, Detail::None);
  }
  if (auto entry = policy::decode_entry(*found->value)) {
    if (fill_l1) {
      // Left in the store: at least the rule's lifetime minus the entry's age (which counts
      // from when the upstream generated it, so this never overshoots the store's expiry).
      const auto left = policy::remaining_lifetime(lifetime, entry->stored_at_ms, parts_.now_ms());
      if (left.count() > 0 && !covered_by_pending(key))
        l1->fill(key, found->value, left, l1_ticket);
    }
    parts_.metrics.record_lookup(key, true);
    co_return hit(std::move(found->value), *entry, Detail::None);
  }
  store_failed(metrics::StoreOperation::Decode, make_error_code(errc::corrupt_entry));
  // The lookup found an entry, so it brought no token: read one before the refetch.
  auto token = co_await parts_.store.read_fill_token(key);
  std::optional<Fill> fill;
  if (!token) {
    store_failed(metrics::StoreOperation::Get, token.error());
    co_return co_await miss(key, fill, Detail::StoreError);
  }
  fill.emplace(Fill{std::move(*token), {}});
  co_return co_await miss(key, fill, Detail::None);
}

// A miss may join the coalescer only when its answer can be stored: waiters wait for a fill.
// By reference: a class-type temporary passed to a coroutine is destroyed twice by GCC 12.
asio::awaitable<LookupResult> LookupTier::miss(const std::string& key, std::optional<Fill>& fill,
                                               Detail detail) {
  parts_.metrics.record_lookup(key, false);
  LookupResult result;
  result.detail = detail;
  if (fill && parts_.coalescer && parts_.coalesce_wait.count() > 0) {
    auto joined = co_await parts_.coalescer->join(key, parts_.coalesce_wait);
    if (joined.entry) {
      if (auto entry = policy::decode_entry(*joined.entry)) {
        result.kind = LookupKind::Collapsed;
        result.value = std::move(joined.entry);
        result.entry = *entry;
        co_return result;
      }
    }
    fill->lease = std::move(joined.lease);
  }
  result.fill = std::move(fill);
  co_return result;
}

// Awaited before the response is written: once a client has a response, the entry is in the
// store, so a write it sends next (on any connection, any thread) invalidates it. A
// fire-and-forget fill could land after that invalidation and serve stale data for a whole
// lifetime. Costs one store round trip on misses only, bounded by the store's timeout/breaker.
asio::awaitable<StoreResult> LookupTier::store(std::string key, Fill fill, std::string entry,
                                               std::chrono::milliseconds ttl, std::string ns,
                                               std::uint64_t body_bytes) {
  store::Value for_waiters;
  if (fill.lease) for_waiters = std::make_shared<const std::string>(entry);
  // A write whose invalidation failed while this fill was in flight may have answered its client
  // already: its replay has not run, so the token cannot tell. Same outcome as overtaken.
  error_code ec = make_error_code(errc::fill_overtaken);
  if (!covered_by_pending(key)) {
    ec = co_await parts_.store.fill(std::move(key), std::move(entry), ttl, std::move(ns),
                                    std::move(fill.token));
  }
  if (ec == errc::fill_overtaken) {
    // A write (through any cachecar sharing the store) invalidated this key after the token
    // was read, before the upstream was asked: the response may predate it. It is served to
    // its own client, but neither kept nor handed to waiters (releasing the lease unpublished
    // sends them upstream themselves).
    co_return StoreResult::Overtaken;
  }
  // Waiters get the entry even when the store failed: the response itself was storable.
  if (fill.lease) fill.lease.publish(std::move(for_waiters));
  if (ec) {
    store_failed(metrics::StoreOperation::Put, ec);
    co_return StoreResult::StoreError;
  }
  parts_.metrics.record_stored(body_bytes);
  co_return StoreResult::Stored;
}

asio::awaitable<InvalidateResult> LookupTier::invalidate(std::vector<store::EraseTarget> targets) {
  // L1 is cleared after the store: a concurrent L1 fill that read the old value before the
  // store's erase took its ticket before this erase, so it cannot land afterwards.
  auto sent = targets;
  auto erased = co_await parts_.store.erase(std::move(sent));
  if (!erased) {
    parts_.metrics.record_store_error(metrics::StoreOperation::Invalidate);
    // Pending before L1 is cleared: a lookup that misses L1 from now on also sees it pending,
    // so it cannot refill L1 with the old entry from the store.
    keep_pending(targets, erased.error());
  }
  if (parts_.l1) parts_.l1->erase(targets);
  if (!erased) co_return InvalidateResult{};
  parts_.metrics.record_invalidated(*erased);
  co_return InvalidateResult{true, *erased};
}

// The write succeeded at the origin but its invalidation did not reach the store: the old
// entries must not be served (here) until a replay has erased them, and the loss is never
// silent.
void LookupTier::keep_pending(const std::vector<store::EraseTarget>& targets,
                              const error_code& ec) {
  parts_.metrics.record_invalidation_failed();
  std::uint64_t suppressed = 0;
  if (parts_.invalidation_error_log.allow(&suppressed)) {
    spdlog::error(
        "invalidation of {} failed: {}; kept pending until the store answers ({} similar "
        "errors suppressed)",
        store::describe_targets(targets), ec.message(), suppressed);
  }
  auto* pending = parts_.pending;
  if (!pending) return;
  if (pending->add(targets) == store::PendingInvalidations::Added::Overflowed) {
    parts_.metrics.record_invalidations_overflowed();
    spdlog::error(
        "more than {} invalidations pending: every lookup misses until the whole "
        "cache has been cleared",
        parts_.max_pending_invalidations);
  }
}

}  // namespace cachecar::proxy
