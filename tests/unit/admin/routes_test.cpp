#include "admin/routes.hpp"

#include <gtest/gtest.h>

namespace cachecar::admin {
namespace {

using Kind = RouteMatch::Kind;

struct RouteCase {
  std::string name;
  std::string method;
  std::string target;
  Kind kind;
  Route route;
  std::string argument;
  bool prefix;
};

std::ostream& operator<<(std::ostream& os, const RouteCase& c) {
  return os << c.name;
}

class RouteTable : public ::testing::TestWithParam<RouteCase> {};

TEST_P(RouteTable, Matches) {
  const auto& c = GetParam();
  const auto m = match_route(c.method, c.target);
  ASSERT_EQ(m.kind, c.kind) << m.error;
  if (c.kind == Kind::NotFound) return;
  EXPECT_EQ(m.route, c.route);
  if (c.kind == Kind::Matched) {
    EXPECT_EQ(m.argument, c.argument);
    EXPECT_EQ(m.prefix, c.prefix);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Admin, RouteTable,
    ::testing::Values(
        RouteCase{"metrics_cache", "GET", "/metrics/cache", Kind::Matched, Route::MetricsCache},
        RouteCase{"metrics", "GET", "/metrics", Kind::Matched, Route::Metrics},
        RouteCase{"metrics_head", "HEAD", "/metrics", Kind::Matched, Route::Metrics},
        RouteCase{"metrics_query_ignored", "GET", "/metrics?x=1", Kind::Matched, Route::Metrics},
        RouteCase{"health", "GET", "/health", Kind::Matched, Route::Health},
        RouteCase{"ping", "GET", "/cache/ping", Kind::Matched, Route::CachePing},
        RouteCase{"clear", "DELETE", "/cache/clear", Kind::Matched, Route::CacheClear},
        RouteCase{"clear_ns", "POST", "/cache/clear/users", Kind::Matched,
                  Route::CacheClearNamespace, "users"},
        RouteCase{"clear_ns_encoded", "POST", "/cache/clear/a%20b", Kind::Matched,
                  Route::CacheClearNamespace, "a b"},
        RouteCase{"reset", "POST", "/cache/reset-stats", Kind::Matched, Route::ResetStats},
        RouteCase{"config_reload", "POST", "/config/reload", Kind::Matched, Route::ConfigReload},
        RouteCase{"get_on_config_reload", "GET", "/config/reload", Kind::MethodNotAllowed,
                  Route::ConfigReload},
        RouteCase{"invalidate_exact", "DELETE", "/invalidate/GET:/api/posts/", Kind::Matched,
                  Route::Invalidate, "GET:/api/posts/", false},
        RouteCase{"invalidate_keeps_query", "DELETE", "/invalidate/GET:/api/posts/?page=2",
                  Kind::Matched, Route::Invalidate, "GET:/api/posts/?page=2", false},
        RouteCase{"invalidate_decoded", "DELETE", "/invalidate/GET%3A%2Fapi%2Fposts%2F%3Fpage%3D2",
                  Kind::Matched, Route::Invalidate, "GET:/api/posts/?page=2", false},
        RouteCase{"invalidate_percent_in_key", "DELETE", "/invalidate/GET:/s?q=a%2520b",
                  Kind::Matched, Route::Invalidate, "GET:/s?q=a%20b", false},
        RouteCase{"invalidate_prefix", "DELETE", "/invalidate/GET:/api/*", Kind::Matched,
                  Route::Invalidate, "GET:/api/", true},
        RouteCase{"invalidate_everything", "DELETE", "/invalidate/*", Kind::Matched,
                  Route::Invalidate, "", true},
        RouteCase{"invalidate_encoded_star_is_literal", "DELETE", "/invalidate/GET:/a%2A",
                  Kind::Matched, Route::Invalidate, "GET:/a*", false},
        RouteCase{"invalidate_inner_glob_chars_literal", "DELETE", "/invalidate/GET:/a*b?[x]",
                  Kind::Matched, Route::Invalidate, "GET:/a*b?[x]", false},
        RouteCase{"invalidate_missing_key", "DELETE", "/invalidate/", Kind::BadRequest,
                  Route::Invalidate},
        RouteCase{"invalidate_bad_escape", "DELETE", "/invalidate/GET:/a%2", Kind::BadRequest,
                  Route::Invalidate},
        RouteCase{"invalidate_bad_hex", "DELETE", "/invalidate/GET:/a%zz", Kind::BadRequest,
                  Route::Invalidate},
        RouteCase{"clear_ns_missing", "POST", "/cache/clear/", Kind::BadRequest,
                  Route::CacheClearNamespace},
        RouteCase{"clear_ns_bad_escape", "POST", "/cache/clear/a%4", Kind::BadRequest,
                  Route::CacheClearNamespace},
        RouteCase{"invalidate_plus_is_literal", "DELETE", "/invalidate/GET:/s?q=a+b", Kind::Matched,
                  Route::Invalidate, "GET:/s?q=a+b", false},
        RouteCase{"get_on_invalidate", "GET", "/invalidate/x", Kind::MethodNotAllowed,
                  Route::Invalidate},
        RouteCase{"post_on_health", "POST", "/health", Kind::MethodNotAllowed, Route::Health},
        RouteCase{"get_on_clear", "GET", "/cache/clear", Kind::MethodNotAllowed, Route::CacheClear},
        RouteCase{"delete_on_clear_ns", "DELETE", "/cache/clear/users", Kind::MethodNotAllowed,
                  Route::CacheClearNamespace},
        RouteCase{"get_on_reset", "GET", "/cache/reset-stats", Kind::MethodNotAllowed,
                  Route::ResetStats},
        RouteCase{"lowercase_method", "get", "/health", Kind::MethodNotAllowed, Route::Health},
        RouteCase{"unknown", "GET", "/nope", Kind::NotFound},
        RouteCase{"root", "GET", "/", Kind::NotFound},
        RouteCase{"trailing_slash", "GET", "/health/", Kind::NotFound},
        RouteCase{"invalidate_without_slash", "DELETE", "/invalidate", Kind::NotFound},
        RouteCase{"prefix_lookalike", "GET", "/metricsx", Kind::NotFound}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(RouteMatch, AllowListsTheMethodsOfThePath) {
  EXPECT_EQ(match_route("PUT", "/metrics").allow, "GET, HEAD");
  EXPECT_EQ(match_route("GET", "/invalidate/k").allow, "DELETE");
  EXPECT_EQ(match_route("GET", "/cache/reset-stats").allow, "POST");
}

TEST(RouteMatch, StateChangingRoutes) {
  EXPECT_TRUE(is_state_changing(Route::Invalidate));
  EXPECT_TRUE(is_state_changing(Route::CacheClear));
  EXPECT_TRUE(is_state_changing(Route::CacheClearNamespace));
  EXPECT_TRUE(is_state_changing(Route::ResetStats));
  EXPECT_TRUE(is_state_changing(Route::ConfigReload));
  EXPECT_FALSE(is_state_changing(Route::Metrics));
  EXPECT_FALSE(is_state_changing(Route::MetricsCache));
  EXPECT_FALSE(is_state_changing(Route::Health));
  EXPECT_FALSE(is_state_changing(Route::CachePing));
}

}  // namespace
}  // namespace cachecar::admin
