// Route rules from the YAML `rules:` list and first-match lookup over them.
#pragma once

#include "policy/rate_limit.hpp"
#include "policy/route_pattern.hpp"
#include "policy/tags.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

// Where a rule's freshness lifetimes come from.
enum class FreshnessMode {
  Rule,      // the rule's ttl, whatever the response says (responses' no-store/private still apply)
  Upstream,  // the response's explicit freshness (RFC 9111 §4.2.1), else the heuristic or ttl
};

// Whether a client's request Cache-Control (RFC 9111 §5.2.1) changes what the cache does.
enum class ClientCacheControl {
  Ignore,  // like Varnish and nginx: clients cannot force the origin to be asked
  Honor,   // no-cache, max-age, max-stale, min-fresh, no-store; for trusted clients only
};

struct Rule {
  std::string name;    // the `match` text, e.g. "GET /api/users/{id}"; used as a metrics label
  std::string method;  // upper case, e.g. "GET"
  RoutePattern pattern;
  // Set = responses to GET requests matching this rule are cacheable for this long.
  std::optional<std::chrono::milliseconds> ttl;
  // Nullopt = every query param enters the key; empty = none; else only these names.
  std::optional<std::vector<std::string>> key_query;
  std::vector<InvalidationTemplate> invalidate;
  std::vector<TagTemplate> tags;             // added to every entry this rule stores
  std::vector<TagTemplate> invalidate_tags;  // erased after a successful write matching it
  bool cache_authorized = false;  // requests with Authorization may be served from/stored in cache
  bool cache_private = false;  // store despite Cache-Control private/no-store (Set-Cookie stripped)
  std::string cache_namespace;  // `namespace:`; empty = none

  FreshnessMode freshness = FreshnessMode::Rule;
  // freshness: upstream: 10 % of (Date - Last-Modified) when the response has no explicit
  // freshness (RFC 9111 §4.2.2), capped by ttl when ttl is set.
  bool heuristic = false;
  // Used when the response has no stale-while-revalidate / stale-if-error directive (RFC 5861).
  std::chrono::milliseconds stale_while_revalidate{0};
  std::chrono::milliseconds stale_if_error{0};
  ClientCacheControl client_cache_control = ClientCacheControl::Ignore;
  std::size_t max_variants = 8;  // Vary variants kept per key (Host variants do not count)
  // Set: every request this rule matches spends a budget (its own `rate_limit:`, or the
  // top-level default); nullopt: not limited (`rate_limit: off`, or no limit configured).
  std::optional<RateLimitSpec> rate_limit;

  // GET responses matching this rule may be stored: a rule-mode rule needs a ttl; an
  // upstream-mode rule stores what the response's freshness allows.
  bool caches() const noexcept { return ttl.has_value() || freshness == FreshnessMode::Upstream; }
};

class RuleSet {
 public:
  RuleSet() = default;
  explicit RuleSet(std::vector<Rule> rules) : rules_(std::move(rules)) {}

  // First rule whose method equals `method` and whose pattern matches `path`; nullptr when none.
  // *params (if given) receives the captures of the matching rule.
  const Rule* match(std::string_view method, std::string_view path, Params* params) const;

  const std::vector<Rule>& rules() const noexcept { return rules_; }

 private:
  std::vector<Rule> rules_;
};

}  // namespace cachecar::policy
