#include "metrics/metrics.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cachecar::metrics {
namespace {

using namespace std::chrono_literals;

MetricsOptions with_rules(std::vector<std::string> rules) {
  MetricsOptions options;
  options.rule_names = std::move(rules);
  return options;
}

RequestRecord request(CacheOutcome outcome, std::string_view rule = "GET /a/{id}",
                      std::string_view method = "GET", int status = 200,
                      std::chrono::nanoseconds duration = 1ms) {
  return RequestRecord{outcome, rule, method, status, duration};
}

// The sample line "name{labels} value" from the exposition text, or "" when absent.
std::string sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  }
  return "";
}

TEST(Metrics, CountsRequestsByOutcome) {
  Metrics m(with_rules({"GET /a/{id}"}));
  m.record_request(request(CacheOutcome::Hit));
  m.record_request(request(CacheOutcome::Hit));
  m.record_request(request(CacheOutcome::Miss));
  m.record_request(request(CacheOutcome::Bypass));
  m.record_request(request(CacheOutcome::Pass, "", "POST"));
  const auto s = m.snapshot();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.bypasses, 1u);
  EXPECT_EQ(s.passes, 1u);
  const auto stats = m.cache_stats();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_NEAR(stats.hit_rate, 2.0 / 3.0, 1e-9);
}

TEST(Metrics, HitRateIsZeroWithoutLookups) {
  Metrics m;
  EXPECT_EQ(m.cache_stats().hit_rate, 0.0);
}

TEST(Metrics, ResetZeroesStatsButNotPrometheusCounters) {
  Metrics m(with_rules({"GET /a/{id}"}));
  m.record_request(request(CacheOutcome::Hit));
  m.record_lookup("GET:/a/1", true);
  m.record_stored(100);
  m.record_invalidated(3);
  m.record_store_error(StoreOperation::Get);
  m.record_upstream_error();
  m.reset_stats();
  const auto stats = m.cache_stats();
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.stores, 0u);
  EXPECT_EQ(stats.invalidations, 0u);
  EXPECT_EQ(stats.store_errors, 0u);
  EXPECT_EQ(stats.upstream_errors, 0u);
  EXPECT_TRUE(stats.top_keys.empty());
  m.record_request(request(CacheOutcome::Miss));
  EXPECT_EQ(m.cache_stats().misses, 1u);

  const auto text = m.prometheus_text({});
  EXPECT_EQ(sample(text, R"(cachecar_requests_total{cache="hit",method="GET",rule="GET /a/{id}"})"),
            "1");
  EXPECT_EQ(sample(text, "cachecar_cache_stores_total"), "1");
  EXPECT_EQ(sample(text, "cachecar_cache_invalidated_entries_total"), "3");
  EXPECT_EQ(m.snapshot().hits, 1u);  // snapshot() is monotonic too
}

TEST(Metrics, TopKeysComeFromLookups) {
  Metrics m;
  for (int i = 0; i < 3; ++i) m.record_lookup("GET:/b", false);
  m.record_lookup("GET:/a", true);
  const auto stats = m.cache_stats(1);
  ASSERT_EQ(stats.top_keys.size(), 1u);
  EXPECT_EQ(stats.top_keys[0].key, "GET:/b");
  EXPECT_EQ(stats.top_keys[0].count, 3u);
}

TEST(Metrics, LabelValuesAreBounded) {
  Metrics m(with_rules({"GET /a/{id}"}));
  m.record_request(request(CacheOutcome::Pass, "GET /not/configured", "BREW", 999));
  m.record_request(request(CacheOutcome::Pass, "", "get", 204));
  m.record_redis_command("hgetall", 1ms, {});
  const auto text = m.prometheus_text({});
  EXPECT_EQ(sample(text, R"(cachecar_requests_total{cache="pass",method="OTHER",rule="other"})"),
            "1");
  EXPECT_EQ(sample(text, R"(cachecar_requests_total{cache="pass",method="OTHER",rule="none"})"),
            "1");
  EXPECT_EQ(sample(text, R"(cachecar_responses_total{code="other"})"), "1");
  EXPECT_EQ(sample(text, R"(cachecar_responses_total{code="2xx"})"), "1");
  EXPECT_EQ(sample(text, R"(cachecar_redis_command_duration_seconds_count{command="OTHER"})"), "1");
  EXPECT_EQ(text.find("BREW"), std::string::npos);
  EXPECT_EQ(text.find("/not/configured"), std::string::npos);
}

TEST(Metrics, StoreErrorsAreLabelledByTheirOperation) {
  const std::vector<std::pair<StoreOperation, std::string>> cases{
      {StoreOperation::Get, "get"},
      {StoreOperation::Put, "put"},
      {StoreOperation::Invalidate, "invalidate"},
      {StoreOperation::Decode, "decode"},
  };
  Metrics m;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    for (std::size_t n = 0; n <= i; ++n) m.record_store_error(cases[i].first);
  }
  const auto text = m.prometheus_text({});
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [operation, label] = cases[i];
    EXPECT_EQ(to_string(operation), label);
    std::ostringstream printed;
    printed << operation;
    EXPECT_EQ(printed.str(), label);
    EXPECT_EQ(sample(text, "cachecar_store_errors_total{operation=\"" + label + "\"}"),
              std::to_string(i + 1))
        << label;
  }
  // Only the four operations exist as series: no "other" catch-all to hide a typo in.
  EXPECT_EQ(text.find(R"(cachecar_store_errors_total{operation="other"})"), std::string::npos);
  EXPECT_EQ(m.snapshot().store_errors, 10u);
}

TEST(Metrics, HistogramsAreCumulativeWithSecondsAndBytes) {
  Metrics m(with_rules({"GET /a/{id}"}));
  m.record_request(request(CacheOutcome::Hit, "GET /a/{id}", "GET", 200, 80us));
  m.record_request(request(CacheOutcome::Hit, "GET /a/{id}", "GET", 200, 3ms));
  m.record_stored(1000);
  const auto text = m.prometheus_text({});
  EXPECT_EQ(sample(text, R"(cachecar_request_duration_seconds_bucket{cache="hit",le="0.0001"})"),
            "1");
  EXPECT_EQ(sample(text, R"(cachecar_request_duration_seconds_bucket{cache="hit",le="0.0025"})"),
            "1");
  EXPECT_EQ(sample(text, R"(cachecar_request_duration_seconds_bucket{cache="hit",le="0.005"})"),
            "2");
  EXPECT_EQ(sample(text, R"(cachecar_request_duration_seconds_bucket{cache="hit",le="+Inf"})"),
            "2");
  EXPECT_EQ(sample(text, R"(cachecar_request_duration_seconds_count{cache="hit"})"), "2");
  EXPECT_EQ(sample(text, R"(cachecar_request_duration_seconds_sum{cache="hit"})"), "0.00308");
  EXPECT_EQ(sample(text, R"(cachecar_cache_stored_body_bytes_bucket{le="1024"})"), "1");
  EXPECT_EQ(sample(text, R"(cachecar_cache_stored_body_bytes_bucket{le="256"})"), "0");
  EXPECT_EQ(sample(text, "cachecar_cache_stored_body_bytes_sum"), "1000");
}

TEST(Metrics, RedisCommandsAndErrorsByKind) {
  Metrics m;
  m.record_redis_command("GET", 200us, {});
  m.record_redis_command("get", 100ms, make_error_code(errc::timeout));
  m.record_redis_command("EVALSHA", 1ms, make_error_code(errc::store_unavailable));
  m.record_redis_command("EVALSHA", 1ms, make_error_code(errc::store_reply_error));  // NOSCRIPT
  m.record_redis_command("GET", 1ms, make_error_code(errc::shutting_down));          // not counted
  const auto text = m.prometheus_text({});
  EXPECT_EQ(sample(text, R"(cachecar_redis_command_duration_seconds_count{command="GET"})"), "2");
  EXPECT_EQ(sample(text, R"(cachecar_redis_command_errors_total{command="GET",error="timeout"})"),
            "1");
  EXPECT_EQ(
      sample(text, R"(cachecar_redis_command_errors_total{command="EVALSHA",error="unavailable"})"),
      "1");
  EXPECT_EQ(sample(text, R"(cachecar_redis_command_errors_total{command="EVALSHA",error="reply"})"),
            "1");
  EXPECT_EQ(m.snapshot().redis_commands, 4u);
  EXPECT_EQ(m.snapshot().redis_errors, 3u);
}

TEST(Metrics, ScrapeStateGauges) {
  Metrics m;
  ScrapeState state;
  state.upstream_connections = 3;
  state.store_connected = false;
  state.circuit_state = "open";
  Metrics::ClientConnection c1(m);
  {
    Metrics::ClientConnection c2(m);
    EXPECT_EQ(sample(m.prometheus_text(state), "cachecar_client_connections"), "2");
  }
  const auto text = m.prometheus_text(state);
  EXPECT_EQ(sample(text, "cachecar_client_connections"), "1");
  EXPECT_EQ(sample(text, "cachecar_upstream_connections"), "3");
  EXPECT_EQ(sample(text, "cachecar_redis_connected"), "0");
  EXPECT_EQ(sample(text, R"(cachecar_redis_circuit_breaker_state{state="open"})"), "1");
  EXPECT_EQ(sample(text, R"(cachecar_redis_circuit_breaker_state{state="closed"})"), "0");
  EXPECT_EQ(sample(text, R"(cachecar_build_info{version=")" CACHECAR_VERSION R"("})"), "1");

  state.store_kind = "memory";
  EXPECT_EQ(m.prometheus_text(state).find("cachecar_redis_"), std::string::npos);
}

TEST(Metrics, HelpAndTypeForEveryFamily) {
  Metrics m;
  const auto text = m.prometheus_text({});
  std::istringstream in(text);
  std::string line;
  int help = 0;
  int type = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP cachecar_", 0) == 0) ++help;
    if (line.rfind("# TYPE cachecar_", 0) == 0) ++type;
  }
  EXPECT_GE(help, 15);
  EXPECT_EQ(help, type);
}

TEST(Metrics, RateLimitResultsByRule) {
  Metrics m(with_rules({"GET /a", "POST /b"}));
  m.record_rate_limit("GET /a", RateLimitResult::Allowed);
  m.record_rate_limit("GET /a", RateLimitResult::Allowed);
  m.record_rate_limit("GET /a", RateLimitResult::Limited);
  m.record_rate_limit("POST /b", RateLimitResult::FailOpen);
  m.record_rate_limit("POST /b", RateLimitResult::FailClosed);
  m.record_rate_limit("GET /added-by-a-reload", RateLimitResult::Limited);
  const auto text = m.prometheus_text({});
  const std::string name = "cachecar_rate_limit_requests_total";
  EXPECT_EQ(sample(text, name + R"({result="allowed",rule="GET /a"})"), "2");
  EXPECT_EQ(sample(text, name + R"({result="limited",rule="GET /a"})"), "1");
  EXPECT_EQ(sample(text, name + R"({result="fail_open",rule="POST /b"})"), "1");
  EXPECT_EQ(sample(text, name + R"({result="fail_closed",rule="POST /b"})"), "1");
  EXPECT_EQ(sample(text, name + R"({result="limited",rule="other"})"), "1");
  EXPECT_EQ(sample(text, name + R"({result="allowed",rule="POST /b"})"), "");  // never happened
  std::ostringstream printed;
  printed << RateLimitResult::FailClosed;
  EXPECT_EQ(printed.str(), "fail_closed");
}

TEST(Metrics, ConcurrentRecordingLosesNothing) {
  MetricsOptions options = with_rules({"GET /a/{id}"});
  options.shards = 2;  // fewer shards than threads: some threads share one
  Metrics m(options);
  constexpr int kThreads = 6;
  constexpr int kPerThread = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kPerThread; ++i) {
        m.record_request(request(CacheOutcome::Hit));
        m.record_lookup("GET:/a/" + std::to_string(t), true);
      }
    });
  }
  // Readers run concurrently with the writers.
  for (int i = 0; i < 20; ++i) {
    (void)m.cache_stats();
    (void)m.prometheus_text({});
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.snapshot().hits, static_cast<std::uint64_t>(kThreads * kPerThread));
  const auto top = m.cache_stats(kThreads).top_keys;
  ASSERT_EQ(top.size(), static_cast<std::size_t>(kThreads));
  for (const auto& e : top) EXPECT_EQ(e.count, static_cast<std::uint64_t>(kPerThread));
}

TEST(CacheOutcome, PrintsItsLabel) {
  std::ostringstream os;
  os << CacheOutcome::Uncacheable;
  EXPECT_EQ(os.str(), "uncacheable");
}

TEST(Metrics, WorkerExceptionsAreCounted) {
  Metrics m;
  EXPECT_EQ(sample(m.prometheus_text({}), "cachecar_worker_exceptions_total"), "0");
  m.record_worker_exception();
  EXPECT_EQ(sample(m.prometheus_text({}), "cachecar_worker_exceptions_total"), "1");
}

TEST(Metrics, TagsDroppedByReasonAndPurgesBySource) {
  Metrics m;
  auto text = m.prometheus_text({});
  EXPECT_EQ(sample(text, R"(cachecar_tags_dropped_total{reason="over_limit"})"), "0");
  EXPECT_EQ(sample(text, R"(cachecar_tag_purges_total{source="admin"})"), "0");
  m.record_tags_dropped(1, 0);
  m.record_tags_dropped(2, 3);
  m.record_tag_purges(TagPurgeSource::Admin);
  m.record_tag_purges(TagPurgeSource::Write, 2);
  text = m.prometheus_text({});
  EXPECT_EQ(sample(text, R"(cachecar_tags_dropped_total{reason="over_limit"})"), "3");
  EXPECT_EQ(sample(text, R"(cachecar_tags_dropped_total{reason="invalid"})"), "3");
  EXPECT_EQ(sample(text, R"(cachecar_tag_purges_total{source="admin"})"), "1");
  EXPECT_EQ(sample(text, R"(cachecar_tag_purges_total{source="write"})"), "2");
  std::ostringstream os;
  os << TagPurgeSource::Write;
  EXPECT_EQ(os.str(), "write");
}

}  // namespace
}  // namespace cachecar::metrics
