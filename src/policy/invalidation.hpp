// Which cache entries a successful write invalidates (RFC 9111 §4.4 plus the rule's templates).
#pragma once

#include "policy/route_pattern.hpp"
#include "policy/rules.hpp"

#include <string_view>
#include <vector>

namespace cachecar::policy {

struct WriteResponse {
  std::string_view request_path;      // path of the write request, without query
  std::string_view request_host;      // Host header of the write request ("" if none)
  std::string_view location;          // response Location header ("" if none)
  std::string_view content_location;  // response Content-Location header ("" if none)
};

// True for the methods whose non-error responses invalidate: every method not known to be safe,
// i.e. all but GET, HEAD, OPTIONS and TRACE (RFC 9111 §4.4, RFC 9110 §9.2.1; names are
// case-sensitive, RFC 9110 §9.1), and for the statuses that count as non-error (2xx, 3xx).
bool is_invalidating_method(std::string_view method) noexcept;
bool is_invalidating_status(int status) noexcept;

// The entries to delete after `rule` (may be null) matched a write that succeeded: the rule's
// filled templates and invalidate_tags (Kind::Tag), the GET entry of the request path (with query
// variants), and the GET entries of Location/Content-Location when they are a path or an absolute
// http(s) URL on the request's own host. Duplicates are removed.
std::vector<EraseSpec> invalidation_targets(const Rule* rule, const Params& params,
                                            const WriteResponse& write);

// The path of a Location-style reference when it names this host: "/a/b?x" -> "/a/b";
// "http://host/a" -> "/a" when host matches (case-insensitive, port included); relative
// references ("c", "../c") resolve against `base_path`. Empty when it names another host.
// Normalised like a request path (normalize_path), so it names the key the origin means.
std::string resolve_same_host_path(std::string_view reference, std::string_view request_host,
                                   std::string_view base_path);

}  // namespace cachecar::policy
