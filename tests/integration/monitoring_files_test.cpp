// The shipped dashboard (deploy/grafana/cachecar.json) and alerts (deploy/prometheus/): they
// parse, promtool accepts and unit-tests the rules, and every metric they name is one a real
// cachecar exposes on /metrics.
#include "integration/harness.hpp"
#include "support/process.hpp"
#include "support/prometheus_text.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace cachecar::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kDeploy = fs::path(CACHECAR_SOURCE_DIR) / "deploy";

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The metric families a PromQL expression names (a histogram's _bucket/_sum/_count series
// belong to the family without the suffix).
std::set<std::string> metric_families(const std::string& expr) {
  const auto is_name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  };
  std::set<std::string> names;
  for (auto at = expr.find("cachecar_"); at != std::string::npos; at = expr.find("cachecar_", at)) {
    auto end = at;
    while (end < expr.size() && is_name_char(expr[end])) ++end;
    std::string name = expr.substr(at, end - at);
    at = end;
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) {
        name.resize(name.size() - suffix.size());
        break;
      }
    }
    names.insert(name);
  }
  return names;
}

// The families a real cachecar with Redis exposes after traffic that touches every part: a
// miss, a hit, a write's invalidation, an upstream error.
std::set<std::string> exposed_families() {
  Harness h{HarnessOptions{.rules = "  - match: \"GET /api/items/{id}\"\n"
                                    "    ttl: 60s\n"
                                    "  - match: \"PUT /api/items/{id}\"\n"
                                    "    invalidate: [\"GET /api/items/{id}\"]\n"}};
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  EXPECT_EQ(h.request("PUT", "/api/items/1", {}, "{}").status, 200);
  const auto text = h.admin("GET", "/metrics").body;
  std::set<std::string> families;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    families.insert(line.substr(7, line.find(' ', 7) - 7));
  }
  return families;
}

void expect_exposed(const std::set<std::string>& named, const std::string& where) {
  static const std::set<std::string> exposed = exposed_families();
  ASSERT_FALSE(exposed.empty());
  for (const auto& name : named) {
    EXPECT_TRUE(exposed.contains(name)) << where << " names " << name << ", which /metrics lacks";
  }
}

TEST(MonitoringFilesTest, DashboardParsesAndNamesOnlyExposedMetrics) {
  const auto dashboard = json::parse(read_file(kDeploy / "grafana/cachecar.json")).as_object();
  EXPECT_EQ(dashboard.at("uid"), "cachecar");
  const auto& panels = dashboard.at("panels").as_array();
  ASSERT_GE(panels.size(), 10u);
  std::set<std::string> named;
  for (const auto& panel : panels) {
    const auto& object = panel.as_object();
    const std::string title(object.at("title").as_string());
    const auto& targets = object.at("targets").as_array();
    ASSERT_FALSE(targets.empty()) << title;
    for (const auto& target : targets) {
      const std::string expr(target.as_object().at("expr").as_string());
      const auto families = metric_families(expr);
      EXPECT_FALSE(families.empty()) << title << ": " << expr;
      expect_exposed(families, "panel \"" + title + "\"");
      named.insert(families.begin(), families.end());
    }
  }
  // What the dashboard is for: each of these has a panel.
  for (const std::string needed :
       {"cachecar_requests_total", "cachecar_request_duration_seconds",
        "cachecar_upstream_errors_total", "cachecar_redis_command_duration_seconds",
        "cachecar_redis_circuit_breaker_state", "cachecar_pending_invalidations",
        "cachecar_cache_stored_body_bytes"}) {
    EXPECT_TRUE(named.contains(needed)) << "no panel shows " << needed;
  }
}

TEST(MonitoringFilesTest, AlertsNameOnlyExposedMetrics) {
  const auto rules = YAML::LoadFile((kDeploy / "prometheus/alerts.yml").string());
  std::set<std::string> alerts;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      const auto name = rule["alert"].as<std::string>();
      alerts.insert(name);
      expect_exposed(metric_families(rule["expr"].as<std::string>()), "alert " + name);
    }
  }
  for (const std::string needed :
       {"CachecarRedisDown", "CachecarCircuitBreakerOpen", "CachecarHitRatioCollapse",
        "CachecarUpstream5xxRate", "CachecarPendingInvalidations"}) {
    EXPECT_TRUE(alerts.contains(needed)) << needed;
  }
}

TEST(MonitoringFilesTest, PromtoolChecksAndUnitTestsTheRules) {
  const auto promtool = find_promtool();
  if (!promtool) {
    GTEST_SKIP() << "promtool not found (Debian package prometheus; scripts/install-deps.sh "
                    "installs it)";
  }
  const std::string dir = (kDeploy / "prometheus").string();
  // check config also checks the rule files it loads; test rules evaluates alerts.test.yml.
  for (const auto& args :
       {"check rules " + dir + "/alerts.yml", "check config " + dir + "/prometheus.yml",
        "test rules " + dir + "/alerts.test.yml"}) {
    const auto result = run_command(*promtool + " " + args + " 2>&1");
    EXPECT_EQ(result.exit_code, 0) << "promtool " << args << ":\n" << result.output;
  }
}

}  // namespace
}  // namespace cachecar::test
