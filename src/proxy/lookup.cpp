#include "proxy/lookup.hpp"

#include "policy/cacheability.hpp"
#include "store/variant_index.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cachecar::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

std::string_view to_string(LookupKind kind) noexcept {
  switch (kind) {
    case LookupKind::Hit:
      return "hit";
    case LookupKind::Stale:
      return "stale";
    case LookupKind::Revalidate:
      return "revalidate";
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

asio::awaitable<std::optional<Fill>> LookupTier::token_for(const std::string& key) {
  auto token = co_await parts_.store.read_fill_token(key);
  if (!token) {
    store_failed(metrics::StoreOperation::Get, token.error());
    co_return std::nullopt;
  }
  std::optional<Fill> fill;
  fill.emplace();
  fill->token = std::move(*token);
  co_return fill;
}

asio::awaitable<LookupResult> LookupTier::lookup(const std::string& key,
                                                 const LookupRequest& request) {
  // Until a failed invalidation that names this key is replayed, the store's copy may predate
  // the write: neither served nor refreshed.
  const bool storable = !covered_by_pending(key);
  if (request.bypass) {
    LookupResult result;
    result.kind = LookupKind::Bypass;
    if (!storable) co_return result;
    // An explicit refresh stores what it fetches, so, like a fill after a miss, it reads the
    // fill token before the upstream is asked: a write that overtakes it keeps its response
    // out of the store. Without a token nothing is stored (an unconditional put could keep
    // pre-write data).
    result.fill = co_await token_for(key);
    if (!result.fill) result.detail = Detail::StoreError;
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
    if (auto hit_in_l1 = l1_lookup(key, request)) {
      parts_.metrics.record_lookup(key, true);
      co_return std::move(*hit_in_l1);
    }
  }
  // The L1 ticket is taken before the round trip: a reply that raced an invalidation of this
  // key is served once but never kept in L1.
  const bool fill_l1 = l1 && l1->active();
  auto l1_ticket = fill_l1 ? l1->token(key) : store::L1Cache::Token{};
  std::string stored_key = key;
  auto found = co_await parts_.store.lookup_for_fill(key);
  bool variants_on_encoding = false;
  if (found && found->value && store::is_variant_index(*found->value)) {
    // RFC 9111 §4.1: the key's responses carry Vary; the index names the fields that select
    // the variant. One more round trip, for such keys only.
    const auto fields = store::variant_index_fields(*found->value);
    if (fields) {
      variants_on_encoding =
          std::find(fields->begin(), fields->end(), "accept-encoding") != fields->end();
    }
    if (fields && request.secondary_key) {
      if (fill_l1) l1->fill(key, found->value, parts_.variant_index_l1_ttl, l1_ticket);
      stored_key = key + request.secondary_key(*fields);
      l1_ticket = fill_l1 ? l1->token(stored_key) : store::L1Cache::Token{};
      found = co_await parts_.store.lookup_for_fill(stored_key);
    } else {
      store_failed(metrics::StoreOperation::Decode, make_error_code(errc::corrupt_entry));
      found->value = nullptr;
      auto token = co_await parts_.store.read_fill_token(key);
      if (!token) {
        found = boost::system::result<store::Lookup>(token.error());
      } else {
        found->token = std::move(*token);
      }
    }
  }
  if (!found) {
    store_failed(metrics::StoreOperation::Get, found.error());
    // No fill token was read, and a put without one is unconditional: it could keep a
    // response that a write (whose invalidation may land meanwhile, or be replayed) overtook.
    parts_.metrics.record_lookup(key, false);
    std::optional<Fill> no_fill;
    co_return co_await miss(stored_key, no_fill, Detail::StoreError, request);
  }
  if (!found->value) {
    parts_.metrics.record_lookup(key, false);
    std::optional<Fill> fill;
    fill.emplace();
    fill->token = std::move(found->token);
    auto missed = co_await miss(stored_key, fill, Detail::None, request);
    missed.variants_on_encoding = variants_on_encoding;
    co_return missed;
  }
  const auto entry = policy::decode_entry(*found->value);
  if (!entry) {
    store_failed(metrics::StoreOperation::Decode, make_error_code(errc::corrupt_entry));
    parts_.metrics.record_lookup(key, false);
    // The lookup found an entry, so it brought no token: read one before the refetch.
    std::optional<Fill> fill;
    if (!request.only_if_cached) fill = co_await token_for(stored_key);
    const Detail detail = (fill || request.only_if_cached) ? Detail::None : Detail::StoreError;
    co_return co_await miss(stored_key, fill, detail, request);
  }
  if (request.needs_shared_authorization &&
      !entry->freshness.has(policy::kSharedWithAuthorization)) {
    // RFC 9111 §3.5: stored for requests without Authorization only.
    parts_.metrics.record_lookup(key, false);
    std::optional<Fill> fill;
    if (!request.only_if_cached) fill = co_await token_for(stored_key);
    const Detail detail = (fill || request.only_if_cached) ? Detail::None : Detail::StoreError;
    co_return co_await miss(stored_key, fill, detail, request);
  }

  const auto now = parts_.now_ms();
  const auto decision = policy::decide_reuse(entry->freshness, now, request.client);
  LookupResult result;
  result.value = found->value;
  result.entry = *entry;
  result.reuse = decision;
  result.variants_on_encoding = variants_on_encoding;
  if (stored_key != key) result.stored_key = stored_key;
  switch (decision.reuse) {
    case policy::Reuse::Fresh: {
      const auto left = std::chrono::milliseconds(entry->freshness.lifetime_ms -
                                                  policy::current_age_ms(entry->freshness, now));
      // Only an entry that is fresh for everyone goes to L1 (a client's max-stale may accept a
      // stale one here).
      if (fill_l1 && left.count() > 0 && !entry->freshness.has(policy::kNoCache) &&
          !covered_by_pending(key)) {
        l1->fill(stored_key, found->value, left, l1_ticket);
      }
      parts_.metrics.record_lookup(key, true);
      result.kind = LookupKind::Hit;
      co_return result;
    }
    case policy::Reuse::StaleWhileRevalidate: {
      parts_.metrics.record_lookup(key, true);
      result.kind = LookupKind::Stale;
      if (request.only_if_cached) co_return result;
      // RFC 5861 §3: one background revalidation per key, however many requests see it stale.
      auto& revalidations = parts_.coalescer ? *parts_.coalescer : own_revalidations_;
      FillCoalescer::Lease lease = revalidations.try_lead(stored_key);
      if (!lease) co_return result;
      result.fill = co_await token_for(stored_key);
      if (result.fill) {
        result.fill->lease = std::move(lease);
        result.fill->lease_key = stored_key;
      }
      co_return result;
    }
    case policy::Reuse::Revalidate:
      break;
  }
  parts_.metrics.record_lookup(key, false);
  result.kind = LookupKind::Revalidate;
  if (request.only_if_cached) co_return result;
  std::optional<Fill> fill = co_await token_for(stored_key);
  if (!fill) result.detail = Detail::StoreError;
  auto joined = co_await miss(stored_key, fill, result.detail, request);
  joined.variants_on_encoding = variants_on_encoding;
  if (joined.kind == LookupKind::Collapsed) co_return joined;
  result.fill = std::move(joined.fill);
  co_return result;
}

std::optional<LookupResult> LookupTier::l1_lookup(const std::string& key,
                                                  const LookupRequest& request) {
  auto* l1 = parts_.l1;
  auto value = l1->get(key);
  std::string variant;
  if (value && store::is_variant_index(*value)) {
    const auto fields = store::variant_index_fields(*value);
    if (!fields || !request.secondary_key) return std::nullopt;
    variant = key + request.secondary_key(*fields);
    value = l1->get(variant);
  }
  if (!value) return std::nullopt;
  const auto entry = policy::decode_entry(*value);
  if (!entry) return std::nullopt;
  if (request.needs_shared_authorization &&
      !entry->freshness.has(policy::kSharedWithAuthorization)) {
    return std::nullopt;
  }
  const auto decision = policy::decide_reuse(entry->freshness, parts_.now_ms(), request.client);
  if (decision.reuse != policy::Reuse::Fresh) return std::nullopt;
  LookupResult result = hit(std::move(value), *entry, Detail::L1);
  result.reuse = decision;
  result.stored_key = std::move(variant);  // empty: the primary key (no copy on the hot path)
  return result;
}

// A miss may join the coalescer only when its answer can be stored: waiters wait for a fill.
// By reference: a class-type temporary passed to a coroutine is destroyed twice by GCC 12.
asio::awaitable<LookupResult> LookupTier::miss(const std::string& stored_key,
                                               std::optional<Fill>& fill, Detail detail,
                                               const LookupRequest& request) {
  LookupResult result;
  result.detail = detail;
  result.stored_key = stored_key;
  if (request.only_if_cached) co_return result;
  if (fill) fill->lease_key = stored_key;
  // A request with Authorization never waits for another's answer: the origin has not seen its
  // credentials (RFC 9111 §3.5), and the leader's response may not be shareable.
  const bool may_wait = !request.needs_shared_authorization;
  if (fill && may_wait && parts_.coalescer && parts_.coalesce_wait.count() > 0) {
    auto joined = co_await parts_.coalescer->join(stored_key, parts_.coalesce_wait);
    if (joined.entry) {
      if (auto entry = policy::decode_entry(*joined.entry)) {
        // Only a fresh answer is handed over: one that must be validated before any reuse
        // (no-cache, max-age=0, RFC 9111 §5.2.2.4) is fetched for this request too.
        const auto reuse = policy::decide_reuse(entry->freshness, parts_.now_ms(), request.client);
        if (reuse.reuse == policy::Reuse::Fresh) {
          result.kind = LookupKind::Collapsed;
          result.value = std::move(joined.entry);
          result.entry = *entry;
          result.reuse = reuse;
          co_return result;
        }
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
asio::awaitable<StoreResult> LookupTier::store(const std::string& key,
                                               const std::optional<store::VariantFill>& variant,
                                               Fill& fill, std::string entry,
                                               std::chrono::milliseconds ttl, std::string ns,
                                               std::vector<std::string> tags,
                                               std::uint64_t body_bytes) {
  const std::string& stored_key = variant ? variant->variant_key : key;
  // Waiters joined on one stored key: another variant's response is not theirs to serve.
  store::Value for_waiters;
  if (fill.lease && fill.lease_key == stored_key) {
    for_waiters = std::make_shared<const std::string>(entry);
  }
  // A write whose invalidation failed while this fill was in flight may have answered its client
  // already: its replay has not run, so the token cannot tell. Same outcome as overtaken.
  error_code ec = make_error_code(errc::fill_overtaken);
  if (!covered_by_pending(key)) {
    if (variant) {
      store::VariantFill target = *variant;
      ec = co_await parts_.store.fill_variant(std::move(target), std::move(entry), ttl,
                                              std::move(ns), std::move(fill.token),
                                              std::move(tags));
    } else {
      std::string target = key;
      ec = co_await parts_.store.fill(std::move(target), std::move(entry), ttl, std::move(ns),
                                      std::move(fill.token), std::move(tags));
    }
  }
  if (ec == errc::fill_overtaken) {
    // A write (through any cachecar sharing the store) invalidated this key after the token
    // was read, before the upstream was asked: the response may predate it. It is served to
    // its own client, but neither kept nor handed to waiters (releasing the lease unpublished
    // sends them upstream themselves).
    fill.lease = {};
    co_return StoreResult::Overtaken;
  }
  // Waiters get the entry even when the store failed: the response itself was storable.
  if (for_waiters) {
    fill.lease.publish(std::move(for_waiters));
  } else {
    fill.lease = {};
  }
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
