#include "core/digest.hpp"

#include <openssl/evp.h>

namespace cachecar::core {

std::optional<Sha256Digest> sha256(std::string_view data) noexcept {
  Sha256Digest digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size()) {
    return std::nullopt;
  }
  return digest;
}

std::string sha256_hex(std::string_view data) {
  auto digest = sha256(data);
  if (!digest) return {};
  return to_hex(digest->data(), digest->size());
}

std::string to_hex(const std::uint8_t* bytes, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * size);
  for (std::size_t i = 0; i < size; ++i) {
    hex.push_back(kHex[bytes[i] >> 4]);
    hex.push_back(kHex[bytes[i] & 0xf]);
  }
  return hex;
}

}  // namespace cachecar::core
