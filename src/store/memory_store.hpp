// In-process CacheStore: one instance shared by all proxy threads (mutex-protected), LRU by
// bytes, TTL checked on read. No I/O; its coroutines complete without suspending.
#pragma once

#include "store/cache_store.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace cachecar::store {

// Capacity is counted as key bytes + value bytes per entry; when a put goes over max_bytes,
// least-recently-used entries are evicted. A single entry larger than max_bytes is not stored
// (put still succeeds, and any older value under that key is dropped). Expired entries read as
// absent and are removed when met (reads, count(), and every put drops what has expired).
// Thread-safe; critical sections are map/list updates only (values are shared, never copied).
class MemoryStore final : public CacheStore {
 public:
  using NowMs = std::function<std::int64_t()>;  // milliseconds, any epoch, monotonic enough

  // Unix time in milliseconds from the system clock.
  static std::int64_t system_now_ms();

  explicit MemoryStore(std::uint64_t max_bytes, NowMs now_ms = &MemoryStore::system_now_ms);

  boost::asio::awaitable<result<Value>> get(std::string key, FillToken* token = nullptr) override;
  boost::asio::awaitable<result<FillToken>> read_fill_token(std::string key) override;
  boost::asio::awaitable<boost::system::error_code> put(std::string key, std::string value,
                                                        std::chrono::milliseconds ttl,
                                                        std::string ns,
                                                        const FillToken* token = nullptr) override;
  boost::asio::awaitable<result<std::uint64_t>> erase(std::vector<EraseTarget> targets) override;
  // clear(""): entries stored without a namespace are not a namespace: deletes nothing.
  boost::asio::awaitable<result<std::uint64_t>> clear(std::optional<std::string> ns) override;
  boost::asio::awaitable<result<std::uint64_t>> count() override;
  boost::asio::awaitable<result<std::chrono::microseconds>> ping() override;
  StoreHealth health() const override { return {}; }
  std::string_view kind() const noexcept override { return "memory"; }

  // Synchronous versions of the above (the coroutines call these), for tests and tools.
  Value get_sync(const std::string& key, FillToken* token = nullptr);
  // False (nothing stored): `token` predates an erase of the key's path.
  bool put_sync(std::string key, Value value, std::chrono::milliseconds ttl, std::string ns,
                const FillToken& token = {});
  bool put_sync(std::string key, std::string value, std::chrono::milliseconds ttl, std::string ns,
                const FillToken& token = {}) {
    return put_sync(std::move(key), std::make_shared<const std::string>(std::move(value)), ttl,
                    std::move(ns), token);
  }
  std::uint64_t erase_sync(const std::vector<EraseTarget>& targets);
  std::uint64_t clear_sync(const std::optional<std::string>& ns);
  std::uint64_t count_sync();

  std::uint64_t bytes_used() const;  // key + value bytes of the entries held (live or not)
  std::uint64_t max_bytes() const noexcept { return max_bytes_; }

 private:
  struct Entry;
  using Entries = std::map<std::string, Entry, std::less<>>;
  using LruList = std::list<Entries::iterator>;  // front = most recently used

  struct Entry {
    Value value;
    std::int64_t expires_at_ms = 0;
    std::string ns;  // "" = none
    LruList::iterator lru;
  };

  // Removed entries are extracted (not destroyed) under the lock and freed after it.
  using Graveyard = std::vector<Entries::node_type>;

  bool expired(const Entry& e, std::int64_t now) const noexcept { return now >= e.expires_at_ms; }
  // Invalidation generations for fill tokens (under mutex_): one per slot of key paths, plus an
  // epoch for prefix erases and clears. Collisions only cost a refused fill.
  static constexpr std::size_t kGenerationSlots = 4096;
  static std::size_t generation_slot(std::string_view key) noexcept;
  std::string generations_of(std::string_view key) const;  // the token's text
  // Unlinks an entry from every index; returns whether it was live.
  bool remove(Entries::iterator it, std::int64_t now, Graveyard& graveyard);
  std::uint64_t remove_range(std::string_view prefix, std::int64_t now, Graveyard& graveyard);
  void purge_expired(std::int64_t now, Graveyard& graveyard);

  const std::uint64_t max_bytes_;
  const NowMs now_ms_;

  mutable std::mutex mutex_;
  Entries entries_;
  LruList lru_;
  std::set<std::pair<std::int64_t, const std::string*>> by_expiry_;  // (expires_at, key)
  std::unordered_map<std::string, std::unordered_set<const std::string*>> namespaces_;
  std::uint64_t bytes_ = 0;
  std::uint64_t epoch_ = 0;
  std::array<std::uint64_t, kGenerationSlots> generations_{};
};

}  // namespace cachecar::store
