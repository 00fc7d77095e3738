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
    ASSERT_NE(first_port_, 0);
    ASSERT_NE(second_port_, 0);
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

  // The child binds port 0 and the test reads the port from its start-up log line: a port
  // picked for it beforehand (bound, read, released) could be taken before the child binds it.
  std::unique_ptr<ChildProcess> start(const std::string& name) {
    const auto config = dir_ / (name + ".yaml");
    std::ofstream(config)
        << "listen: \"127.0.0.1:0\"\n"
        << "threads: 2\n"
        << "upstream:\n  url: \"" << upstream_.url() << "\"\n"
        << "redis:\n  url: \"redis://127.0.0.1:" << redis_.port() << "/0\"\n  timeout: 200ms\n"
        << "admin:\n  listen: \"127.0.0.1:0\"\n"
        << "cache:\n  l1:\n    enabled: true\n    max_ttl: 60s\n"
        << "log:\n  level: info\n  access_log: false\n"
        << "rules:\n  - match: \"GET /items/{id}\"\n    ttl: 60s\n"
        << "  - match: \"PUT /items/{id}\"\n    invalidate: [\"GET /items/{id}\"]\n";
    auto process = std::make_unique<ChildProcess>(
        std::vector<std::string>{CACHECAR_BINARY_PATH, "--config", config.string()},
        ChildProcess::Env{}, dir_ / (name + ".log"));
    std::uint16_t port = 0;
    EXPECT_TRUE(wait_until(
        [&] {
          port = logged_port(process->log());
          return port != 0 || !process->running();
        },
        std::chrono::seconds(10)));
    EXPECT_NE(port, 0) << process->log();
    (name == "a" ? first_port_ : second_port_) = port;
    return process;
  }

  // The proxy port from "cachecar <version> listening on 127.0.0.1:<port> (...", 0 if not yet.
  // (A plain search: std::regex trips GCC 12's -Wmaybe-uninitialized at -O2.)
  static std::uint16_t logged_port(const std::string& log) {
    static constexpr std::string_view kListening = "listening on 127.0.0.1:";
    const auto at = log.find(kListening);
    if (at == std::string::npos) return 0;
    const auto digits = at + kListening.size();
    const auto end = log.find(' ', digits);
    if (end == std::string::npos) return 0;
    unsigned long port = 0;
    for (auto i = digits; i < end; ++i) {
      if (log[i] < '0' || log[i] > '9') return 0;
      port = port * 10 + static_cast<unsigned long>(log[i] - '0');
    }
    return static_cast<std::uint16_t>(port);
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
