#include "config/reload.hpp"

namespace cachecar::config {
namespace {

bool same(const HostPort& a, const HostPort& b) {
  return a.host == b.host && a.port == b.port;
}

// Names `path` when the two differ; `next` then takes the running value.
template <class T, class Equal>
void keep(std::vector<std::string>& named, const char* path, const T& running, T& next,
          Equal equal) {
  if (!equal(running, next)) named.emplace_back(path);
  next = running;
}

template <class T>
void keep(std::vector<std::string>& named, const char* path, const T& running, T& next) {
  keep(named, path, running, next, [](const T& a, const T& b) { return a == b; });
}

}  // namespace

std::vector<std::string> keep_restart_only(const Config& running, Config& next) {
  std::vector<std::string> named;
  // The listeners are bound, one worker thread each, with its own upstream pool.
  keep(named, "listen", running.listen, next.listen, same);
  keep(named, "threads", running.threads, next.threads);
  // The pools connect to this address; the path and the default Host go with it.
  const auto& up = running.upstream;
  if (up.url != next.upstream.url || !same(up.address, next.upstream.address) ||
      up.base_path != next.upstream.base_path) {
    named.emplace_back("upstream.url");
  }
  next.upstream.url = up.url;
  next.upstream.address = up.address;
  next.upstream.base_path = up.base_path;
  keep(named, "upstream.connect_timeout", running.upstream.connect_timeout,
       next.upstream.connect_timeout);
  keep(named, "upstream.max_idle_connections", running.upstream.max_idle_connections,
       next.upstream.max_idle_connections);
  // Every worker's Redis client (and the L1 listener, the memory store) is built once. The
  // whole section is kept, so a setting not named below is kept as well, just not named.
  {
    const auto& a = running.store;
    const auto& b = next.store;
    if (a.url != b.url || a.memory != b.memory || !same(a.address, b.address) || a.db != b.db) {
      named.emplace_back("redis.url");
    } else if (a.password != b.password || a.user != b.user) {
      named.emplace_back("redis.password");  // from the environment, say
    }
    const auto& x = a.tls;
    const auto& y = b.tls;
    if (x.ca_file != y.ca_file || x.cert_file != y.cert_file || x.key_file != y.key_file ||
        x.verify != y.verify || x.server_name != y.server_name) {
      named.emplace_back("redis.tls");
    }
    if (a.key_prefix != b.key_prefix) named.emplace_back("redis.key_prefix");
    if (a.timeout != b.timeout) named.emplace_back("redis.timeout");
    if (a.connections != b.connections) named.emplace_back("redis.connections");
    if (a.memory_max_bytes != b.memory_max_bytes) named.emplace_back("redis.memory_max_size");
    // Changing it renames every key: entries stored under the old names would be orphaned.
    if (a.key_hash != b.key_hash) named.emplace_back("cache.key_hash");
    next.store = running.store;
  }
  keep(named, "admin.listen", running.admin.listen, next.admin.listen, same);
  // L1 and the pending-invalidation queue are shared objects sized at start-up.
  keep(named, "cache.l1.enabled", running.l1.enabled, next.l1.enabled);
  keep(named, "cache.l1.max_bytes", running.l1.max_bytes, next.l1.max_bytes);
  keep(named, "cache.l1.max_ttl", running.l1.max_ttl, next.l1.max_ttl);
  keep(named, "cache.max_pending_invalidations", running.max_pending_invalidations,
       next.max_pending_invalidations);
  return named;
}

}  // namespace cachecar::config
