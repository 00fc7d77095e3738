// In-process CacheStore: one instance shared by all proxy threads (mutex-protected), LRU by
// bytes, TTL checked on read. No I/O; its coroutines complete without suspending.
#pragma once

#include "store/cache_store.hpp"
#include "store/entry_table.hpp"
#include "store/generations.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace cachecar::store {

// Storage as EntryTable describes it; fill tokens as store/generations.hpp defines them.
// Thread-safe; critical sections are map/list updates only (values are shared, never copied).
class MemoryStore final : public CacheStore {
 public:
  using NowMs = std::function<std::int64_t()>;  // milliseconds, any epoch, monotonic enough

  // Unix time in milliseconds from the system clock.
  static std::int64_t system_now_ms() { return EntryTable::system_now_ms(); }

  explicit MemoryStore(std::uint64_t max_bytes, NowMs now_ms = &MemoryStore::system_now_ms);

  boost::asio::awaitable<result<Value>> get(std::string key) override;
  boost::asio::awaitable<result<Lookup>> lookup_for_fill(std::string key) override;
  boost::asio::awaitable<result<FillToken>> read_fill_token(std::string key) override;
  boost::asio::awaitable<boost::system::error_code> put(std::string key, std::string value,
                                                        std::chrono::milliseconds ttl,
                                                        std::string ns,
                                                        std::vector<std::string> tags) override;
  boost::asio::awaitable<boost::system::error_code> fill(std::string key, std::string value,
                                                         std::chrono::milliseconds ttl,
                                                         std::string ns, FillToken token,
                                                         std::vector<std::string> tags) override;
  boost::asio::awaitable<boost::system::error_code> fill_variant(
      VariantFill variant, std::string value, std::chrono::milliseconds ttl, std::string ns,
      FillToken token, std::vector<std::string> tags) override;
  boost::asio::awaitable<result<std::uint64_t>> erase(std::vector<EraseTarget> targets) override;
  // clear(""): entries stored without a namespace are not a namespace: deletes nothing.
  boost::asio::awaitable<result<std::uint64_t>> clear(std::optional<std::string> ns) override;
  boost::asio::awaitable<result<std::uint64_t>> count() override;
  boost::asio::awaitable<result<std::chrono::microseconds>> ping() override;
  StoreHealth health() const override {
    StoreHealth health;
    health.tags_dropped = tags_dropped_.load(std::memory_order_relaxed);
    return health;
  }
  std::string_view kind() const noexcept override { return "memory"; }

  // Synchronous versions of the above (the coroutines call these), for tests and tools.
  Value get_sync(const std::string& key);
  Lookup lookup_for_fill_sync(const std::string& key);
  FillToken read_fill_token_sync(const std::string& key);
  void put_sync(std::string key, Value value, std::chrono::milliseconds ttl, std::string ns,
                std::vector<std::string> tags = {});
  void put_sync(std::string key, std::string value, std::chrono::milliseconds ttl, std::string ns,
                std::vector<std::string> tags = {}) {
    put_sync(std::move(key), std::make_shared<const std::string>(std::move(value)), ttl,
             std::move(ns), std::move(tags));
  }
  // False (nothing stored): `token` predates an erase of the key's path (or is empty).
  bool fill_sync(std::string key, Value value, std::chrono::milliseconds ttl, std::string ns,
                 const FillToken& token, std::vector<std::string> tags = {});
  bool fill_sync(std::string key, std::string value, std::chrono::milliseconds ttl, std::string ns,
                 const FillToken& token, std::vector<std::string> tags = {}) {
    return fill_sync(std::move(key), std::make_shared<const std::string>(std::move(value)), ttl,
                     std::move(ns), token, std::move(tags));
  }
  // False (nothing stored): as fill_sync; also for a malformed `variant` (variant_secondary_key).
  bool fill_variant_sync(const VariantFill& variant, Value value, std::chrono::milliseconds ttl,
                         std::string ns, const FillToken& token,
                         std::vector<std::string> tags = {});
  bool fill_variant_sync(const VariantFill& variant, std::string value,
                         std::chrono::milliseconds ttl, std::string ns, const FillToken& token,
                         std::vector<std::string> tags = {}) {
    return fill_variant_sync(variant, std::make_shared<const std::string>(std::move(value)), ttl,
                             std::move(ns), token, std::move(tags));
  }
  std::uint64_t erase_sync(const std::vector<EraseTarget>& targets);
  std::uint64_t clear_sync(const std::optional<std::string>& ns);
  std::uint64_t count_sync();

  std::uint64_t bytes_used() const;  // key + value bytes of the entries held (live or not)
  std::uint64_t max_bytes() const noexcept { return entries_.max_bytes(); }

 private:
  // A plain entry replaces a variant index under `key`: the index's variants go with it (the
  // origin stopped sending Vary). Under mutex_.
  void drop_variants_of(const std::string& key, std::int64_t now, EntryTable::Graveyard& graveyard);

  // The tags kept of `tags` (store/tags.hpp), counting the dropped ones.
  std::vector<std::string> kept_tags(std::vector<std::string> tags);

  const NowMs now_ms_;
  std::atomic<std::uint64_t> tags_dropped_{0};
  mutable std::mutex mutex_;
  EntryTable entries_;       // under mutex_
  Generations generations_;  // bumped and compared under mutex_
};

}  // namespace cachecar::store
