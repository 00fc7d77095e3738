// Shared by the Redis conformance tests: a real redis-server per test and an io_context for
// the clients under test.
#pragma once

#include "support/redis_server.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>

namespace cachecar::test {

class RedisServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::binary()) GTEST_SKIP() << "redis-server is not installed";
    server_ = std::make_unique<RedisServer>();
  }

  // Lets clients finish their background work (closes, reconnect timers) before they go.
  void drain_context() {
    ctx_.restart();
    ctx_.run_for(std::chrono::seconds(5));
  }

  boost::asio::io_context ctx_;  // declared first: destroyed after the derived fixture's clients
  std::unique_ptr<RedisServer> server_;
};

}  // namespace cachecar::test
