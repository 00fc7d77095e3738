#include "store/breaker_state.hpp"

namespace cachecar::store {
namespace {

int severity(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::Closed:
      return 0;
    case BreakerState::HalfOpen:
      return 1;
    case BreakerState::Open:
      return 2;
  }
  return 2;
}

}  // namespace

std::string_view to_string(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::Closed:
      return "closed";
    case BreakerState::HalfOpen:
      return "half-open";
    case BreakerState::Open:
      return "open";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, BreakerState state) {
  return os << to_string(state);
}

BreakerState worse(BreakerState a, BreakerState b) noexcept {
  return severity(b) > severity(a) ? b : a;
}

}  // namespace cachecar::store
