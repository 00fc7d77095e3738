// Admin API routing: which route a request method and target name, what methods a path
// allows, and the decoded route argument (a cache key, a namespace). Pure: no I/O, no Beast.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace cachecar::admin {

enum class Route {
  MetricsCache,         // GET /metrics/cache
  Metrics,              // GET /metrics
  Health,               // GET /health
  CachePing,            // GET /cache/ping
  Invalidate,           // DELETE /invalidate/<key>[*]
  InvalidateTag,        // POST /invalidate/tag/<tag>
  CacheClear,           // DELETE /cache/clear
  CacheClearNamespace,  // POST /cache/clear/<namespace>
  ResetStats,           // POST /cache/reset-stats
  ConfigReload,         // POST /config/reload
};
std::string_view to_string(Route route) noexcept;
std::ostream& operator<<(std::ostream& os, Route route);

// Routes that change state need the bearer token (when one is configured).
bool is_state_changing(Route route) noexcept;

struct RouteMatch {
  enum class Kind {
    Matched,
    NotFound,          // no such path
    MethodNotAllowed,  // the path exists; `allow` lists its methods
    BadRequest,        // the path exists but its argument is malformed; see `error`
  };
  Kind kind = Kind::NotFound;
  Route route = Route::Health;
  std::string_view allow;  // "GET, HEAD", "DELETE" or "POST" (set unless NotFound)
  // Invalidate: the logical key (percent-decoded, without the prefix marker); InvalidateTag:
  // the tag (percent-decoded, a valid tag);
  // CacheClearNamespace: the namespace (percent-decoded).
  std::string argument;
  bool prefix = false;  // Invalidate: the target ended in an unencoded '*'
  std::string error;    // BadRequest: what is wrong
};

// Matches `method` (as received) and `target` (origin-form, "/path?query").
// For /invalidate/ everything after that prefix is the key, '?' and query included (logical
// keys contain '?'), percent-decoded once. A trailing literal '*' asks for every key with that
// prefix; "%2A" is a literal '*' and no other character is special. POST /invalidate/tag/<tag>
// takes everything after that prefix as the tag, the same way (DELETE there stays a key
// invalidation: no logical key starts with "tag/"). Other paths ignore the query.
RouteMatch match_route(std::string_view method, std::string_view target);

}  // namespace cachecar::admin
