#include "proxy/proxy.hpp"

#include "net/server_connection.hpp"
#include "proxy/session.hpp"
#include "store/memory_store.hpp"

#include <spdlog/spdlog.h>

namespace cachecar::proxy {

namespace {

std::shared_ptr<const ProxyOptions> completed(ProxyOptions options) {
  if (!options.rules) options.rules = std::make_shared<policy::RuleSet>();
  if (!options.logs) options.logs = std::make_shared<ProxyLogs>();
  return std::make_shared<const ProxyOptions>(std::move(options));
}

}  // namespace

Proxy::Proxy(ProxyOptions options, store::CacheStore& store, upstream::Pool& pool,
             metrics::Metrics& metrics, net::ConnectionTracker& tracker,
             store::RateLimiter* rate_limiter)
    : options_(completed(std::move(options))),
      pool_(pool),
      metrics_(metrics),
      tracker_(tracker),
      rate_limiter_(rate_limiter) {
  lookup_ = std::make_unique<LookupTier>(LookupParts{
      .store = store,
      .l1 = options_->l1.get(),
      .pending = options_->pending_invalidations.get(),
      .coalescer = options_->coalescer.get(),
      .coalesce_wait = options_->coalesce_wait,
      .max_pending_invalidations = options_->max_pending_invalidations,
      .metrics = metrics,
      .store_error_log = options_->logs->store_errors,
      .invalidation_error_log = options_->logs->invalidation_errors,
      .now_ms = &store::MemoryStore::system_now_ms,
  });
}

void Proxy::replace_options(std::shared_ptr<const ProxyOptions> options) {
  if (!options) return;
  if (!options->rules || !options->logs) {
    ProxyOptions copy = *options;
    options = completed(std::move(copy));
  }
  lookup_->set_coalesce_wait(options->coalesce_wait);
  options_ = std::move(options);
}

Proxy::~Proxy() = default;

net::asio::awaitable<void> Proxy::serve(net::tcp::socket socket) {
  // Nothing may escape: an exception out of a detached coroutine terminates the process.
  try {
    // Limits and timeouts are the connection's for its whole life (the snapshot at accept).
    const auto& options = *options_;
    const net::ServerLimits limits{
        .max_header_bytes = options.max_header_bytes,
        .max_body_bytes = options.max_request_body_bytes,
        .header_timeout = options.client_header_timeout,
        .idle_timeout = options.client_idle_timeout,
        .body_timeout = options.client_body_timeout,
    };
    net::ServerConnection client(std::move(socket), tracker_, limits);
    Session session(*this, client);
    co_await client.run(session);
  } catch (const std::exception& e) {
    spdlog::error("client session failed: {}", e.what());
  } catch (...) {
    spdlog::error("client session failed with an unknown exception");
  }
}

}  // namespace cachecar::proxy
