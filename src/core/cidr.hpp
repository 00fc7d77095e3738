// IP address ranges in CIDR notation (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6) and a matcher
// for peer addresses. Pure: no sockets, no Asio, no name resolution.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::core {

// One range. IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d/96+n, RFC 4291 §2.5.5.2), so an
// IPv4 range also matches a peer that a dual-stack socket reports as ::ffff:a.b.c.d; the
// reverse holds too. "0.0.0.0/0" is every IPv4 peer, "::/0" every peer.
class CidrRange {
 public:
  // "a.b.c.d", "a.b.c.d/0-32", "v6" or "v6/0-128" (no brackets, no zone). A single address is
  // a /32 or /128. Bits set past the prefix are an error (a typo, or a subnet misremembered).
  // Nullopt with *error set otherwise.
  static std::optional<CidrRange> parse(std::string_view text, std::string* error);

  bool contains(const std::array<std::uint8_t, 16>& address) const noexcept;
  std::string to_string() const;  // as it would be written: "10.0.0.0/8", "2001:db8::/32"

 private:
  std::array<std::uint8_t, 16> network_{};
  unsigned prefix_bits_ = 0;  // of the 128-bit form
};

// An address as a socket reports it: dotted IPv4, or IPv6 with an optional zone ("fe80::1%eth0",
// the zone is ignored). Nullopt for anything else (names are never resolved).
std::optional<std::array<std::uint8_t, 16>> parse_ip_address(std::string_view text);

class CidrSet {
 public:
  CidrSet() = default;
  explicit CidrSet(std::vector<CidrRange> ranges) : ranges_(std::move(ranges)) {}

  // True when `address` (see parse_ip_address) lies in one of the ranges; false when it is
  // not an IP address or the set is empty.
  bool contains(std::string_view address) const;
  bool empty() const noexcept { return ranges_.empty(); }
  const std::vector<CidrRange>& ranges() const noexcept { return ranges_; }

 private:
  std::vector<CidrRange> ranges_;
};

}  // namespace cachecar::core
