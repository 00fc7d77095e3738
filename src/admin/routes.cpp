#include "admin/routes.hpp"

#include "policy/tags.hpp"
#include "policy/uri.hpp"

#include <array>

namespace cachecar::admin {
namespace {

constexpr std::string_view kReadMethods = "GET, HEAD";

struct FixedRoute {
  std::string_view path;
  Route route;
  std::string_view allow;
};

constexpr std::array<FixedRoute, 7> kFixedRoutes{{
    {"/metrics/cache", Route::MetricsCache, kReadMethods},
    {"/metrics", Route::Metrics, kReadMethods},
    {"/health", Route::Health, kReadMethods},
    {"/cache/ping", Route::CachePing, kReadMethods},
    {"/cache/clear", Route::CacheClear, "DELETE"},
    {"/cache/reset-stats", Route::ResetStats, "POST"},
    {"/config/reload", Route::ConfigReload, "POST"},
}};

constexpr std::string_view kInvalidatePrefix = "/invalidate/";
constexpr std::string_view kInvalidateTagPrefix = "/invalidate/tag/";
constexpr std::string_view kClearNamespacePrefix = "/cache/clear/";

bool method_allowed(std::string_view method, std::string_view allow) {
  if (allow == kReadMethods) return method == "GET" || method == "HEAD";
  return method == allow;
}

RouteMatch matched(Route route, std::string_view allow) {
  RouteMatch m;
  m.kind = RouteMatch::Kind::Matched;
  m.route = route;
  m.allow = allow;
  return m;
}

RouteMatch refused(RouteMatch m, RouteMatch::Kind kind, std::string error = {}) {
  m.kind = kind;
  m.error = std::move(error);
  return m;
}

// Route arguments are decoded once; a malformed escape is a 400, not a guess.
std::optional<std::string> decode_argument(std::string_view text) {
  return policy::percent_decode(text, policy::MalformedEscape::Reject);
}

}  // namespace

std::string_view to_string(Route route) noexcept {
  switch (route) {
    case Route::MetricsCache:
      return "metrics_cache";
    case Route::Metrics:
      return "metrics";
    case Route::Health:
      return "health";
    case Route::CachePing:
      return "cache_ping";
    case Route::Invalidate:
      return "invalidate";
    case Route::InvalidateTag:
      return "invalidate_tag";
    case Route::CacheClear:
      return "cache_clear";
    case Route::CacheClearNamespace:
      return "cache_clear_namespace";
    case Route::ResetStats:
      return "reset_stats";
    case Route::ConfigReload:
      return "config_reload";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, Route route) {
  return os << to_string(route);
}

bool is_state_changing(Route route) noexcept {
  switch (route) {
    case Route::Invalidate:
    case Route::InvalidateTag:
    case Route::CacheClear:
    case Route::CacheClearNamespace:
    case Route::ResetStats:
    case Route::ConfigReload:
      return true;
    case Route::MetricsCache:
    case Route::Metrics:
    case Route::Health:
    case Route::CachePing:
      return false;
  }
  return true;
}

RouteMatch match_route(std::string_view method, std::string_view target) {
  if (target.starts_with(kInvalidateTagPrefix) && method != "DELETE") {
    auto m = matched(Route::InvalidateTag, "POST");
    if (!method_allowed(method, m.allow)) {
      m.allow = "POST, DELETE";
      return refused(m, RouteMatch::Kind::MethodNotAllowed);
    }
    auto tag = decode_argument(target.substr(kInvalidateTagPrefix.size()));
    if (!tag)
      return refused(m, RouteMatch::Kind::BadRequest, "malformed percent-encoding in the tag");
    if (tag->empty()) {
      return refused(m, RouteMatch::Kind::BadRequest, "missing tag after /invalidate/tag/");
    }
    if (!policy::is_valid_tag(*tag)) {
      return refused(m, RouteMatch::Kind::BadRequest,
                     "not a tag: a tag is 1 to " + std::to_string(policy::kMaxTagBytes) +
                         " visible ASCII characters without spaces or commas");
    }
    m.argument = std::move(*tag);
    return m;
  }
  if (target.starts_with(kInvalidatePrefix)) {
    auto m = matched(Route::Invalidate, "DELETE");
    if (!method_allowed(method, m.allow)) return refused(m, RouteMatch::Kind::MethodNotAllowed);
    auto raw = target.substr(kInvalidatePrefix.size());
    m.prefix = raw.ends_with('*');
    if (m.prefix) raw.remove_suffix(1);
    auto key = decode_argument(raw);
    if (!key)
      return refused(m, RouteMatch::Kind::BadRequest, "malformed percent-encoding in the key");
    if (key->empty() && !m.prefix) {
      return refused(m, RouteMatch::Kind::BadRequest, "missing key after /invalidate/");
    }
    m.argument = std::move(*key);
    return m;
  }

  const auto path = target.substr(0, target.find('?'));
  if (path.starts_with(kClearNamespacePrefix)) {
    auto m = matched(Route::CacheClearNamespace, "POST");
    if (!method_allowed(method, m.allow)) return refused(m, RouteMatch::Kind::MethodNotAllowed);
    auto ns = decode_argument(path.substr(kClearNamespacePrefix.size()));
    if (!ns) {
      return refused(m, RouteMatch::Kind::BadRequest,
                     "malformed percent-encoding in the namespace");
    }
    if (ns->empty()) {
      return refused(m, RouteMatch::Kind::BadRequest, "missing namespace after /cache/clear/");
    }
    m.argument = std::move(*ns);
    return m;
  }
  for (const auto& route : kFixedRoutes) {
    if (path != route.path) continue;
    auto m = matched(route.route, route.allow);
    if (!method_allowed(method, m.allow)) return refused(m, RouteMatch::Kind::MethodNotAllowed);
    return m;
  }
  return RouteMatch{};
}

}  // namespace cachecar::admin
