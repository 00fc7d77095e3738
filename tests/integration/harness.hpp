// A whole cachecar in-process: real redis-server (or memory://), real upstream stub, real App on
// loopback ports. Tests talk to it over real sockets.
#pragma once

#include "app/app.hpp"
#include "config/config.hpp"
#include "support/http_client.hpp"
#include "support/http_upstream.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace cachecar::test {

struct HarnessOptions {
  std::string rules;          // YAML list items under `rules:` (already indented by 2)
  std::string cache = "";     // extra lines under `cache:` (indented by 2)
  std::string extra;          // extra top-level YAML
  std::string admin;          // extra lines under `admin:` (indented by 2), e.g. a token
  std::string log;            // extra lines under `log:` (indented by 2), e.g. the format
  bool memory_store = false;  // memory:// instead of the Redis fixture
  std::string upstream_timeout = "2s";
  std::string redis_timeout = "200ms";
  std::string upstream_url;  // set: this upstream instead of the stub (e.g. a raw-bytes server)
  unsigned threads = 1;
  // Redis over TLS: the fixture also listens on a TLS port and the URL is rediss:// to it.
  std::optional<RedisServer::Tls> redis_tls;
  std::string redis_userinfo;  // "user:password@" in the URL
  std::string redis;           // extra lines under `redis:` (indented by 2), e.g. tls:
  std::function<void(RedisServer&)> prepare_redis;  // before cachecar starts (ACL SETUSER)
};

class Harness {
 public:
  explicit Harness(HarnessOptions options) : options_(std::move(options)) {
    if (options_.redis_tls) {
      redis.emplace(*options_.redis_tls, std::vector<std::string>{});
    } else if (!options_.memory_store) {
      redis.emplace();
    }
    if (redis && options_.prepare_redis) options_.prepare_redis(*redis);
    start();
  }
  ~Harness() { stop(); }

  std::string config_yaml() const {
    std::string yaml;
    yaml += "listen: \"127.0.0.1:0\"\n";
    yaml += "threads: " + std::to_string(options_.threads) + "\n";
    const std::string upstream_url =
        options_.upstream_url.empty() ? upstream.url() : options_.upstream_url;
    yaml += "upstream:\n  url: \"" + upstream_url +
            "\"\n  connect_timeout: 1s\n  timeout: " + options_.upstream_timeout + "\n";
    const std::string redis_url = options_.redis_tls
                                      ? "rediss://" + options_.redis_userinfo +
                                            "127.0.0.1:" + std::to_string(redis->tls_port()) + "/0"
                                      : "redis://" + options_.redis_userinfo +
                                            "127.0.0.1:" + std::to_string(redis->port()) + "/0";
    yaml += "redis:\n  url: \"" + (options_.memory_store ? std::string("memory://") : redis_url) +
            "\"\n  timeout: " + options_.redis_timeout + "\n" + options_.redis;
    yaml += "admin:\n  listen: \"127.0.0.1:0\"\n" + options_.admin;
    yaml += "log:\n  level: warn\n" + options_.log;
    yaml += "cache:\n  default_ttl: 60s\n  max_ttl: 1h\n  max_body_size: 64KiB\n" + options_.cache;
    yaml += options_.extra;
    yaml += "rules:\n" + options_.rules;
    return yaml;
  }

  void start() {
    auto config = config::load_config_text(config_yaml(), "test.yaml",
                                           [](std::string_view) { return std::nullopt; });
    app = std::make_unique<app::App>(std::move(config));
    app->start();
  }

  void stop() {
    if (app) {
      app->stop();
      app->wait();
      app.reset();
    }
  }

  std::uint16_t port() const { return app->proxy_port(); }
  std::uint16_t admin_port() const { return app->admin_port(); }
  // One request to the admin API on a fresh connection.
  HttpResponse admin(const std::string& method, const std::string& target,
                     const Headers& headers = {}) {
    return http_request(admin_port(), method, target, headers);
  }
  HttpResponse get(const std::string& target, const Headers& headers = {}) {
    return http_get(port(), target, headers);
  }
  HttpResponse request(const std::string& method, const std::string& target,
                       const Headers& headers = {}, const std::string& body = {}) {
    return http_request(port(), method, target, headers, body);
  }
  // The Host the test client sends (support/http_client.cpp).
  static constexpr std::string_view kClientHost = "test.local";
  // The Redis name of the entry for `logical_key` requested with `host`: entries are stored per
  // Host, "<prefix><logical key> host=<host>" (README "Keys in Redis").
  static std::string redis_key(const std::string& logical_key,
                               std::string_view host = kClientHost) {
    return "cachecar:" + logical_key + " host=" + std::string(host);
  }
  // A miss is stored before its response is written (and a write's invalidation completes
  // before its response), so tests check Redis right after the response, without waiting: a
  // fill that landed later would serve stale data after a write the client sends next.
  bool redis_has(const std::string& logical_key, std::string_view host = kClientHost) const {
    auto reply = redis->command({"EXISTS", redis_key(logical_key, host)});
    return reply.integer == 1;
  }
  // Lookups of `logical_key` so far (the top-keys counter). A miss is counted before it joins
  // another request's fill (coalescing), without suspending in between: once a test sees N
  // lookups on one worker thread, N requests have joined.
  std::uint64_t lookups(const std::string& logical_key) const {
    for (const auto& entry : app->metrics().cache_stats().top_keys) {
      if (entry.key == logical_key) return entry.count;
    }
    return 0;
  }

  // A request that must be answered within `deadline`, a liveness bound far above the expected
  // time (not a speed assertion): one not answered by then fails the test and returns status 0.
  HttpResponse request_within(std::chrono::milliseconds deadline, const std::string& method,
                              const std::string& target, const std::string& body = {}) {
    try {
      HttpClient client(port(), deadline);
      return client.request(method, target, {{"Connection", "close"}}, body);
    } catch (const std::exception& e) {
      ADD_FAILURE() << method << " " << target << " not answered within " << deadline.count()
                    << " ms: " << e.what();
      return {};
    }
  }

  std::optional<RedisServer> redis;
  UpstreamStub upstream;
  std::unique_ptr<app::App> app;

 private:
  HarnessOptions options_;
};

}  // namespace cachecar::test
