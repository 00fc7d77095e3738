#include "policy/rules.hpp"

namespace cachecar::policy {

const Rule* RuleSet::match(std::string_view method, std::string_view path, Params* params) const {
  for (const auto& rule : rules_) {
    if (rule.method == method && rule.pattern.match(path, params)) return &rule;
  }
  return nullptr;
}

}  // namespace cachecar::policy
