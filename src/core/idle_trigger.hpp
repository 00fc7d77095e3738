// Fires once per idle period: fed a monotonic activity count at regular intervals, it says
// "now" the first time the count has not moved since the previous sample after it last moved.
// Pure; the caller owns the clock.
#pragma once

#include <cstdint>

namespace cachecar::core {

class IdleTrigger {
 public:
  explicit IdleTrigger(std::uint64_t initial_activity = 0) : last_(initial_activity) {}

  bool observe(std::uint64_t activity) noexcept {
    if (activity != last_) {
      last_ = activity;
      fired_ = false;
      return false;
    }
    if (fired_) return false;
    fired_ = true;
    return true;
  }

 private:
  std::uint64_t last_;
  bool fired_ = true;  // nothing has happened yet: there is nothing to react to
};

}  // namespace cachecar::core
