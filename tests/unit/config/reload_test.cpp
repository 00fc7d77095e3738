// What a reload applies and what it keeps: config::keep_restart_only over two loaded files.
#include "config/reload.hpp"

#include "support/case_name.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace cachecar::config {
namespace {

using std::chrono::milliseconds;
using Names = std::vector<std::string>;

Config load(const std::string& yaml) {
  return load_config_text(yaml, "reload.yaml", [](std::string_view) { return std::nullopt; });
}

// Every restart-only setting at a non-default value, so that changing one is visible.
std::string base_yaml(const std::string& extra = {}) {
  return "listen: \"127.0.0.1:9000\"\n"
         "threads: 2\n"
         "upstream:\n"
         "  url: \"http://127.0.0.1:8000/v1\"\n"
         "  connect_timeout: 1s\n"
         "  timeout: 5s\n"
         "  max_idle_connections: 8\n"
         "redis:\n"
         "  url: \"redis://:pw@127.0.0.1:6380/1\"\n"
         "  key_prefix: \"cc:\"\n"
         "  timeout: 200ms\n"
         "  connections: 2\n"
         "admin:\n"
         "  listen: \"127.0.0.1:9001\"\n"
         "cache:\n"
         "  max_pending_invalidations: 100\n"
         "  key_hash: none\n"
         "  l1:\n"
         "    enabled: true\n"
         "    max_bytes: 1MiB\n"
         "    max_ttl: 10s\n" +
         extra;
}

struct RestartOnlyCase {
  std::string name;
  std::string from;  // a line of base_yaml()
  std::string to;    // what it becomes in the reloaded file
  Names not_applied;
};

std::ostream& operator<<(std::ostream& os, const RestartOnlyCase& c) {
  return os << c.name;
}

class RestartOnly : public ::testing::TestWithParam<RestartOnlyCase> {};

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST_P(RestartOnly, IsNamedAndKeepsItsRunningValue) {
  const auto& c = GetParam();
  const Config running = load(base_yaml());
  Config next = load(replaced(base_yaml(), c.from, c.to));
  EXPECT_EQ(keep_restart_only(running, next), c.not_applied);
  // What is left to apply is the running configuration again: the next reload of the same file
  // names the setting again, and nothing else.
  Config again = next;
  EXPECT_EQ(keep_restart_only(running, again), Names{});
  EXPECT_EQ(next.listen.to_string(), running.listen.to_string());
  EXPECT_EQ(next.threads, running.threads);
  EXPECT_EQ(next.upstream.url, running.upstream.url);
  EXPECT_EQ(next.upstream.address.to_string(), running.upstream.address.to_string());
  EXPECT_EQ(next.upstream.base_path, running.upstream.base_path);
  EXPECT_EQ(next.upstream.connect_timeout, running.upstream.connect_timeout);
  EXPECT_EQ(next.upstream.max_idle_connections, running.upstream.max_idle_connections);
  EXPECT_EQ(next.store.url, running.store.url);
  EXPECT_EQ(next.store.password, running.store.password);
  EXPECT_EQ(next.store.key_prefix, running.store.key_prefix);
  EXPECT_EQ(next.store.key_hash, running.store.key_hash);
  EXPECT_EQ(next.store.timeout, running.store.timeout);
  EXPECT_EQ(next.store.connections, running.store.connections);
  EXPECT_EQ(next.admin.listen.to_string(), running.admin.listen.to_string());
  EXPECT_EQ(next.l1.enabled, running.l1.enabled);
  EXPECT_EQ(next.l1.max_bytes, running.l1.max_bytes);
  EXPECT_EQ(next.l1.max_ttl, running.l1.max_ttl);
  EXPECT_EQ(next.max_pending_invalidations, running.max_pending_invalidations);
}

INSTANTIATE_TEST_SUITE_P(
    Reload, RestartOnly,
    ::testing::Values(
        RestartOnlyCase{
            "listen", "listen: \"127.0.0.1:9000\"", "listen: \"127.0.0.1:9100\"", {"listen"}},
        RestartOnlyCase{"threads", "threads: 2", "threads: 3", {"threads"}},
        RestartOnlyCase{"threads_auto", "threads: 2", "threads: auto", {"threads"}},
        RestartOnlyCase{"upstream_port",
                        "http://127.0.0.1:8000/v1",
                        "http://127.0.0.1:8001/v1",
                        {"upstream.url"}},
        RestartOnlyCase{"upstream_base_path",
                        "http://127.0.0.1:8000/v1",
                        "http://127.0.0.1:8000/v2",
                        {"upstream.url"}},
        RestartOnlyCase{"upstream_connect_timeout",
                        "connect_timeout: 1s",
                        "connect_timeout: 2s",
                        {"upstream.connect_timeout"}},
        RestartOnlyCase{"upstream_idle",
                        "max_idle_connections: 8",
                        "max_idle_connections: 9",
                        {"upstream.max_idle_connections"}},
        RestartOnlyCase{"redis_url", "127.0.0.1:6380/1", "127.0.0.1:6381/1", {"redis.url"}},
        RestartOnlyCase{"redis_db", "127.0.0.1:6380/1", "127.0.0.1:6380/2", {"redis.url"}},
        RestartOnlyCase{"redis_password", "redis://:pw@", "redis://:other@", {"redis.url"}},
        RestartOnlyCase{
            "redis_key_prefix", "key_prefix: \"cc:\"", "key_prefix: \"dd:\"", {"redis.key_prefix"}},
        RestartOnlyCase{"redis_timeout", "  timeout: 200ms", "  timeout: 300ms", {"redis.timeout"}},
        RestartOnlyCase{
            "redis_connections", "connections: 2", "connections: 3", {"redis.connections"}},
        RestartOnlyCase{"admin_listen", "127.0.0.1:9001", "127.0.0.1:9002", {"admin.listen"}},
        RestartOnlyCase{"l1_enabled", "enabled: true", "enabled: false", {"cache.l1.enabled"}},
        RestartOnlyCase{
            "l1_max_bytes", "max_bytes: 1MiB", "max_bytes: 2MiB", {"cache.l1.max_bytes"}},
        RestartOnlyCase{"l1_max_ttl", "max_ttl: 10s", "max_ttl: 20s", {"cache.l1.max_ttl"}},
        RestartOnlyCase{"max_pending",
                        "max_pending_invalidations: 100",
                        "max_pending_invalidations: 200",
                        {"cache.max_pending_invalidations"}},
        // Every Redis key name changes with it: it applies at the next start only.
        RestartOnlyCase{"key_hash", "key_hash: none", "key_hash: sha256", {"cache.key_hash"}}),
    test::CaseName{});

TEST(Reload, SeveralRestartOnlySettingsAreNamedInAFixedOrder) {
  const Config running = load(base_yaml());
  std::string text = replaced(base_yaml(), "threads: 2", "threads: 4");
  text = replaced(text, "127.0.0.1:9001", "127.0.0.1:9002");
  text = replaced(text, "127.0.0.1:6380/1", "127.0.0.1:6381/1");
  text = replaced(text, "listen: \"127.0.0.1:9000\"", "listen: \"127.0.0.1:9100\"");
  Config next = load(text);
  EXPECT_EQ(keep_restart_only(running, next),
            (Names{"listen", "threads", "redis.url", "admin.listen"}));
}

TEST(Reload, TheSameFileNamesNothing) {
  const Config running = load(base_yaml());
  Config next = load(base_yaml());
  EXPECT_EQ(keep_restart_only(running, next), Names{});
}

TEST(Reload, LiveSettingsAreAppliedAndNotNamed) {
  const Config running =
      load(base_yaml("  default_ttl: 30s\n"
                     "log:\n  level: info\n"
                     "rules:\n  - match: \"GET /a/{id}\"\n    ttl: 10s\n"));
  // upstream.timeout, the rules, the TTLs, log, limits, trusted proxies, the bypass, hosts and
  // the admin token all change live.
  std::string text = replaced(base_yaml(), "  timeout: 5s", "  timeout: 7s");
  text = replaced(text, "admin:\n", "admin:\n  token: \"t0ken\"\n");
  text +=
      "  default_ttl: 45s\n"
      "  coalesce_wait: 1s\n"
      "  bypass_param: fresh\n"
      "  hosts:\n    api.example.com: [api]\n"
      "log:\n  level: debug\n  format: json\n  access_log: false\n"
      "limits:\n  max_header_size: 8KiB\n  client_idle_timeout: 5s\n"
      "trusted_proxies: [10.0.0.0/8]\n"
      "rules:\n  - match: \"GET /a/{id}\"\n    ttl: 20s\n  - match: \"GET /b\"\n    ttl: 1s\n";
  Config next = load(text);
  EXPECT_EQ(keep_restart_only(running, next), Names{});
  EXPECT_EQ(next.upstream.timeout, milliseconds(7'000));
  EXPECT_EQ(next.admin.token, "t0ken");
  EXPECT_EQ(next.cache.default_ttl, milliseconds(45'000));
  EXPECT_EQ(next.coalesce_wait, milliseconds(1'000));
  EXPECT_EQ(next.bypass_param, "fresh");
  EXPECT_TRUE(next.hosts.canonical("api").has_value());
  EXPECT_EQ(next.log.level, "debug");
  EXPECT_EQ(next.log.format, "json");
  EXPECT_FALSE(next.log.access_log);
  EXPECT_EQ(next.limits.max_header_bytes, 8U * 1024);
  EXPECT_EQ(next.limits.client_idle_timeout, milliseconds(5'000));
  EXPECT_TRUE(next.trusted_proxies.contains("10.1.2.3"));
  ASSERT_EQ(next.rules.rules().size(), 2U);
  EXPECT_EQ(next.rules.rules()[0].ttl, milliseconds(20'000));
}

}  // namespace
}  // namespace cachecar::config
