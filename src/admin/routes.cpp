#include "admin/routes.hpp"

#include <array>

namespace cachecar::admin {
namespace {

constexpr std::string_view kReadMethods = "GET, HEAD";

struct FixedRoute {
  std::string_view path;
  Route route;
  std::string_view allow;
};

constexpr std::array<FixedRoute, 6> kFixedRoutes{{
    {"/metrics/cache", Route::MetricsCache, kReadMethods},
    {"/metrics", Route::Metrics, kReadMethods},
    {"/health", Route::Health, kReadMethods},
    {"/cache/ping", Route::CachePing, kReadMethods},
    {"/cache/clear", Route::CacheClear, "DELETE"},
    {"/cache/reset-stats", Route::ResetStats, "POST"},
}};

constexpr std::string_view kInvalidatePrefix = "/invalidate/";
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

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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
    case Route::CacheClear:
      return "cache_clear";
    case Route::CacheClearNamespace:
      return "cache_clear_namespace";
    case Route::ResetStats:
      return "reset_stats";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, Route route) {
  return os << to_string(route);
}

bool is_state_changing(Route route) noexcept {
  switch (route) {
    case Route::Invalidate:
    case Route::CacheClear:
    case Route::CacheClearNamespace:
    case Route::ResetStats:
      return true;
    case Route::MetricsCache:
    case Route::Metrics:
    case Route::Health:
    case Route::CachePing:
      return false;
  }
  return true;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

RouteMatch match_route(std::string_view method, std::string_view target) {
  if (target.starts_with(kInvalidatePrefix)) {
    auto m = matched(Route::Invalidate, "DELETE");
    if (!method_allowed(method, m.allow)) return refused(m, RouteMatch::Kind::MethodNotAllowed);
    auto raw = target.substr(kInvalidatePrefix.size());
    m.prefix = raw.ends_with('*');
    if (m.prefix) raw.remove_suffix(1);
    auto key = percent_decode(raw);
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
    auto ns = percent_decode(path.substr(kClearNamespacePrefix.size()));
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
