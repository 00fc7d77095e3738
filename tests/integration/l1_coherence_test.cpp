// The L1 tier never serves an entry invalidated through another cachecar instance sharing the
// Redis: two real cachecar processes, one Redis, writes through one, reads through the other.
#include "support/http_client.hpp"
#include "support/http_upstream.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

namespace cachecar::test {
namespace {

namespace fs = std::filesystem;

class L1CoherenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cachecar-l1-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    upstream_.on("/items/1", [this](const SeenRequest& request, std::size_t) {
      if (request.method == "PUT") ++version_;
      return StubReply{.body = "{\"version\": " + std::to_string(version_.load()) + "}"};
    });
    first_ = start("a");
    second_ = start("b");
    // L1 serves only once its invalidation channel is subscribed: wait for an L1 hit on each.
    for (auto port : {first_port_, second_port_}) {
      ASSERT_TRUE(wait_until([&] { return get(port).header("Cache-Status") == kL1Hit; },
                             std::chrono::seconds(10)));
    }
  }

  void TearDown() override {
    first_.reset();
    second_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::unique_ptr<ChildProcess> start(const std::string& name) {
    const auto port = free_port();
    (name == "a" ? first_port_ : second_port_) = port;
    const auto config = dir_ / (name + ".yaml");
    std::ofstream(config)
        << "listen: \"127.0.0.1:" << port << "\"\n"
        << "threads: 2\n"
        << "upstream:\n  url: \"" << upstream_.url() << "\"\n"
        << "redis:\n  url: \"redis://127.0.0.1:" << redis_.port() << "/0\"\n  timeout: 200ms\n"
        << "admin:\n  listen: \"127.0.0.1:" << free_port() << "\"\n"
        << "cache:\n  l1:\n    enabled: true\n    max_ttl: 60s\n"
        << "log:\n  level: warn\n  access_log: false\n"
        << "rules:\n  - match: \"GET /items/{id}\"\n    ttl: 60s\n"
        << "  - match: \"PUT /items/{id}\"\n    invalidate: [\"GET /items/{id}\"]\n";
    auto process = std::make_unique<ChildProcess>(
        std::vector<std::string>{CACHECAR_BINARY_PATH, "--config", config.string()},
        ChildProcess::Env{}, dir_ / (name + ".log"));
    EXPECT_TRUE(wait_until(
        [&] {
          try {
            HttpClient probe(port, std::chrono::seconds(1));
            return true;
          } catch (const std::exception&) {
            return false;
          }
        },
        std::chrono::seconds(10)))
        << process->log();
    return process;
  }

  HttpResponse get(std::uint16_t port) { return http_get(port, "/items/1"); }

  static constexpr const char* kL1Hit = "cachecar; hit; detail=l1";
  fs::path dir_;
  RedisServer redis_;
  UpstreamStub upstream_;
  std::atomic<int> version_{1};
  std::uint16_t first_port_ = 0, second_port_ = 0;
  std::unique_ptr<ChildProcess> first_, second_;
};

TEST_F(L1CoherenceTest, AWriteThroughOneInstanceIsSeenAtOnceThroughTheOther) {
  for (int round = 0; round < 20; ++round) {
    // Both instances hold the current version in L1.
    ASSERT_EQ(get(first_port_).header("Cache-Status"), kL1Hit);
    ASSERT_EQ(get(second_port_).header("Cache-Status"), kL1Hit);
    const auto write = http_request(first_port_, "PUT", "/items/1", {}, "{}");
    ASSERT_EQ(write.status, 200);
    const std::string expected = "{\"version\": " + std::to_string(version_.load()) + "}";
    // Immediately, through the other instance: never the old version.
    const auto read = get(second_port_);
    EXPECT_EQ(read.body, expected) << "round " << round << ": " << read.header("Cache-Status");
    EXPECT_NE(read.header("Cache-Status"), kL1Hit);
    EXPECT_EQ(get(first_port_).body, expected);
    // Refill both L1s for the next round.
    ASSERT_TRUE(wait_until([&] { return get(first_port_).header("Cache-Status") == kL1Hit; },
                           std::chrono::seconds(5)));
    ASSERT_TRUE(wait_until([&] { return get(second_port_).header("Cache-Status") == kL1Hit; },
                           std::chrono::seconds(5)));
  }
}

// A miss in one instance that a write through the other overtook (the upstream answered the
// miss before the write) must not keep its pre-write response: the store refuses the put,
// because the fill token read with the lookup predates the write's erase.
TEST_F(L1CoherenceTest, AMissOvertakenByAWriteThroughTheOtherInstanceIsNotKept) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  upstream_.on("/items/2", [release](const SeenRequest& request, std::size_t) {
    const bool early = request.method == "GET" && !release->load();
    StubReply reply{.body = early ? "{\"v\": \"before\"}" : "{\"v\": \"after\"}"};
    if (early) reply.hold = release;
    return reply;
  });
  HttpResponse slow;
  std::thread reader([&] { slow = http_get(second_port_, "/items/2"); });
  ASSERT_TRUE(
      wait_until([&] { return upstream_.requests("/items/2") == 1; }, std::chrono::seconds(10)));
  ASSERT_EQ(http_request(first_port_, "PUT", "/items/2", {}, "{}").status, 200);
  release->store(true);
  reader.join();
  EXPECT_EQ(slow.body, "{\"v\": \"before\"}");
  EXPECT_EQ(slow.header("Cache-Status"), "cachecar; fwd=miss; detail=overtaken-by-write");
  for (auto port : {second_port_, first_port_}) {
    const auto next = http_get(port, "/items/2");
    EXPECT_EQ(next.body, "{\"v\": \"after\"}") << next.header("Cache-Status");
  }
}

TEST_F(L1CoherenceTest, LosingTheChannelEmptiesL1UntilItIsBack) {
  redis_.kill();
  // Without its invalidation channel an instance must stop serving from L1 (the upstream
  // answers instead), and keep answering.
  for (auto port : {first_port_, second_port_}) {
    EXPECT_TRUE(wait_until([&] { return get(port).header("Cache-Status") != kL1Hit; },
                           std::chrono::seconds(5)));
    EXPECT_EQ(get(port).status, 200);
  }
  redis_.restart();
  for (auto port : {first_port_, second_port_}) {
    EXPECT_TRUE(wait_until([&] { return get(port).header("Cache-Status") == kL1Hit; },
                           std::chrono::seconds(15)));
  }
}

}  // namespace
}  // namespace cachecar::test
