// In-process RateLimiter for memory://: one instance shared by all proxy threads (one mutex),
// budgets as store/rate_limiter.hpp defines them. No I/O; acquire() completes without
// suspending. Budgets live in this process only: another cachecar has its own.
#pragma once

#include "store/rate_limiter.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cachecar::store {

class MemoryRateLimiter final : public RateLimiter {
 public:
  using NowUs = std::function<std::int64_t()>;  // microseconds, any epoch, never going back

  // Clients may invent identities (header values) at will: at most this many budgets are
  // kept; beyond it (after dropping the drained ones) a new identity's acquire fails, and the
  // rule's `fail` mode decides.
  static constexpr std::size_t kDefaultMaxBuckets = 1'000'000;

  static std::int64_t steady_now_us();

  explicit MemoryRateLimiter(std::size_t max_buckets = kDefaultMaxBuckets,
                             NowUs now_us = &MemoryRateLimiter::steady_now_us);

  boost::asio::awaitable<result<RateDecision>> acquire(std::string_view name, std::uint64_t limit,
                                                       std::chrono::milliseconds window) override;
  std::string_view kind() const noexcept override { return "memory"; }

  // The step acquire() takes, for tests and tools. Errors: errc::store_unavailable (full).
  result<RateDecision> acquire_sync(std::string_view name, std::uint64_t limit,
                                    std::chrono::milliseconds window);
  std::size_t size() const;  // budgets held (drained ones included until the next sweep)

 private:
  struct Budget {
    RateBucket bucket;
    std::int64_t drained_at_us = 0;  // when the bucket is empty: it may be forgotten
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // Forgets every drained budget; run when the table has doubled since the last sweep, so the
  // cost per acquire stays constant.
  void sweep(std::int64_t now_us);

  const std::size_t max_buckets_;
  const NowUs now_us_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Budget, NameHash, std::equal_to<>> budgets_;
  std::size_t sweep_at_ = 1024;
};

}  // namespace cachecar::store
