#include "store/memory_rate_limiter.hpp"

#include <algorithm>

namespace cachecar::store {

std::int64_t MemoryRateLimiter::steady_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

MemoryRateLimiter::MemoryRateLimiter(std::size_t max_buckets, NowUs now_us)
    : max_buckets_(std::max<std::size_t>(max_buckets, 1)),
      now_us_(now_us ? std::move(now_us) : NowUs(&MemoryRateLimiter::steady_now_us)) {}

boost::asio::awaitable<result<RateDecision>> MemoryRateLimiter::acquire(
    std::string_view name, std::uint64_t limit, std::chrono::milliseconds window) {
  co_return acquire_sync(name, limit, window);
}

result<RateDecision> MemoryRateLimiter::acquire_sync(std::string_view name, std::uint64_t limit,
                                                     std::chrono::milliseconds window) {
  const std::int64_t now = now_us_();
  std::lock_guard lock(mutex_);
  auto it = budgets_.find(name);
  if (it == budgets_.end()) {
    if (budgets_.size() >= sweep_at_ || budgets_.size() >= max_buckets_) sweep(now);
    if (budgets_.size() >= max_buckets_) return errc::store_unavailable;
    it = budgets_.emplace(std::string(name), Budget{}).first;
  }
  auto& budget = it->second;
  const auto decision = meter_request(budget.bucket, now, limit, window);
  if (decision.allowed) {
    budget.drained_at_us = now + std::chrono::duration_cast<std::chrono::microseconds>(
                                     drain_time(budget.bucket.level, limit, window))
                                     .count();
  }
  return decision;
}

std::size_t MemoryRateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return budgets_.size();
}

void MemoryRateLimiter::sweep(std::int64_t now_us) {
  std::erase_if(budgets_,
                [now_us](const auto& entry) { return entry.second.drained_at_us <= now_us; });
  sweep_at_ = std::max<std::size_t>(2 * budgets_.size(), 1024);
}

}  // namespace cachecar::store
