#include "core/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace cachecar::core {
namespace {

using Bytes = std::array<std::uint8_t, 16>;

constexpr unsigned kIpv4MappedPrefixBits = 96;

// inet_pton only: strict dotted quads (no "127.1", no octal) and RFC 4291 §2.2 text for IPv6.
std::optional<Bytes> parse_literal(std::string_view text, bool* is_v4) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string copy(text);
  Bytes out{};
  in_addr v4{};
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);  // network byte order, as in the mapped form
    *is_v4 = true;
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    *is_v4 = false;
    return out;
  }
  return std::nullopt;
}

bool is_v4_mapped(const Bytes& bytes) noexcept {
  return std::all_of(bytes.begin(), bytes.begin() + 10, [](std::uint8_t b) { return b == 0; }) &&
         bytes[10] == 0xff && bytes[11] == 0xff;
}

// Keeps the first `bits` bits, clears the rest.
Bytes masked(const Bytes& bytes, unsigned bits) noexcept {
  Bytes out{};
  for (unsigned i = 0; i < 16; ++i) {
    if (bits >= 8 * (i + 1)) {
      out[i] = bytes[i];
    } else if (bits > 8 * i) {
      out[i] = static_cast<std::uint8_t>(bytes[i] & (0xff << (8 - (bits - 8 * i))));
    }
  }
  return out;
}

std::string format(const Bytes& bytes, unsigned prefix_bits) {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4_mapped(bytes) && prefix_bits >= kIpv4MappedPrefixBits) {
    inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
    return std::string(text) + "/" + std::to_string(prefix_bits - kIpv4MappedPrefixBits);
  }
  inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(prefix_bits);
}

}  // namespace

std::optional<CidrRange> CidrRange::parse(std::string_view text, std::string* error) {
  const auto slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  bool is_v4 = false;
  const auto address = parse_literal(address_text, &is_v4);
  if (!address) {
    *error = "'" + std::string(text) +
             "' is not an IPv4 or IPv6 address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)";
    return std::nullopt;
  }
  const unsigned max_bits = is_v4 ? 32 : 128;
  unsigned bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const bool decimal =
        !digits.empty() && digits.size() <= 3 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        (digits.size() == 1 || digits.front() != '0');
    unsigned value = 0;
    for (char c : digits) value = value * 10 + static_cast<unsigned>(c - '0');
    if (!decimal || value > max_bits) {
      *error = "'" + std::string(text) + "' has an invalid prefix length (expected /0 to /" +
               std::to_string(max_bits) + ")";
      return std::nullopt;
    }
    bits = value;
  }
  CidrRange out;
  out.prefix_bits_ = is_v4 ? bits + kIpv4MappedPrefixBits : bits;
  out.network_ = masked(*address, out.prefix_bits_);
  if (out.network_ != *address) {
    *error = "'" + std::string(text) + "' has bits set past the /" + std::to_string(bits) +
             " prefix; did you mean " + out.to_string() + "?";
    return std::nullopt;
  }
  return out;
}

bool CidrRange::contains(const Bytes& address) const noexcept {
  return masked(address, prefix_bits_) == network_;
}

std::string CidrRange::to_string() const {
  return format(network_, prefix_bits_);
}

std::optional<Bytes> parse_ip_address(std::string_view text) {
  // RFC 6874 zone identifiers ("%eth0") name a local interface, not part of the address.
  const auto percent = text.find('%');
  bool is_v4 = false;
  if (percent != std::string_view::npos) {
    const auto address = parse_literal(text.substr(0, percent), &is_v4);
    if (!address || is_v4) return std::nullopt;
    return address;
  }
  return parse_literal(text, &is_v4);
}

bool CidrSet::contains(std::string_view address) const {
  if (ranges_.empty()) return false;
  const auto bytes = parse_ip_address(address);
  if (!bytes) return false;
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [&](const CidrRange& range) { return range.contains(*bytes); });
}

}  // namespace cachecar::core
