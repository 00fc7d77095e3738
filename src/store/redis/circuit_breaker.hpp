// Circuit breaker for the Redis client: a pure state machine, time is passed in (no Asio, no
// clock reads), so every transition is unit-testable. Not thread-safe: one per client/thread.
#pragma once

#include "store/breaker_state.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace cachecar::store::redis {

// Closed --(N consecutive failures, or trip())--> Open --(backoff elapsed, allow())--> HalfOpen
// HalfOpen: exactly one probe is allowed; its success closes the breaker and resets the
// backoff, its failure re-opens it with the backoff doubled (capped).
class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  using State = BreakerState;

  struct Options {
    std::uint32_t failure_threshold = 3;  // consecutive failures that open a closed breaker
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
  };

  CircuitBreaker() : CircuitBreaker(Options{}) {}
  explicit CircuitBreaker(Options options);

  // Whether a request may proceed now. Closed: always. Open: false until the backoff has
  // elapsed; then the breaker becomes HalfOpen and this call is the one probe (true).
  // HalfOpen: false while the probe is outstanding.
  bool allow(TimePoint now) noexcept;

  // Outcome of a request. Closed: success resets the failure count; failures count towards
  // the threshold. HalfOpen: decides the probe. Open: ignored (late results of old requests).
  void on_success() noexcept;
  void on_failure(TimePoint now) noexcept;

  // Opens immediately (connection loss). No-op when already Open; in HalfOpen it counts as
  // the probe failing.
  void trip(TimePoint now) noexcept;

  State state() const noexcept { return state_; }
  std::string_view state_name() const noexcept;
  // When an Open breaker lets the next probe through (meaningless in other states).
  TimePoint retry_at() const noexcept { return retry_at_; }
  std::uint32_t consecutive_failures() const noexcept { return failures_; }

 private:
  void open(TimePoint now) noexcept;

  Options options_;
  State state_ = State::Closed;
  std::uint32_t failures_ = 0;
  std::chrono::milliseconds backoff_;
  TimePoint retry_at_{};
};

}  // namespace cachecar::store::redis
