#include "core/idle_trigger.hpp"

#include <gtest/gtest.h>

namespace cachecar::core {
namespace {

TEST(IdleTrigger, FiresOnceAfterEachBurstOfActivity) {
  IdleTrigger trigger(0);
  EXPECT_FALSE(trigger.observe(0));  // idle since start: nothing to react to
  EXPECT_FALSE(trigger.observe(0));
  EXPECT_FALSE(trigger.observe(40));  // busy
  EXPECT_FALSE(trigger.observe(95));  // still busy
  EXPECT_TRUE(trigger.observe(95));   // quiet for one interval: now
  EXPECT_FALSE(trigger.observe(95));  // once per idle period
  EXPECT_FALSE(trigger.observe(96));
  EXPECT_TRUE(trigger.observe(96));
}

}  // namespace
}  // namespace cachecar::core
