#include "store/memory_store.hpp"

#include "store/tags.hpp"
#include "store/variant_index.hpp"

#include <algorithm>

namespace cachecar::store {

using Graveyard = EntryTable::Graveyard;

MemoryStore::MemoryStore(std::uint64_t max_bytes, NowMs now_ms)
    : now_ms_(now_ms ? std::move(now_ms) : NowMs(&system_now_ms)), entries_(max_bytes) {}

// Each graveyard is declared before its lock: what an operation removed is freed after it.

Value MemoryStore::get_sync(const std::string& key) {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  return entries_.get(key, now_ms_(), graveyard);
}

Lookup MemoryStore::lookup_for_fill_sync(const std::string& key) {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  Lookup found{entries_.get(key, now_ms_(), graveyard), {}};
  if (!found.value) found.token = Generations::to_fill_token(generations_.token(key));
  return found;
}

FillToken MemoryStore::read_fill_token_sync(const std::string& key) {
  std::lock_guard lock(mutex_);
  return Generations::to_fill_token(generations_.token(key));
}

std::vector<std::string> MemoryStore::kept_tags(std::vector<std::string> tags) {
  auto kept = keep_tags(std::move(tags));
  if (kept.dropped != 0) tags_dropped_.fetch_add(kept.dropped, std::memory_order_relaxed);
  return std::move(kept.tags);
}

void MemoryStore::drop_variants_of(const std::string& key, std::int64_t now, Graveyard& graveyard) {
  const auto old = entries_.peek(key, now);
  if (!old || !is_variant_index(*old->value)) return;
  for (const auto& member : variant_index_members(*old->value)) {
    entries_.erase_key(key + member, now, graveyard);
  }
}

void MemoryStore::put_sync(std::string key, Value value, std::chrono::milliseconds ttl,
                           std::string ns, std::vector<std::string> tags) {
  auto kept = kept_tags(std::move(tags));
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  drop_variants_of(key, now_ms_(), graveyard);
  entries_.put(std::move(key), std::move(value), ttl, std::move(ns), now_ms_(), graveyard,
               std::move(kept));
}

bool MemoryStore::fill_sync(std::string key, Value value, std::chrono::milliseconds ttl,
                            std::string ns, const FillToken& token, std::vector<std::string> tags) {
  auto kept = kept_tags(std::move(tags));
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  if (!generations_.current(key, token)) return false;
  const auto now = now_ms_();
  drop_variants_of(key, now, graveyard);
  entries_.put(std::move(key), std::move(value), ttl, std::move(ns), now, graveyard,
               std::move(kept));
  return true;
}

// The same steps as the Redis fill-variant script (redis/scripts.cpp), in one critical section.
bool MemoryStore::fill_variant_sync(const VariantFill& variant, Value value,
                                    std::chrono::milliseconds ttl, std::string ns,
                                    const FillToken& token, std::vector<std::string> tags) {
  auto kept = kept_tags(std::move(tags));
  const auto secondary = variant_secondary_key(variant);
  if (!secondary || !value || ttl.count() <= 0) return false;
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  if (!generations_.current(variant.variant_key, token)) return false;
  const auto now = now_ms_();
  const std::string& primary = variant.primary_key;

  // The listed variants, when the index under the primary key names the same fields; any other
  // index is replaced, its variants deleted (a plain entry is simply overwritten).
  std::vector<std::string> members;
  std::int64_t index_expires_at_ms = 0;
  if (const auto old = entries_.peek(primary, now); old && is_variant_index(*old->value)) {
    auto listed = variant_index_members(*old->value);
    if (variant_index_fields(*old->value) == variant.fields) {
      members = std::move(listed);
      index_expires_at_ms = old->expires_at_ms;
    } else {
      for (const auto& member : listed) entries_.erase_key(primary + member, now, graveyard);
    }
  }
  // The variant moves to the end; variants that expired or were evicted are no longer listed
  // (they do not count towards max_variants). Beyond max_variants the oldest stored go.
  std::erase_if(members, [&](const std::string& member) {
    return member == *secondary || !entries_.peek(primary + member, now);
  });
  members.emplace_back(*secondary);
  const std::size_t keep = std::max<std::size_t>(variant.max_variants, 1);
  const std::size_t excess = members.size() > keep ? members.size() - keep : 0;
  for (std::size_t i = 0; i < excess; ++i) entries_.erase_key(primary + members[i], now, graveyard);
  members.erase(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(excess));

  entries_.put(variant.variant_key, std::move(value), ttl, ns, now, graveyard, std::move(kept));
  // The index lives as long as its longest-lived variant: never shortened.
  const auto index_ttl = std::max(ttl, std::chrono::milliseconds(index_expires_at_ms - now));
  entries_.put(primary,
               std::make_shared<const std::string>(encode_variant_index(variant.fields, members)),
               index_ttl, std::move(ns), now, graveyard);
  return true;
}

std::uint64_t MemoryStore::erase_sync(const std::vector<EraseTarget>& targets) {
  std::uint64_t removed = 0;
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  const auto now = now_ms_();
  for (const auto& target : targets) {
    generations_.erased(target);
    removed += entries_.erase(target, now, graveyard);
  }
  return removed;
}

std::uint64_t MemoryStore::clear_sync(const std::optional<std::string>& ns) {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  generations_.cleared(ns);
  return entries_.clear(ns, now_ms_(), graveyard);
}

std::uint64_t MemoryStore::count_sync() {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  return entries_.count(now_ms_(), graveyard);
}

std::uint64_t MemoryStore::bytes_used() const {
  std::lock_guard lock(mutex_);
  return entries_.bytes_used();
}

boost::asio::awaitable<result<Value>> MemoryStore::get(std::string key) {
  co_return get_sync(key);
}

boost::asio::awaitable<result<Lookup>> MemoryStore::lookup_for_fill(std::string key) {
  co_return lookup_for_fill_sync(key);
}

boost::asio::awaitable<result<FillToken>> MemoryStore::read_fill_token(std::string key) {
  co_return read_fill_token_sync(key);
}

boost::asio::awaitable<boost::system::error_code> MemoryStore::put(std::string key,
                                                                   std::string value,
                                                                   std::chrono::milliseconds ttl,
                                                                   std::string ns,
                                                                   std::vector<std::string> tags) {
  put_sync(std::move(key), std::move(value), ttl, std::move(ns), std::move(tags));
  co_return boost::system::error_code{};
}

boost::asio::awaitable<boost::system::error_code> MemoryStore::fill(std::string key,
                                                                    std::string value,
                                                                    std::chrono::milliseconds ttl,
                                                                    std::string ns, FillToken token,
                                                                    std::vector<std::string> tags) {
  if (!fill_sync(std::move(key), std::move(value), ttl, std::move(ns), token, std::move(tags))) {
    co_return make_error_code(errc::fill_overtaken);
  }
  co_return boost::system::error_code{};
}

boost::asio::awaitable<boost::system::error_code> MemoryStore::fill_variant(
    VariantFill variant, std::string value, std::chrono::milliseconds ttl, std::string ns,
    FillToken token, std::vector<std::string> tags) {
  if (!variant_secondary_key(variant)) {
    co_return make_error_code(boost::system::errc::invalid_argument);
  }
  if (!fill_variant_sync(variant, std::move(value), ttl, std::move(ns), token, std::move(tags))) {
    co_return make_error_code(errc::fill_overtaken);
  }
  co_return boost::system::error_code{};
}

boost::asio::awaitable<result<std::uint64_t>> MemoryStore::erase(std::vector<EraseTarget> targets) {
  co_return erase_sync(targets);
}

boost::asio::awaitable<result<std::uint64_t>> MemoryStore::clear(std::optional<std::string> ns) {
  co_return clear_sync(ns);
}

boost::asio::awaitable<result<std::uint64_t>> MemoryStore::count() {
  co_return count_sync();
}

boost::asio::awaitable<result<std::chrono::microseconds>> MemoryStore::ping() {
  co_return std::chrono::microseconds::zero();
}

}  // namespace cachecar::store
