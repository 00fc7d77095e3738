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
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  if (!active() || !generations_.current(before)) return;
  entries_.put(key, std::move(value), ttl, {}, EntryTable::system_now_ms(), graveyard);
}

void L1Cache::erase(const std::vector<EraseTarget>& targets) {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  const auto now = EntryTable::system_now_ms();
  for (const auto& target : targets) {
    generations_.erased(target);
    entries_.erase(target, now, graveyard);
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
  active_.store(active, std::memory_order_release);
}

std::uint64_t L1Cache::bytes_used() const {
  std::lock_guard lock(mutex_);
  return entries_.bytes_used();
}

}  // namespace cachecar::store
