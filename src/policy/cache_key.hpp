// Cache keys and query-string normalisation.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

// "GET:/api/posts/?page=2": method, ':', path, then '?' and the normalised query when any
// params remain. Normalised query = params selected by `key_query` (nullopt = all, empty = none),
// minus `bypass_param`, percent-decoded and re-encoded canonically (unreserved characters
// literal, everything else %XX upper-case), sorted by name then value, joined with '&'.
// Empty params ("a=1&&b") are dropped; a param without '=' keeps no '=' in the key.
std::string build_cache_key(std::string_view method, std::string_view path,
                            std::string_view raw_query,
                            const std::optional<std::vector<std::string>>& key_query,
                            std::string_view bypass_param);

// The raw query with every occurrence of `param` removed, other params untouched in order.
// Used to strip the bypass param before forwarding. Returns "" when nothing remains.
std::string remove_query_param(std::string_view raw_query, std::string_view param);

// True when the query carries `param` with value "true" or "1" (case-insensitive), or with no
// value at all ("?nocache").
bool query_flag_set(std::string_view raw_query, std::string_view param);

// Splits a request target "/p?q" into path and raw query (without '?').
struct Target {
  std::string_view path;
  std::string_view query;
};
Target split_target(std::string_view target);

}  // namespace cachecar::policy
