#include "store/cache_store.hpp"

namespace cachecar::store {

namespace asio = boost::asio;

// transitional: removed when proxy/ uses lookup_for_fill
asio::awaitable<result<Value>> CacheStore::get(std::string key, FillToken* token) {
  if (token == nullptr) co_return co_await get(std::move(key));
  auto found = co_await lookup_for_fill(std::move(key));
  if (!found) co_return found.error();
  if (!found->value) *token = std::move(found->token);
  co_return std::move(found->value);
}

// transitional: removed when proxy/ uses lookup_for_fill
asio::awaitable<boost::system::error_code> CacheStore::put(std::string key, std::string value,
                                                           std::chrono::milliseconds ttl,
                                                           std::string ns, const FillToken* token) {
  if (token == nullptr || token->empty()) {
    co_return co_await put(std::move(key), std::move(value), ttl, std::move(ns));
  }
  FillToken copy = *token;
  co_return co_await fill(std::move(key), std::move(value), ttl, std::move(ns), std::move(copy));
}

}  // namespace cachecar::store
