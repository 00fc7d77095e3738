// Redis key names: every key cachecar writes is its prefix plus a logical name ("GET:/a?x=1",
// "__gen:/a", "__tag:products", "__rl:<rule>:<client>"), or, with cache.key_hash: sha256, the
// prefix plus the hex SHA-256 of that name, so that no key name carries a URL (or a query
// string's personal data) and every name has a bounded length.
#pragma once

#include "core/digest.hpp"
#include "core/stored_key.hpp"

#include <array>
#include <string>
#include <string_view>
#include <utility>

namespace cachecar::store::redis {

using core::KeyHash;

// The logical names of RedisStore's bookkeeping keys, in the order its scripts take them as
// KEYS[1..10] (redis_store.hpp describes each).
inline constexpr std::array<std::string_view, 10> kBookkeepingNames = {
    "__gen",  "__index", "__expiry", "__keyns", "__namespaces",
    "__gens", "__vary",  "__names",  "__tags",  "__keytags"};

class KeyNames {
 public:
  KeyNames() = default;
  KeyNames(std::string prefix, KeyHash hash) : prefix_(std::move(prefix)), hash_(hash) {}

  // The Redis key for `logical_name`. With Sha256 the digest is of the name alone (without the
  // prefix), so that two prefixes never share a key.
  std::string of(std::string_view logical_name) const {
    if (hash_ == KeyHash::None) return prefix_ + std::string(logical_name);
    return prefix_ + core::sha256_hex(logical_name);
  }

  const std::string& prefix() const noexcept { return prefix_; }
  KeyHash hash() const noexcept { return hash_; }

 private:
  std::string prefix_;
  KeyHash hash_ = KeyHash::None;
};

}  // namespace cachecar::store::redis
