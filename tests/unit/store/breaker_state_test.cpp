#include "store/breaker_state.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace cachecar::store {
namespace {

TEST(BreakerState, NamesAreTheHealthAndMetricsLabels) {
  EXPECT_EQ(to_string(BreakerState::Closed), "closed");
  EXPECT_EQ(to_string(BreakerState::HalfOpen), "half-open");
  EXPECT_EQ(to_string(BreakerState::Open), "open");
  std::ostringstream os;
  os << BreakerState::HalfOpen;
  EXPECT_EQ(os.str(), "half-open");
}

TEST(BreakerState, WorseRanksOpenOverHalfOpenOverClosed) {
  using enum BreakerState;
  EXPECT_EQ(worse(Closed, Closed), Closed);
  EXPECT_EQ(worse(Closed, HalfOpen), HalfOpen);
  EXPECT_EQ(worse(HalfOpen, Closed), HalfOpen);
  EXPECT_EQ(worse(HalfOpen, Open), Open);
  EXPECT_EQ(worse(Open, HalfOpen), Open);
  EXPECT_EQ(worse(Closed, Open), Open);
  EXPECT_EQ(worse(Open, Closed), Open);
}

}  // namespace
}  // namespace cachecar::store
