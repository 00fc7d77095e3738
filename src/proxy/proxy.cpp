#include "proxy/proxy.hpp"

#include "net/server_connection.hpp"
#include "proxy/session.hpp"
#include "store/memory_store.hpp"

#include <spdlog/spdlog.h>

namespace cachecar::proxy {

Proxy::Proxy(ProxyOptions options, store::CacheStore& store, upstream::Pool& pool,
             metrics::Metrics& metrics, net::ConnectionTracker& tracker)
    : options_(std::move(options)), pool_(pool), metrics_(metrics), tracker_(tracker) {
  if (!options_.rules) options_.rules = std::make_shared<policy::RuleSet>();
  if (!options_.logs) options_.logs = std::make_shared<ProxyLogs>();
  lookup_ = std::make_unique<LookupTier>(LookupParts{
      .store = store,
      .l1 = options_.l1.get(),
      .pending = options_.pending_invalidations.get(),
      .coalescer = options_.coalescer.get(),
      .coalesce_wait = options_.coalesce_wait,
      .max_pending_invalidations = options_.max_pending_invalidations,
      .metrics = metrics,
      .store_error_log = options_.logs->store_errors,
      .invalidation_error_log = options_.logs->invalidation_errors,
      .now_ms = &store::MemoryStore::system_now_ms,
  });
}

Proxy::~Proxy() = default;

net::asio::awaitable<void> Proxy::serve(net::tcp::socket socket) {
  // Nothing may escape: an exception out of a detached coroutine terminates the process.
  try {
    const net::ServerLimits limits{
        .max_header_bytes = options_.max_header_bytes,
        .max_body_bytes = options_.max_request_body_bytes,
        .header_timeout = options_.client_header_timeout,
        .idle_timeout = options_.client_idle_timeout,
        .body_timeout = options_.client_body_timeout,
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
