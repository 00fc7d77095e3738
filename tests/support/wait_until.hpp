// Polls a condition until it holds or a deadline passes: the only way tests wait for
// something to happen (never a bare sleep as synchronisation).
#pragma once

#include <chrono>
#include <thread>

namespace cachecar::test {

// Returns true as soon as pred() is true; false if it is still false at `deadline`.
template <class Pred>
bool wait_until(Pred&& pred, std::chrono::steady_clock::time_point deadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

template <class Pred>
bool wait_until(Pred&& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  return wait_until(static_cast<Pred&&>(pred), std::chrono::steady_clock::now() + timeout, poll);
}

}  // namespace cachecar::test
