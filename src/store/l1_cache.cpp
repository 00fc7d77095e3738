#include "store/l1_cache.hpp"

namespace cachecar::store {

L1Cache::L1Cache(std::uint64_t max_bytes, std::chrono::milliseconds max_ttl)
    : max_ttl_(max_ttl), entries_(max_bytes) {}

Value L1Cache::get(const std::string& key) {
  if (!active()) return nullptr;
  if (reader_hook_ && !reader_hook_()) return nullptr;
  if (!active()) return nullptr;
  return entries_.get_sync(key);
}

void L1Cache::fill(const std::string& key, Value value, std::chrono::milliseconds remote_ttl,
                   Token before) {
  const auto ttl = remote_ttl.count() > 0 ? std::min(max_ttl_, remote_ttl) : max_ttl_;
  std::lock_guard lock(write_mutex_);
  if (!active() || !fence_.still_current(before)) return;
  entries_.put_sync(key, std::move(value), ttl, {});
}

void L1Cache::erase(const std::vector<EraseTarget>& targets) {
  std::lock_guard lock(write_mutex_);
  fence_.invalidated(targets);
  entries_.erase_sync(targets);
}

void L1Cache::invalidate(std::string_view key) {
  std::lock_guard lock(write_mutex_);
  fence_.invalidated(key);
  entries_.erase_sync({EraseTarget{EraseTarget::Kind::Exact, std::string(key)}});
}

void L1Cache::invalidate_all() {
  std::lock_guard lock(write_mutex_);
  fence_.invalidated_all();
  entries_.clear_sync(std::nullopt);
}

void L1Cache::set_active(bool active) {
  std::lock_guard lock(write_mutex_);
  fence_.invalidated_all();
  entries_.clear_sync(std::nullopt);
  active_.store(active, std::memory_order_release);
}

}  // namespace cachecar::store
