// Route rules from the YAML `rules:` list and first-match lookup over them.
#pragma once

#include "policy/route_pattern.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

struct Rule {
  std::string name;    // the `match` text, e.g. "GET /api/users/{id}"; used as a metrics label
  std::string method;  // upper case, e.g. "GET"
  RoutePattern pattern;
  // Set = responses to GET requests matching this rule are cacheable for this long.
  std::optional<std::chrono::milliseconds> ttl;
  // Nullopt = every query param enters the key; empty = none; else only these names.
  std::optional<std::vector<std::string>> key_query;
  std::vector<InvalidationTemplate> invalidate;
  bool cache_authorized = false;  // requests with Authorization may be served from/stored in cache
  bool cache_private = false;  // store despite Cache-Control private/no-store (Set-Cookie stripped)
  std::string cache_namespace;  // `namespace:`; empty = none
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
