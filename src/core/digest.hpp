// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface, for keys that must stay bounded in size
// whatever a client sends (the Vary secondary key). Not used for anything secret.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cachecar::core {

inline constexpr std::size_t kSha256Bytes = 32;
using Sha256Digest = std::array<std::uint8_t, kSha256Bytes>;

// The raw digest of `data` (any bytes, NULs included); nullopt only when libcrypto itself fails
// (it allocates a context), which callers must not turn into a shared value.
std::optional<Sha256Digest> sha256(std::string_view data) noexcept;

// The digest as 64 lower-case hex characters; "" only when libcrypto fails.
std::string sha256_hex(std::string_view data);

// Lower-case hex of any bytes (two characters per byte).
std::string to_hex(const std::uint8_t* bytes, std::size_t size);

}  // namespace cachecar::core
