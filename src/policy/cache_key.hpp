// Cache keys and query-string normalisation.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

// "GET:/api/posts/?page=2": method, ':', path, then '?' and the normalised query when any
// params remain. Normalised query = params selected by `key_query` (nullopt = all, empty = none;
// names compared percent-decoded), minus `bypass_param`, each in RFC 3986 §6.2.2 form (escaped
// unreserved characters decoded, other escapes upper-case; reserved characters keep their form,
// so '+' and "%2B" differ), sorted by name only (stable: repeated params keep their order),
// joined with '&'. Empty params ("a=1&&b") are dropped; a param without '=' keeps no '='.
// A malformed '%' is a literal '%' ("%25"; the proxy refuses such targets before building a key).
std::string build_cache_key(std::string_view method, std::string_view path,
                            std::string_view raw_query,
                            const std::optional<std::vector<std::string>>& key_query,
                            std::string_view bypass_param);

// Maps Host values to the name whose responses they share (`cache.hosts`). Names are kept in
// normalize_host() form. Empty (not configured): every valid host is its own name.
class HostAliases {
 public:
  // Adds `canonical` and `aliases` (already normalised). False when one of them is already
  // mapped to another canonical name.
  bool add(const std::string& canonical, const std::vector<std::string>& aliases);
  bool empty() const noexcept { return names_.empty(); }
  // The name that selects stored responses for a normalised Host; nullopt when aliases are
  // configured and `host` is none of them (such requests are never cached).
  std::optional<std::string_view> canonical(std::string_view host) const;

 private:
  std::map<std::string, std::string, std::less<>> names_;  // alias or canonical -> canonical
};

// The key a response is stored under: the logical key plus the secondary key that selects
// among its variants, " host=<canonical host>" (core/stored_key.hpp). Erasing the logical key
// erases every variant.
std::string variant_key(std::string_view logical_key, std::string_view host);

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
