#include "store/cache_store.hpp"

namespace cachecar::store {

boost::asio::awaitable<result<std::optional<TimedValue>>> CacheStore::get_timed(std::string key) {
  auto found = co_await get(std::move(key));
  if (!found) co_return found.error();
  if (!*found) co_return std::optional<TimedValue>();
  co_return std::optional<TimedValue>(TimedValue{std::move(**found), {}});
}

}  // namespace cachecar::store
