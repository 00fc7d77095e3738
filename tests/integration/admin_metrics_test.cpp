// GET /metrics: the Prometheus exposition after real traffic, checked by promtool and by the
// series it must contain.
#include "integration/harness.hpp"
#include "support/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;

const std::string kRules =
    "  - match: \"GET /api/items/{id}\"\n"
    "    ttl: 60s\n"
    "  - match: \"PUT /api/items/{id}\"\n"
    "    invalidate: [\"GET /api/items/{id}\"]\n";

std::string scrape(Harness& h) {
  auto response = h.admin("GET", "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  return response.body;
}

// Every kind of request once, so that most families have samples.
void mixed_traffic(Harness& h) {
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  ASSERT_TRUE(h.redis_has("GET:/api/items/1"));
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  EXPECT_EQ(h.get("/api/items/1?nocache=1").header("X-Cache"), "BYPASS");  // refills the entry
  ASSERT_EQ(h.app->metrics().snapshot().stores, 2u);  // counted before the response is sent
  EXPECT_EQ(h.get("/api/items/2", {{"Authorization", "Bearer x"}}).header("X-Cache"), "PASS");
  EXPECT_EQ(h.request("PUT", "/api/items/1", {}, "{}").status, 200);  // invalidates 1 entry
  h.upstream.on("/missing", StubReply{.status = 404});
  EXPECT_EQ(h.get("/missing").status, 404);
  EXPECT_EQ(h.request("BREW", "/pot").status, 200);  // a method outside the label list
  EXPECT_EQ(h.get("/api/items/5").header("X-Cache"), "MISS");
  ASSERT_TRUE(h.redis_has("GET:/api/items/5"));
  EXPECT_EQ(h.admin("DELETE", "/invalidate/GET:/api/nothing").status, 404);
  EXPECT_EQ(h.admin("DELETE", "/cache/clear").status, 200);  // clears items/5
}

TEST(AdminMetricsTest, PromtoolAcceptsTheExposition) {
  const auto promtool = find_promtool();
  if (!promtool) {
    GTEST_SKIP() << "promtool not found (Debian package prometheus; scripts/install-deps.sh "
                    "installs it)";
  }
  Harness h{HarnessOptions{.rules = kRules}};
  mixed_traffic(h);
  h.redis->kill();  // store errors, Redis command errors, an open circuit
  EXPECT_EQ(h.get("/api/items/3").status, 200);
  h.upstream.stop();  // upstream errors
  EXPECT_EQ(h.get("/api/items/4").status, 502);
  const auto text = scrape(h);

  const auto file = std::filesystem::temp_directory_path() /
                    ("cachecar-metrics-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(file) << text;
  const std::string command = *promtool + " check metrics < " + file.string() + " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::array<char, 4096> buffer;
  while (auto n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  const int status = pclose(pipe);
  std::filesystem::remove(file);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output << "\n" << text;
  EXPECT_EQ(output, "") << "promtool lint findings:\n" << output;
}

TEST(AdminMetricsTest, SeriesForRequestsCacheUpstreamAndRedis) {
  Harness h{HarnessOptions{.rules = kRules}};
  mixed_traffic(h);
  const auto text = scrape(h);
  const std::string rule = "rule=\"GET /api/items/{id}\"";
  EXPECT_EQ(
      metric_sample(text, "cachecar_requests_total{cache=\"hit\",method=\"GET\"," + rule + "}"),
      "2");
  EXPECT_EQ(
      metric_sample(text, "cachecar_requests_total{cache=\"miss\",method=\"GET\"," + rule + "}"),
      "2");
  EXPECT_EQ(
      metric_sample(text, "cachecar_requests_total{cache=\"bypass\",method=\"GET\"," + rule + "}"),
      "1");
  EXPECT_EQ(metric_sample(
                text, "cachecar_requests_total{cache=\"uncacheable\",method=\"GET\"," + rule + "}"),
            "1");
  EXPECT_EQ(metric_sample(text,
                          "cachecar_requests_total{cache=\"pass\",method=\"PUT\","
                          "rule=\"PUT /api/items/{id}\"}"),
            "1");
  EXPECT_EQ(
      metric_sample(text, "cachecar_requests_total{cache=\"pass\",method=\"GET\",rule=\"none\"}"),
      "1");
  EXPECT_EQ(
      metric_sample(text, "cachecar_requests_total{cache=\"pass\",method=\"OTHER\",rule=\"none\"}"),
      "1");
  EXPECT_EQ(metric_sample(text, "cachecar_responses_total{code=\"2xx\"}"), "8");
  EXPECT_EQ(metric_sample(text, "cachecar_responses_total{code=\"4xx\"}"), "1");
  EXPECT_EQ(metric_sample(text, "cachecar_request_duration_seconds_count{cache=\"hit\"}"), "2");
  EXPECT_EQ(metric_sample(text, "cachecar_request_duration_seconds_count{cache=\"miss\"}"), "2");
  EXPECT_EQ(metric_sample(text, "cachecar_upstream_request_duration_seconds_count{result=\"ok\"}"),
            "7");
  EXPECT_TRUE(
      metric_sample(text, "cachecar_redis_command_duration_seconds_count{command=\"MGET\"}"));
  EXPECT_TRUE(
      metric_sample(text, "cachecar_redis_command_duration_seconds_count{command=\"EVALSHA\"}"));
  EXPECT_EQ(metric_sample(text, "cachecar_cache_stores_total"), "3");  // 2 misses, 1 bypass refill
  EXPECT_EQ(metric_sample(text, "cachecar_cache_stored_body_bytes_count"), "3");
  EXPECT_EQ(metric_sample(text, "cachecar_cache_invalidated_entries_total"), "1");
  EXPECT_EQ(metric_sample(text, "cachecar_cache_cleared_entries_total"), "1");
  EXPECT_EQ(metric_sample(text, "cachecar_redis_connected"), "1");
  EXPECT_EQ(metric_sample(text, "cachecar_redis_circuit_breaker_state{state=\"closed\"}"), "1");
  EXPECT_EQ(metric_sample(text, "cachecar_build_info{version=\"" CACHECAR_VERSION "\"}"), "1");
  EXPECT_EQ(metric_sample(text, "cachecar_upstream_errors_total"), "0");
  // Bounded cardinality: rule names and fixed lists as labels, never request paths or methods.
  EXPECT_EQ(text.find("/api/items/1"), std::string::npos);
  EXPECT_EQ(text.find("/missing"), std::string::npos);
  EXPECT_EQ(text.find("BREW"), std::string::npos);
}

TEST(AdminMetricsTest, ConnectionGaugesFollowOpenConnections) {
  Harness h{HarnessOptions{.rules = kRules}};
  {
    HttpClient client(h.port());
    EXPECT_EQ(client.get("/api/items/1").status, 200);  // keep-alive, and a pooled upstream conn
    EXPECT_TRUE(wait_until(
        [&] { return metric_sample(scrape(h), "cachecar_client_connections") == "1"; }, 5s, 10ms));
    const auto upstream = metric_sample(scrape(h), "cachecar_upstream_connections");
    ASSERT_TRUE(upstream);
    EXPECT_GE(std::stoi(*upstream), 1);
  }
  EXPECT_TRUE(wait_until(
      [&] { return metric_sample(scrape(h), "cachecar_client_connections") == "0"; }, 5s, 10ms));
}

TEST(AdminMetricsTest, RedisDownShowsInGaugesAndErrorCounters) {
  Harness h{HarnessOptions{.rules = kRules}};
  EXPECT_EQ(h.get("/api/items/1").status, 200);
  h.redis->kill();
  EXPECT_TRUE(wait_until(
      [&] {
        h.get("/api/items/1");
        const auto text = scrape(h);
        return metric_sample(text, "cachecar_redis_connected") == "0" &&
               metric_sample(text, "cachecar_redis_circuit_breaker_state{state=\"closed\"}") == "0";
      },
      10s, 20ms));
  const auto text = scrape(h);
  EXPECT_NE(metric_sample(text, "cachecar_store_errors_total{operation=\"get\"}"), "0");
  EXPECT_NE(text.find("cachecar_redis_command_errors_total{command=\"MGET\""), std::string::npos)
      << text;
}

}  // namespace
}  // namespace cachecar::test
