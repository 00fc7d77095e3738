// RateLimiter on Redis: one budget per key, updated by one Lua script (one round trip, atomic,
// Redis's own clock), so every cachecar instance on the Redis shares each budget. One per
// thread, over that thread's Client (the cache store's), so that an acquire and the cache
// lookup it runs beside go out in one write.
#pragma once

#include "store/rate_limiter.hpp"
#include "store/redis/client.hpp"
#include "store/redis/key_names.hpp"
#include "store/redis/redis_store.hpp"

namespace cachecar::store::redis {

// Key: names.of(name) (name = "__rl:<rule>:<identity>"), a string "<since µs> <level>" with
// PX = the time until the bucket drains (at most the window). The script is meter_request
// (store/rate_limiter.hpp) step for step, with `now` from Redis TIME: instances never disagree
// about the time. EVALSHA, with EVAL on NOSCRIPT; add script().body to Client::Options::scripts
// so that a new connection loads it up front. It runs when Redis is full (allow-oom): a full
// cache must not switch rate limiting off, and a budget is a few dozen bytes that expire.
class RedisRateLimiter final : public RateLimiter {
 public:
  // `client` must outlive the limiter; both are used on the client's executor only.
  RedisRateLimiter(Client& client, KeyNames names);

  boost::asio::awaitable<result<RateDecision>> acquire(std::string_view name, std::uint64_t limit,
                                                       std::chrono::milliseconds window) override;
  std::string_view kind() const noexcept override { return "redis"; }

  const KeyNames& names() const noexcept { return names_; }
  static const RedisStore::Script& script();

 private:
  Client& client_;
  KeyNames names_;
};

}  // namespace cachecar::store::redis
