// The layout of a stored cache key, shared by policy (which builds keys) and store (which erases
// every variant of a logical key). Plain string functions, no allocation.
#pragma once

#include <ostream>
#include <string_view>

namespace cachecar::core {

// A stored key is a logical (primary) key, "GET:/a?x=1", optionally followed by a secondary key
// that selects one variant of the response: for each selecting field, this separator and
// "name=value" ("GET:/a?x=1 host=api.example.com"). A normalised request target never contains
// a space (RFC 3986 has no literal space; the normaliser encodes it), so the first separator
// always ends the logical key, and "<logical key><separator>" bounds all its variants.
inline constexpr char kSecondaryKeySeparator = ' ';

// The logical key of a stored key ("GET:/a?x=1" for "GET:/a?x=1 host=h").
inline std::string_view logical_key(std::string_view stored_key) noexcept {
  return stored_key.substr(0, stored_key.find(kSecondaryKeySeparator));
}

// How the Redis store names its keys (cache.key_hash; store/redis/key_names.hpp).
enum class KeyHash {
  None,    // prefix + logical name
  Sha256,  // prefix + 64 hex characters of the name's SHA-256
};

inline std::string_view to_string(KeyHash hash) noexcept {
  return hash == KeyHash::Sha256 ? "sha256" : "none";
}
inline std::ostream& operator<<(std::ostream& out, KeyHash hash) {
  return out << to_string(hash);
}

}  // namespace cachecar::core
