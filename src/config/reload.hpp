// What a configuration reload may change in a running process and what only a restart can:
// the settings that shaped objects built once at start-up. Pure: no I/O.
#pragma once

#include "config/config.hpp"

#include <string>
#include <vector>

namespace cachecar::config {

// The restart-only settings: listen, threads, upstream.url, upstream.connect_timeout,
// upstream.max_idle_connections, the whole redis section, admin.listen, cache.l1 and
// cache.max_pending_invalidations. Each that differs between `running` and `next` is named by
// its YAML path ("threads", "redis.url"), in that order, and every one of them is set back to
// its running value in `next`, which then holds exactly what the reload applies.
std::vector<std::string> keep_restart_only(const Config& running, Config& next);

}  // namespace cachecar::config
