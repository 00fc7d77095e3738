#include "store/memory_store.hpp"

#include <chrono>

namespace cachecar::store {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::int64_t MemoryStore::system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

MemoryStore::MemoryStore(std::uint64_t max_bytes, NowMs now_ms)
    : max_bytes_(max_bytes), now_ms_(now_ms ? std::move(now_ms) : NowMs(&system_now_ms)) {}

bool MemoryStore::remove(Entries::iterator it, std::int64_t now, Graveyard& graveyard) {
  Entry& e = it->second;
  const bool live = !expired(e, now);
  by_expiry_.erase({e.expires_at_ms, &it->first});
  if (!e.ns.empty()) {
    auto ns = namespaces_.find(e.ns);
    if (ns != namespaces_.end()) {
      ns->second.erase(&it->first);
      if (ns->second.empty()) namespaces_.erase(ns);
    }
  }
  lru_.erase(e.lru);
  bytes_ -= it->first.size() + e.value->size();
  graveyard.push_back(entries_.extract(it));
  return live;
}

// Every key starting with `prefix` is contiguous in the ordered map from lower_bound(prefix).
std::uint64_t MemoryStore::remove_range(std::string_view prefix, std::int64_t now,
                                        Graveyard& graveyard) {
  std::uint64_t removed = 0;
  auto it = entries_.lower_bound(prefix);
  while (it != entries_.end() && starts_with(it->first, prefix)) {
    auto victim = it++;
    removed += remove(victim, now, graveyard) ? 1 : 0;
  }
  return removed;
}

void MemoryStore::purge_expired(std::int64_t now, Graveyard& graveyard) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    auto it = entries_.find(*by_expiry_.begin()->second);
    remove(it, now, graveyard);
  }
}

std::size_t MemoryStore::generation_slot(std::string_view key) noexcept {
  return std::hash<std::string_view>{}(key_path(key)) % kGenerationSlots;
}

std::string MemoryStore::generations_of(std::string_view key) const {
  return std::to_string(epoch_) + ":" + std::to_string(generations_[generation_slot(key)]);
}

Value MemoryStore::get_sync(const std::string& key, FillToken* token) {
  Graveyard graveyard;  // declared before the lock: an expired entry is freed after it
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  const auto now = now_ms_();
  if (it != entries_.end() && expired(it->second, now)) {
    remove(it, now, graveyard);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    if (token) token->generations = generations_of(key);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.value;
}

bool MemoryStore::put_sync(std::string key, Value value, std::chrono::milliseconds ttl,
                           std::string ns, const FillToken& token) {
  if (!value) return true;
  const std::uint64_t size = key.size() + value->size();
  auto shared = size <= max_bytes_ && ttl.count() > 0 ? std::move(value) : nullptr;
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  if (!token.empty() && token.generations != generations_of(key)) return false;
  const auto now = now_ms_();
  purge_expired(now, graveyard);
  if (auto old = entries_.find(key); old != entries_.end()) remove(old, now, graveyard);
  if (!shared) return true;  // too large for the whole store (or no lifetime): not cached

  while (bytes_ + size > max_bytes_ && !lru_.empty()) remove(lru_.back(), now, graveyard);

  auto it = entries_.try_emplace(std::move(key)).first;
  Entry& e = it->second;
  e.value = std::move(shared);
  e.expires_at_ms = now + ttl.count();
  e.ns = std::move(ns);
  lru_.push_front(it);
  e.lru = lru_.begin();
  by_expiry_.emplace(e.expires_at_ms, &it->first);
  if (!e.ns.empty()) namespaces_[e.ns].insert(&it->first);
  bytes_ += size;
  // `lock` is released before `graveyard` (declared earlier) frees the removed entries.
  return true;
}

std::uint64_t MemoryStore::erase_sync(const std::vector<EraseTarget>& targets) {
  std::uint64_t removed = 0;
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  const auto now = now_ms_();
  for (const auto& target : targets) {
    switch (target.kind) {
      case EraseTarget::Kind::Exact:
      case EraseTarget::Kind::PathAndVariants:
        ++generations_[generation_slot(target.key)];
        if (auto it = entries_.find(target.key); it != entries_.end()) {
          removed += remove(it, now, graveyard) ? 1 : 0;
        }
        removed += remove_range(target.key + core::kSecondaryKeySeparator, now, graveyard);
        if (target.kind == EraseTarget::Kind::PathAndVariants) {
          removed += remove_range(target.key + "?", now, graveyard);
        }
        break;
      case EraseTarget::Kind::Prefix:
        ++epoch_;
        removed += remove_range(target.key, now, graveyard);
        break;
    }
  }
  return removed;
}

std::uint64_t MemoryStore::clear_sync(const std::optional<std::string>& ns) {
  std::uint64_t removed = 0;
  // Declared before the lock, so the removed entries are freed after it is released.
  Graveyard graveyard;
  Entries doomed;
  LruList doomed_lru;
  std::lock_guard lock(mutex_);
  ++epoch_;
  const auto now = now_ms_();
  if (!ns) {
    for (const auto& [key, e] : entries_) removed += expired(e, now) ? 0 : 1;
    doomed.swap(entries_);
    doomed_lru.swap(lru_);
    by_expiry_.clear();
    namespaces_.clear();
    bytes_ = 0;
    return removed;
  }
  auto set = namespaces_.find(*ns);
  if (set == namespaces_.end()) return 0;
  // Copy the members: remove() edits the set we would be iterating.
  const std::vector<const std::string*> keys(set->second.begin(), set->second.end());
  for (const std::string* key : keys) {
    removed += remove(entries_.find(*key), now, graveyard) ? 1 : 0;
  }
  return removed;
}

std::uint64_t MemoryStore::count_sync() {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  purge_expired(now_ms_(), graveyard);
  return entries_.size();
}

std::uint64_t MemoryStore::bytes_used() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

boost::asio::awaitable<result<Value>> MemoryStore::get(std::string key, FillToken* token) {
  co_return get_sync(key, token);
}

boost::asio::awaitable<result<FillToken>> MemoryStore::read_fill_token(std::string key) {
  std::lock_guard lock(mutex_);
  co_return FillToken{generations_of(key)};
}

boost::asio::awaitable<boost::system::error_code> MemoryStore::put(std::string key,
                                                                   std::string value,
                                                                   std::chrono::milliseconds ttl,
                                                                   std::string ns,
                                                                   const FillToken* token) {
  static const FillToken kUnconditional;
  if (!put_sync(std::move(key), std::move(value), ttl, std::move(ns),
                token != nullptr ? *token : kUnconditional)) {
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
