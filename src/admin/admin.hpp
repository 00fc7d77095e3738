// The admin API, served on its own listener: cache statistics, Prometheus metrics, health,
// invalidation and clearing, guarded by an optional bearer token. Never touches proxied traffic.
#pragma once

#include "core/log_limiter.hpp"
#include "metrics/metrics.hpp"
#include "net/listener.hpp"
#include "net/simple_server.hpp"
#include "store/cache_store.hpp"
#include "store/pending_invalidations.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cachecar::admin {

struct AdminOptions {
  std::string token;                    // "" = state-changing routes need no token
  std::vector<std::string> namespaces;  // declared by rules; others get 404 on clear
  bool json_log = false;                // admin action log lines as JSON objects (log.format)
  net::SimpleServerLimits limits{.max_header_bytes = 16 * 1024, .max_body_bytes = 64 * 1024};
};

// What a configuration reload did (POST /config/reload, SIGHUP).
struct ConfigReloadResult {
  bool reloaded = false;
  // Restart-only settings that differ in the file, as YAML paths ("threads", "redis.url"):
  // their running values were kept.
  std::vector<std::string> not_applied;
  std::string error;  // !reloaded: why ("cachecar.yaml:14: rules[1].ttl: ...")
};

struct AdminDependencies {
  store::CacheStore* store = nullptr;   // used only on the admin executor's thread
  metrics::Metrics* metrics = nullptr;  // shared, thread-safe
  // True when a new connection to the upstream can be opened (bounded by its connect timeout).
  std::function<net::asio::awaitable<bool>()> probe_upstream;
  // Upstream connections open in this process, for /metrics.
  std::function<std::int64_t()> upstream_connections;
  // The store's health as reported by /health and /metrics (thread-safe); empty = that of
  // `store`. The app combines every worker's Redis client here.
  std::function<store::StoreHealth()> store_health;
  // Write invalidations waiting to be replayed on the store (thread-safe); empty = none.
  std::function<std::size_t()> pending_invalidations;
  // Where a tag purge that the store failed is kept to be replayed (the write invalidations'
  // queue); null: it is only answered 503.
  store::PendingInvalidations* pending = nullptr;
  // Reloads the configuration file (POST /config/reload). Runs on the admin executor and
  // blocks it briefly (the file is read and validated); never throws. Empty: the route
  // answers 503.
  std::function<ConfigReloadResult()> reload_config;
};

// Runs on one executor (the thread that owns `store`). Handlers never throw: store failures
// become 503 answers with a JSON error.
class AdminService {
 public:
  AdminService(AdminOptions options, AdminDependencies dependencies);

  // One whole request -> one whole response.
  net::asio::awaitable<net::SimpleResponse> handle(const net::SimpleRequest& request);

  // Serves one admin connection until it closes; `tracker` lets shutdown close it.
  net::asio::awaitable<void> serve(net::tcp::socket socket, net::ConnectionTracker& tracker);

  // A configuration reload: requests from now on use `options` (the token, namespaces, log
  // format; the limits apply to connections accepted from now on). Call on the admin executor.
  void set_options(AdminOptions options);

 private:
  struct Context;
  net::asio::awaitable<net::SimpleResponse> metrics_cache(const Context& c);
  net::asio::awaitable<net::SimpleResponse> health(const Context& c);
  net::asio::awaitable<net::SimpleResponse> ping(const Context& c);
  net::asio::awaitable<net::SimpleResponse> invalidate(const Context& c);
  net::asio::awaitable<net::SimpleResponse> invalidate_tag(const Context& c);
  net::asio::awaitable<net::SimpleResponse> clear(const Context& c);
  net::SimpleResponse prometheus(const Context& c);
  net::SimpleResponse reset_stats(const Context& c);
  net::SimpleResponse reload_config(const Context& c);
  store::StoreHealth store_health() const;
  std::size_t pending_invalidations() const;
  void log_action(const Context& c, std::string_view action, std::string_view subject,
                  std::int64_t deleted) const;

  AdminOptions options_;
  AdminDependencies deps_;
  core::LogLimiter refusal_log_;  // refused requests can come in floods: one line per second
};

}  // namespace cachecar::admin
