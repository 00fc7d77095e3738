#include "store/memory_store.hpp"

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

void MemoryStore::put_sync(std::string key, Value value, std::chrono::milliseconds ttl,
                           std::string ns) {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  entries_.put(std::move(key), std::move(value), ttl, std::move(ns), now_ms_(), graveyard);
}

bool MemoryStore::fill_sync(std::string key, Value value, std::chrono::milliseconds ttl,
                            std::string ns, const FillToken& token) {
  Graveyard graveyard;
  std::lock_guard lock(mutex_);
  if (!generations_.current(key, token)) return false;
  entries_.put(std::move(key), std::move(value), ttl, std::move(ns), now_ms_(), graveyard);
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
                                                                   std::string ns) {
  put_sync(std::move(key), std::move(value), ttl, std::move(ns));
  co_return boost::system::error_code{};
}

boost::asio::awaitable<boost::system::error_code> MemoryStore::fill(std::string key,
                                                                    std::string value,
                                                                    std::chrono::milliseconds ttl,
                                                                    std::string ns,
                                                                    FillToken token) {
  if (!fill_sync(std::move(key), std::move(value), ttl, std::move(ns), token)) {
    co_return make_error_code(errc::fill_overtaken);
  }
  co_return boost::system::error_code{};
}

boost::asio::awaitable<boost::system::error_code> MemoryStore::fill_variant(
    VariantFill variant, std::string value, std::chrono::milliseconds ttl, std::string ns,
    FillToken token) {
  co_return co_await fill(std::move(variant.variant_key), std::move(value), ttl, std::move(ns),
                          std::move(token));
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
