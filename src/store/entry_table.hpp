// Entries under keys, LRU by bytes, TTL checked on read: the storage that MemoryStore and L1Cache
// share. Not thread-safe (its owner locks) and knows nothing of fill tokens
// (store/generations.hpp).
#pragma once

#include "store/cache_store.hpp"

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace cachecar::store {

// Capacity is counted as key bytes + value bytes per entry; when a put goes over max_bytes,
// least-recently-used entries are evicted. A single entry larger than max_bytes is not stored
// (and any older value under that key is dropped). Expired entries read as absent and are
// removed when met (reads, count(), and every put drops what has expired). Times are
// milliseconds on the owner's clock. Variant indexes (store/variant_index.hpp) are stored and
// evicted like entries but are bookkeeping, not entries: count() and the counts that erase()
// and clear() return leave them out. An entry's tags (already bounded by the owner,
// store/tags.hpp) index it for a Tag erase; they leave with the entry, however it goes.
class EntryTable {
 private:
  struct Entry;
  using Entries = std::map<std::string, Entry, std::less<>>;
  using LruList = std::list<Entries::iterator>;  // front = most recently used

 public:
  // What an operation removed: moved here (not destroyed) so that the owner frees it after
  // releasing its lock. Declare it before the lock.
  struct Graveyard {
    std::vector<Entries::node_type> nodes;
    std::vector<Entries> tables;  // whole tables, from clear()
    std::vector<LruList> lrus;
  };

  explicit EntryTable(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // Unix time in milliseconds from the system clock.
  static std::int64_t system_now_ms();

  Value get(const std::string& key, std::int64_t now, Graveyard& graveyard);
  // A live value and when it expires, without counting as a use (LRU order unchanged).
  struct Peeked {
    Value value;
    std::int64_t expires_at_ms = 0;
  };
  std::optional<Peeked> peek(std::string_view key, std::int64_t now) const;
  void put(std::string key, Value value, std::chrono::milliseconds ttl, std::string ns,
           std::int64_t now, Graveyard& graveyard, std::vector<std::string> tags = {});
  // Returns how many live entries it removed.
  std::uint64_t erase(const EraseTarget& target, std::int64_t now, Graveyard& graveyard);
  // Removes `key` only (not its variants).
  void erase_key(std::string_view key, std::int64_t now, Graveyard& graveyard);
  // clear(""): entries stored without a namespace are not a namespace: deletes nothing.
  std::uint64_t clear(const std::optional<std::string>& ns, std::int64_t now, Graveyard& graveyard);
  std::uint64_t count(std::int64_t now, Graveyard& graveyard);

  std::uint64_t bytes_used() const noexcept { return bytes_; }  // live or not
  std::uint64_t max_bytes() const noexcept { return max_bytes_; }

 private:
  struct Entry {
    Value value;
    std::int64_t expires_at_ms = 0;
    std::string ns;  // "" = none
    std::vector<std::string> tags;
    LruList::iterator lru;
  };

  static bool expired(const Entry& e, std::int64_t now) noexcept { return now >= e.expires_at_ms; }
  // Unlinks an entry from every index; returns whether it was a live entry (not an index).
  bool remove(Entries::iterator it, std::int64_t now, Graveyard& graveyard);
  std::uint64_t remove_range(std::string_view prefix, std::int64_t now, Graveyard& graveyard);
  std::uint64_t remove_tagged(const std::string& tag, std::int64_t now, Graveyard& graveyard);
  void purge_expired(std::int64_t now, Graveyard& graveyard);

  const std::uint64_t max_bytes_;
  Entries entries_;
  LruList lru_;
  std::set<std::pair<std::int64_t, const std::string*>> by_expiry_;  // (expires_at, key)
  std::unordered_map<std::string, std::unordered_set<const std::string*>> namespaces_;
  std::unordered_map<std::string, std::unordered_set<const std::string*>> tags_;  // tag -> keys
  std::uint64_t bytes_ = 0;
  std::uint64_t variant_indexes_ = 0;  // how many of entries_ are variant indexes, live or not
};

}  // namespace cachecar::store
