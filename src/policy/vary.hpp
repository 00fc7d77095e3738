// Vary (RFC 9111 §4.1): which request fields select a stored variant, and the secondary key a
// request's values of those fields make. Pure.
#pragma once

#include "policy/http_view.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

struct VarySpec {
  bool any = false;  // Vary: * — never matches a later request: not stored
  // Lower-cased field names, sorted and unique, from every Vary line. Accept-Encoding is left
  // out for an identity body (no Content-Encoding or "identity"): the stored representation is
  // then the same whatever the client accepts, so it stays one shared entry.
  std::vector<std::string> fields;
  // Accept-Encoding was named but left out of `fields` (an identity body). Where the key already
  // holds variants on it (compressed ones), the identity body must be stored as one of them.
  bool identity_accept_encoding = false;
  bool varies() const noexcept { return any || !fields.empty(); }
};
VarySpec vary_of(const HeaderList& response_headers);

// A request field's value normalised for matching (RFC 9111 §4.1): every line of the field
// combined with ", ", whitespace around list items trimmed, empty items dropped, order kept;
// for Accept-Encoding each item lower-cased without whitespace and the items sorted (weights
// kept: each coding carries its own). nullopt when the request lacks the field (which then
// matches a variant stored without it, and only such a variant).
std::optional<std::string> normalized_request_field(const HeaderList& request_headers,
                                                    std::string_view field);

// The secondary key, appended to the stored key of the primary response: the separator of
// core/stored_key.hpp, "vary=" and a SHA-256 (hex, 32 characters) over each field's name and
// normalised value (absence distinct from an empty value), in `fields` order. Bounded in size
// whatever the client sends; a client cannot make its values collide with another's.
std::string vary_secondary_key(const std::vector<std::string>& fields,
                               const HeaderList& request_headers);

}  // namespace cachecar::policy
