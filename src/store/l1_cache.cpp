#include "store/l1_cache.hpp"

namespace cachecar::store {

using Graveyard = EntryTable::Graveyard;

L1Cache::L1Cache(std::uint64_t max_bytes, std::chrono::milliseconds max_ttl)
    : max_ttl_(max_ttl), entries_(max_bytes) {}

Value L1Cache::get(const std::string& key) {
  if (!active()) return nullptr;
  if (reader_hook_ && !reader_hook_()) return nullptr;
  if (!active()) return nullptr;
  Graveyard graveyard;  // before the lock: an expired entry is freed after it
  std::lock_guard lock(mutex_);
  return entries_.get(key, EntryTable::system_now_ms(), graveyard);
}

void L1Cache::fill(const std::string& key, Value value, std::chrono::milliseconds remote_ttl,
                   Token before) {
  const auto ttl = remote_ttl.count() > 0 ? std::min(max_ttl_, remote_ttl) : max_ttl_;
  std::string name = name_of_ ? name_of_(key) : std::string();  // outside the lock
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  if (!active() || !generations_.current(before)) return;
  const auto now = EntryTable::system_now_ms();
  entries_.put(key, std::move(value), ttl, {}, now, graveyard);
  if (name.empty()) return;
  names_.insert_or_assign(std::move(name), key);
  // Names of entries L1 no longer holds (evicted, expired) go once they outnumber the entries.
  const std::uint64_t held = entries_.count(now, graveyard);
  if (names_.size() > 2 * held + 1024) {
    std::erase_if(names_, [&](const auto& named) { return !entries_.peek(named.second, now); });
  }
}

bool L1Cache::invalidate_name(std::string_view name) {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  const auto it = names_.find(std::string(name));
  if (it == names_.end()) {
    generations_.bump_epoch();
    return false;
  }
  const EraseTarget target{EraseTarget::Kind::Exact, it->second};
  generations_.erased(target);
  entries_.erase(target, EntryTable::system_now_ms(), graveyard);
  names_.erase(it);
  return true;
}

void L1Cache::erase(const std::vector<EraseTarget>& targets) {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  const auto now = EntryTable::system_now_ms();
  for (const auto& target : targets) {
    generations_.erased(target);
    if (target.kind == EraseTarget::Kind::Tag) {
      // L1 does not know its entries' tags: everything goes.
      entries_.clear(std::nullopt, now, graveyard);
    } else {
      entries_.erase(target, now, graveyard);
    }
  }
}

void L1Cache::invalidate(std::string_view key) {
  erase({EraseTarget{EraseTarget::Kind::Exact, std::string(key)}});
}

void L1Cache::invalidate_all() {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  generations_.cleared(std::nullopt);
  entries_.clear(std::nullopt, EntryTable::system_now_ms(), graveyard);
}

void L1Cache::set_active(bool active) {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  generations_.cleared(std::nullopt);
  entries_.clear(std::nullopt, EntryTable::system_now_ms(), graveyard);
  names_.clear();
  active_.store(active, std::memory_order_release);
}

std::uint64_t L1Cache::bytes_used() const {
  std::lock_guard lock(mutex_);
  return entries_.bytes_used();
}

}  // namespace cachecar::store
