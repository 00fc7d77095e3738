// ${NAME} and ${NAME:-default} references in configuration text, expanded from the environment
// before YAML parsing (so one file serves several deployments).
#pragma once

#include "config/config.hpp"

#include <string>
#include <string_view>

namespace cachecar::config {

// Replaces every ${NAME} / ${NAME:-default} outside YAML comments with the variable's value
// (the default when unset). NAME is [A-Za-z_][A-Za-z0-9_]*. `$${` stands for a literal `${`.
// Throws ConfigError "<source>:<line>: ..." for an unset variable without default or an
// unterminated reference. Line structure is kept, so later messages keep their line numbers.
std::string expand_env_references(std::string_view text, std::string_view source,
                                  const EnvLookup& env);

}  // namespace cachecar::config
