// Hot reload of the real binary: SIGHUP and POST /config/reload re-read the configuration file;
// new requests get the new rules while open connections and the cache stay, settings that need
// a restart are named and kept, and a file that does not load keeps the running configuration.
#include "support/http_client.hpp"
#include "support/http_upstream.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <unistd.h>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace cachecar::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr auto kLiveness = std::chrono::seconds(20);

struct Settings {
  std::string rules = "  - match: \"GET /api/a\"\n    ttl: 60s\n";
  std::string token = "first-token";
  unsigned threads = 1;
  std::string log_level = "info";
};

class ConfigReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cachecar-reload-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
    proxy_port_ = free_port();
    admin_port_ = free_port();
    write_config(Settings{});
    cachecar_.emplace(std::vector<std::string>{CACHECAR_BINARY_PATH, "--config", config_path()},
                      ChildProcess::Env{}, dir_ / "cachecar.log");
    ASSERT_TRUE(wait_until([&] { return answers(admin_port_, "/health"); }, kLiveness))
        << cachecar_->log();
  }

  void TearDown() override {
    cachecar_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string config_path() const { return (dir_ / "cachecar.yaml").string(); }

  void write_config(const Settings& s) {
    std::ofstream out(config_path(), std::ios::trunc);
    out << "listen: \"127.0.0.1:" << proxy_port_ << "\"\n"
        << "threads: " << s.threads << "\n"
        << "upstream:\n  url: \"" << upstream_.url() << "\"\n"
        << "redis:\n  url: \"redis://127.0.0.1:" << redis_.port() << "/0\"\n"
        << "admin:\n  listen: \"127.0.0.1:" << admin_port_ << "\"\n  token: \"" << s.token << "\"\n"
        << "log:\n  level: " << s.log_level << "\n"
        << "rules:\n"
        << s.rules;
  }

  // The 1-based line of the file that contains `text`, 0 if none does.
  int line_of(const std::string& text) const {
    std::ifstream in(config_path());
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (line.find(text) != std::string::npos) return number;
    }
    return 0;
  }

  static bool answers(std::uint16_t port, const std::string& target) {
    try {
      return http_get(port, target).status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }

  std::string metrics() { return http_get(admin_port_, "/metrics").body; }
  double reloads() { return metric_value(metrics(), "cachecar_config_reloads_total"); }
  double reload_failures() {
    return metric_value(metrics(), "cachecar_config_reload_failures_total");
  }
  double last_success() {
    return metric_value(metrics(), "cachecar_config_last_reload_success_timestamp_seconds");
  }

  HttpResponse post_reload(const std::string& token) {
    return http_request(admin_port_, "POST", "/config/reload",
                        {{"Authorization", "Bearer " + token}});
  }

  // SIGHUP, then waits until the reload was applied (`applied`) or refused: each moves its
  // counter once its log lines are written.
  void sighup_and_wait(bool applied) {
    const double before = applied ? reloads() : reload_failures();
    cachecar_->signal(SIGHUP);
    ASSERT_TRUE(wait_until([&] { return (applied ? reloads() : reload_failures()) == before + 1; },
                           kLiveness))
        << cachecar_->log();
  }

  RedisServer redis_;
  UpstreamStub upstream_;
  fs::path dir_;
  std::uint16_t proxy_port_ = 0;
  std::uint16_t admin_port_ = 0;
  std::optional<ChildProcess> cachecar_;
  static inline int counter_ = 0;
};

TEST_F(ConfigReloadTest, SighupAppliesNewRulesKeepingOpenConnectionsAndTheCache) {
  HttpClient client(proxy_port_);  // one keep-alive connection across the reload
  EXPECT_EQ(client.get("/api/a").header("X-Cache"), "MISS");
  EXPECT_EQ(client.get("/api/a").header("X-Cache"), "HIT");
  client.get("/api/b");
  EXPECT_NE(client.get("/api/b").header("X-Cache"), "HIT");  // no rule caches it yet
  ASSERT_EQ(upstream_.requests("/api/b"), 2u);

  Settings next;
  next.rules += "  - match: \"GET /api/b\"\n    ttl: 60s\n";
  write_config(next);
  sighup_and_wait(true);

  // The same connection, after the reload: the cache survived and the new rule applies.
  EXPECT_EQ(client.get("/api/a").header("X-Cache"), "HIT");
  EXPECT_EQ(client.get("/api/b").header("X-Cache"), "MISS");
  EXPECT_EQ(client.get("/api/b").header("X-Cache"), "HIT");
  EXPECT_EQ(upstream_.requests("/api/a"), 1u);
  EXPECT_EQ(upstream_.requests("/api/b"), 3u);
  EXPECT_TRUE(cachecar_->running());
}

TEST_F(ConfigReloadTest, RemovedRuleStopsCachingForNewRequests) {
  EXPECT_EQ(http_get(proxy_port_, "/api/a").header("X-Cache"), "MISS");
  EXPECT_EQ(http_get(proxy_port_, "/api/a").header("X-Cache"), "HIT");

  Settings next;
  next.rules = "  - match: \"GET /api/other\"\n    ttl: 60s\n";
  write_config(next);
  sighup_and_wait(true);

  // No rule matches /api/a any more: it is forwarded, whatever the store still holds.
  const auto response = http_get(proxy_port_, "/api/a");
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.header("X-Cache"), "HIT");
  EXPECT_EQ(upstream_.requests("/api/a"), 2u);
}

TEST_F(ConfigReloadTest, AdminReloadNamesSettingsThatNeedARestartAndAppliesTheToken) {
  Settings next;
  next.threads = 2;  // restart-only
  next.token = "second-token";
  next.rules += "  - match: \"GET /api/b\"\n    ttl: 60s\n";
  write_config(next);

  // Token-guarded like every admin write.
  EXPECT_EQ(http_request(admin_port_, "POST", "/config/reload").status, 401);
  EXPECT_EQ(reloads(), 0);

  const auto response = post_reload("first-token");
  ASSERT_EQ(response.status, 200) << response.body;
  const auto body = json::parse(response.body).as_object();
  EXPECT_EQ(body.at("reloaded"), true);
  const auto& not_applied = body.at("not_applied").as_array();
  ASSERT_EQ(not_applied.size(), 1u) << response.body;
  EXPECT_EQ(not_applied[0], "threads");
  EXPECT_EQ(reloads(), 1);
  EXPECT_NE(cachecar_->log().find("threads"), std::string::npos) << cachecar_->log();

  // The new token is the one that counts now; the old one is refused.
  EXPECT_EQ(post_reload("first-token").status, 401);
  EXPECT_EQ(post_reload("second-token").status, 200);
  // And the rule added with it applies.
  EXPECT_EQ(http_get(proxy_port_, "/api/b").header("X-Cache"), "MISS");
  EXPECT_EQ(http_get(proxy_port_, "/api/b").header("X-Cache"), "HIT");
}

TEST_F(ConfigReloadTest, InvalidFileKeepsTheRunningConfiguration) {
  EXPECT_EQ(http_get(proxy_port_, "/api/a").header("X-Cache"), "MISS");
  const double loaded_at = last_success();
  ASSERT_GT(loaded_at, 0);

  Settings broken;
  broken.rules = "  - match: \"GET /api/a\"\n    ttl: soon\n";
  write_config(broken);
  const std::string where = "cachecar.yaml:" + std::to_string(line_of("ttl: soon"));
  const auto response = post_reload("first-token");
  EXPECT_EQ(response.status, 422) << response.body;
  const auto body = json::parse(response.body).as_object();
  EXPECT_EQ(body.at("reloaded"), false);
  const std::string error(body.at("error").as_string());
  EXPECT_NE(error.find(where), std::string::npos) << error;
  EXPECT_NE(error.find("ttl"), std::string::npos) << error;
  EXPECT_EQ(reload_failures(), 1);
  EXPECT_EQ(reloads(), 0);
  EXPECT_EQ(last_success(), loaded_at);

  // A SIGHUP with the same file: refused too, logged with the file and line.
  sighup_and_wait(false);
  EXPECT_NE(cachecar_->log().find(where), std::string::npos) << cachecar_->log();

  // Still the running configuration: same rules, same token, nothing dropped.
  EXPECT_EQ(http_get(proxy_port_, "/api/a").header("X-Cache"), "HIT");
  EXPECT_EQ(upstream_.requests("/api/a"), 1u);
  write_config(Settings{});
  EXPECT_EQ(post_reload("first-token").status, 200);
  EXPECT_GE(last_success(), loaded_at);
  EXPECT_TRUE(cachecar_->running());
}

}  // namespace
}  // namespace cachecar::test
