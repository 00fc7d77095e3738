// The in-process tier in front of Redis, shared by every worker thread. It may serve only
// while its invalidation channel is up (redis::InvalidationListener): the channel turns it on
// after subscribing and off — dropping everything — whenever it is lost.
#pragma once

#include "store/cache_store.hpp"
#include "store/entry_table.hpp"
#include "store/generations.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cachecar::store {

class L1Cache {
 public:
  // Taken before a remote lookup; fill() stores the result only if no invalidation touched
  // the key's path (or everything) since, so a reply that raced an invalidation never lands.
  using Token = Generations::Token;

  L1Cache(std::uint64_t max_bytes, std::chrono::milliseconds max_ttl);

  bool active() const noexcept { return active_.load(std::memory_order_acquire); }
  // Asked by get() before it serves anything; false = don't serve (the channel is gone, or has
  // an invalidation that is not applied yet). Must not block. Set once, before any lookup (not
  // thread-safe to change later).
  void set_reader_hook(std::function<bool()> hook) { reader_hook_ = std::move(hook); }
  // The entry, or null when absent, expired or the tier is inactive. Thread-safe.
  Value get(const std::string& key);
  Token token(std::string_view key) const noexcept { return generations_.token(key); }
  // Keeps `value` for min(max_ttl, remote_ttl), remote_ttl being (a lower bound of) what the
  // entry has left in Redis; remote_ttl <= 0 means unknown: max_ttl. Thread-safe.
  void fill(const std::string& key, Value value, std::chrono::milliseconds remote_ttl,
            Token before);
  // Local writes: drop what they name at once (the channel confirms a moment later); a Tag
  // erase drops everything (L1 keeps no tags).
  void erase(const std::vector<EraseTarget>& targets);

  // For the invalidation channel: a key Redis reports modified (an exact erase of it), or
  // everything (FLUSHDB).
  void invalidate(std::string_view key);
  // With hashed Redis key names (cache.key_hash: sha256) Redis reports names, not keys:
  // `name_of` gives the Redis name of a stored key, and L1 remembers the names of what it holds
  // (bounded: names of entries it no longer holds are pruned). Set once, before any fill.
  void set_key_names(std::function<std::string(std::string_view)> name_of) {
    name_of_ = std::move(name_of);
  }
  // A Redis name reported modified: the entry under it goes. An unknown name may belong to an
  // entry a fill is about to add (its reply raced the message), so every fill in flight is
  // refused instead. Returns whether the name was known.
  bool invalidate_name(std::string_view name);
  void invalidate_all();
  void set_active(bool active);  // both directions drop everything

  std::uint64_t bytes_used() const;

 private:
  const std::chrono::milliseconds max_ttl_;
  std::atomic<bool> active_{false};
  // Lock-free: tokens are read without mutex_. Bumped under mutex_, so that a fill's
  // check-then-insert never interleaves with an invalidation's bump-then-erase.
  Generations generations_;
  mutable std::mutex mutex_;
  EntryTable entries_;  // under mutex_
  std::function<bool()> reader_hook_;
  std::function<std::string(std::string_view)> name_of_;
  std::unordered_map<std::string, std::string> names_;  // Redis name -> key; under mutex_
};

}  // namespace cachecar::store
