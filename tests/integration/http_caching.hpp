// Shared by the HTTP caching integration tests (RFC 9111 / 5861 / 9213 through real sockets):
// the rules they run under and small helpers to script the upstream and read the answers.
#pragma once

#include "integration/harness.hpp"
#include "support/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <optional>
#include <string>

namespace cachecar::test::http_caching {

using namespace std::chrono_literals;

// /up/*: freshness from the response; /upttl/*: the same with a ttl for responses without
// explicit freshness; /rule/*: today's rule mode; /honor/*: clients' Cache-Control honoured;
// /vary/*: at most 3 variants; /priv/*: cache_private; /heur/*: the heuristic; /swr/*: stale
// windows from the rule.
inline const std::string kRules =
    "  - match: \"GET /up/*\"\n"
    "    freshness: upstream\n"
    "  - match: \"GET /upttl/*\"\n"
    "    freshness: upstream\n"
    "    ttl: 60s\n"
    "  - match: \"GET /rule/*\"\n"
    "    ttl: 60s\n"
    "  - match: \"GET /rule1s/*\"\n"
    "    ttl: 1s\n"
    "    stale_while_revalidate: 30s\n"
    "  - match: \"GET /honor/*\"\n"
    "    freshness: upstream\n"
    "    client_cache_control: honor\n"
    "  - match: \"GET /vary/*\"\n"
    "    freshness: upstream\n"
    "    max_variants: 3\n"
    "  - match: \"GET /priv/*\"\n"
    "    freshness: upstream\n"
    "    cache_private: true\n"
    "  - match: \"GET /heur/*\"\n"
    "    freshness: upstream\n"
    "    heuristic: true\n"
    "  - match: \"GET /swr/*\"\n"
    "    freshness: upstream\n"
    "    stale_while_revalidate: 30s\n"
    "    stale_if_error: 30s\n";

inline const std::string kCache = "  keep: 1h\n  max_stale: 1h\n";

inline HarnessOptions options(bool memory_store = false, std::string cache = kCache) {
  return HarnessOptions{.rules = kRules, .cache = std::move(cache), .memory_store = memory_store};
}

// A 200 with these extra fields and body (Content-Type text/plain).
inline StubReply reply(Headers headers, std::string body = "body") {
  headers.emplace(headers.begin(), "Content-Type", "text/plain");
  return StubReply{.headers = std::move(headers), .body = std::move(body)};
}

// An origin with one representation whose ETag is `etag`: a request whose If-None-Match names
// it gets a 304 (with `cache_control`), anything else the body.
inline UpstreamStub::Handler etag_origin(std::string etag, std::string cache_control,
                                         std::string body = "body") {
  return [etag, cache_control, body](const SeenRequest& request, std::size_t) {
    if (request.header("If-None-Match") == etag) {
      return StubReply{
          .status = 304, .headers = {{"ETag", etag}, {"Cache-Control", cache_control}}, .body = ""};
    }
    return reply({{"ETag", etag}, {"Cache-Control", cache_control}}, body);
  };
}

// An HTTP-date `offset` from now; format = strftime pattern (IMF-fixdate by default).
inline std::string http_date(std::chrono::seconds offset = 0s,
                             const char* format = "%a, %d %b %Y %H:%M:%S GMT") {
  const std::time_t t = std::time(nullptr) + offset.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &tm);
  return buffer;
}
inline constexpr const char* kRfc850 = "%A, %d-%b-%y %H:%M:%S GMT";
inline constexpr const char* kAsctime = "%a %b %e %H:%M:%S %Y";

// Freshness is measured on the clock, so a test that needs a stale entry waits for the clock
// to pass `since + age` (a condition on time itself, not a sleep standing in for an event).
inline void wait_for_age(std::chrono::steady_clock::time_point since,
                         std::chrono::milliseconds age) {
  ASSERT_TRUE(
      wait_until([&] { return std::chrono::steady_clock::now() >= since + age; }, age + 10s, 20ms));
}

// Asks for `target` until the answer is no longer a fresh hit (the entry turned stale); that
// answer, or status 0 when it is still a hit after 10 s.
inline HttpResponse get_until_not_hit(Harness& h, const std::string& target,
                                      const Headers& headers = {}) {
  HttpResponse last;
  const bool changed = wait_until(
      [&] {
        last = h.get(target, headers);
        return last.header("X-Cache") != "HIT";
      },
      10s, 50ms);
  EXPECT_TRUE(changed) << target << " still a fresh hit after 10 s";
  return changed ? last : HttpResponse{};
}

// "cachecar; hit; ttl=-N" with N >= 1: a stale answer while revalidating (RFC 9211).
inline bool is_stale_hit_status(const std::string& cache_status) {
  const std::string prefix = "cachecar; hit; ttl=-";
  if (cache_status.rfind(prefix, 0) != 0 || cache_status.size() == prefix.size()) return false;
  const auto digits = cache_status.substr(prefix.size());
  return digits[0] != '0' && digits.find_first_not_of("0123456789") == std::string::npos;
}

// The value of the Prometheus sample `series` ("name{labels}") on the admin port, 0 if absent.
inline double metric(Harness& h, const std::string& series) {
  return metric_value(h.admin("GET", "/metrics").body, series);
}

}  // namespace cachecar::test::http_caching
