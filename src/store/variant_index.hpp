// The variant index: the value under a primary stored key whose responses carry Vary. It names
// the Vary fields (so a lookup can compute the request's secondary key) and the variants stored,
// oldest first (so a fill can evict beyond max_variants without reading every variant).
//   "CCV1 " <field>[,<field>...] "\n" { <variant secondary key> "\n" }
// Entries (policy/entry.hpp) start with "CC" + a digit too, never with "CCV".
#pragma once

#include "store/cache_store.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::store {

inline constexpr std::string_view kVariantIndexMagic = "CCV1 ";

inline bool is_variant_index(std::string_view value) noexcept {
  return value.starts_with(kVariantIndexMagic);
}

// The Vary field names of an index; nullopt when `value` is not a well-formed index.
std::optional<std::vector<std::string>> variant_index_fields(std::string_view value);

// An index naming `fields` and the given variants (secondary keys as policy::vary_secondary_key
// returns them, oldest first).
std::string encode_variant_index(const std::vector<std::string>& fields,
                                 const std::vector<std::string>& variants);

// The variants an index lists, oldest first; empty when malformed.
std::vector<std::string> variant_index_members(std::string_view value);

// The secondary key of `variant` (variant_key after primary_key), or nullopt when the fill is
// malformed: variant_key does not extend primary_key with a separator, or the fields are not
// valid lower-case field names. Stores refuse such a fill (invalid_argument).
std::optional<std::string_view> variant_secondary_key(const VariantFill& variant);

}  // namespace cachecar::store
