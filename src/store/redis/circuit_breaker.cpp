#include "store/redis/circuit_breaker.hpp"

#include <algorithm>

namespace cachecar::store::redis {

CircuitBreaker::CircuitBreaker(Options options)
    : options_(options), backoff_(options.initial_backoff) {
  if (options_.failure_threshold == 0) options_.failure_threshold = 1;
}

bool CircuitBreaker::allow(TimePoint now) noexcept {
  switch (state_) {
    case State::Closed:
      return true;
    case State::HalfOpen:
      return false;
    case State::Open:
      if (now < retry_at_) return false;
      state_ = State::HalfOpen;
      return true;
  }
  return false;
}

void CircuitBreaker::on_success() noexcept {
  switch (state_) {
    case State::Closed:
      failures_ = 0;
      break;
    case State::HalfOpen:
      state_ = State::Closed;
      failures_ = 0;
      backoff_ = options_.initial_backoff;
      break;
    case State::Open:
      break;
  }
}

void CircuitBreaker::on_failure(TimePoint now) noexcept {
  switch (state_) {
    case State::Closed:
      if (++failures_ >= options_.failure_threshold) open(now);
      break;
    case State::HalfOpen:
      open(now);
      break;
    case State::Open:
      break;
  }
}

void CircuitBreaker::trip(TimePoint now) noexcept {
  if (state_ != State::Open) open(now);
}

// Each opening waits the current backoff, then doubles it for the next one (capped), so a
// server that stays down is probed at 100ms, 200ms, 400ms, ... 5s, 5s.
void CircuitBreaker::open(TimePoint now) noexcept {
  state_ = State::Open;
  failures_ = 0;
  retry_at_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

std::string_view CircuitBreaker::state_name() const noexcept {
  return to_string(state_);
}

}  // namespace cachecar::store::redis
