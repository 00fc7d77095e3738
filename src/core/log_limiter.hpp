// Gate for logs that could repeat per request (store down, upstream down): at most one line per
// interval, counting what was suppressed. Thread-safe, lock-free.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cachecar::core {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::milliseconds interval = std::chrono::seconds(1))
      : interval_ms_(interval.count()) {}

  // True when the caller should log now; *suppressed receives how many calls were swallowed since
  // the last allowed one.
  bool allow(std::uint64_t* suppressed) noexcept {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    auto next = next_allowed_ms_.load(std::memory_order_relaxed);
    if (now < next || !next_allowed_ms_.compare_exchange_strong(next, now + interval_ms_)) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    *suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
    return true;
  }

 private:
  const std::int64_t interval_ms_;
  std::atomic<std::int64_t> next_allowed_ms_{0};
  std::atomic<std::uint64_t> suppressed_{0};
};

}  // namespace cachecar::core
