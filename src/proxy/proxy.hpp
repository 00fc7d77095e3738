// The request pipeline for one thread: what the cache does with each client request (see
// session.hpp for the flow). Uses policy/ for every decision, LookupTier for the cache tiers,
// upstream/ for the upstream exchange and net/ for the client connection.
#pragma once

#include "core/cidr.hpp"
#include "core/log_limiter.hpp"
#include "metrics/metrics.hpp"
#include "net/http_types.hpp"
#include "net/listener.hpp"
#include "policy/cache_key.hpp"
#include "policy/cacheability.hpp"
#include "policy/rules.hpp"
#include "proxy/fill_coalescer.hpp"
#include "proxy/lookup.hpp"
#include "store/cache_store.hpp"
#include "store/l1_cache.hpp"
#include "store/pending_invalidations.hpp"
#include "store/rate_limiter.hpp"
#include "upstream/pool.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace cachecar::proxy {

// Log gates and sinks shared by every worker's Proxy: a dead store or upstream must not turn
// every request on every thread into a log line.
struct ProxyLogs {
  core::LogLimiter store_errors;
  core::LogLimiter upstream_errors;
  core::LogLimiter invalidation_errors;
  std::shared_ptr<spdlog::logger> access;  // null = the default logger
};

struct ProxyOptions {
  std::shared_ptr<const policy::RuleSet> rules;  // shared by all threads, immutable
  std::shared_ptr<FillCoalescer> coalescer;      // shared by all threads; null = no coalescing
  std::shared_ptr<store::L1Cache> l1;            // shared by all threads; null = no L1 tier
  // Failed write invalidations awaiting replay; shared by all threads; null = none kept.
  std::shared_ptr<store::PendingInvalidations> pending_invalidations;
  std::size_t max_pending_invalidations = 10'000;  // for the overflow message
  std::chrono::milliseconds coalesce_wait{5'000};
  policy::CacheLimits cache;
  std::string bypass_param = "nocache";
  std::string bypass_token;  // "" = the bypass needs no X-Cachecar-Bypass token
  // Peers whose X-Forwarded-* and Forwarded fields are kept (empty: nobody's).
  core::CidrSet trusted_proxies;
  policy::HostAliases hosts;         // cache.hosts; empty = every valid Host is its own name
  std::string upstream_base_path;    // prepended to every forwarded path
  std::string upstream_host_header;  // Host sent when the client sent none
  std::chrono::milliseconds upstream_timeout{30'000};
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint64_t max_request_body_bytes = 64ULL << 20;
  std::chrono::milliseconds client_header_timeout{10'000};
  std::chrono::milliseconds client_idle_timeout{60'000};
  std::chrono::milliseconds client_body_timeout{30'000};
  bool access_log = true;
  bool json_access_log = false;
  std::shared_ptr<ProxyLogs> logs;  // null = this Proxy's own (and the default logger)
};

class Session;

class Proxy {
 public:
  // All references must outlive the Proxy; all of them belong to the caller's thread except
  // what ProxyOptions shares and metrics, which are shared. The wiring in `options` (l1,
  // pending_invalidations, coalescer, max_pending_invalidations, logs) is taken once: a later
  // replace_options must point to the same objects. `rate_limiter` (this thread's, or one
  // shared by all) spends the budgets of rules with a rate_limit; null: nothing is limited.
  Proxy(ProxyOptions options, store::CacheStore& store, upstream::Pool& pool,
        metrics::Metrics& metrics, net::ConnectionTracker& tracker,
        store::RateLimiter* rate_limiter = nullptr);
  ~Proxy();

  // Serves one client connection until it closes. Never throws.
  net::asio::awaitable<void> serve(net::tcp::socket socket);

  // A configuration reload: requests that start from now on use `options`; each request in
  // flight (and each background revalidation) keeps the snapshot it took, and a connection
  // keeps the client limits and timeouts it was accepted with. Call on this Proxy's executor
  // (the worker thread), so the request path needs no lock.
  void replace_options(std::shared_ptr<const ProxyOptions> options);
  const std::shared_ptr<const ProxyOptions>& options() const noexcept { return options_; }

 private:
  friend class Session;
  std::shared_ptr<const ProxyOptions> options_;  // never null
  upstream::Pool& pool_;
  metrics::Metrics& metrics_;
  net::ConnectionTracker& tracker_;
  store::RateLimiter* rate_limiter_;
  std::unique_ptr<LookupTier> lookup_;
};

}  // namespace cachecar::proxy
