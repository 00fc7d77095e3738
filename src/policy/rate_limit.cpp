#include "policy/rate_limit.hpp"

#include "core/digest.hpp"
#include "core/strings.hpp"
#include "policy/cache_control.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace cachecar::policy {

std::string_view to_string(RateLimitBy by) noexcept {
  switch (by) {
    case RateLimitBy::ClientIp:
      return "client_ip";
    case RateLimitBy::Header:
      return "header";
  }
  return "client_ip";
}

std::ostream& operator<<(std::ostream& os, RateLimitBy by) {
  return os << to_string(by);
}

std::string_view to_string(RateLimitFailure failure) noexcept {
  switch (failure) {
    case RateLimitFailure::Open:
      return "open";
    case RateLimitFailure::Closed:
      return "closed";
  }
  return "open";
}

std::ostream& operator<<(std::ostream& os, RateLimitFailure failure) {
  return os << to_string(failure);
}

std::ostream& operator<<(std::ostream& os, const RateLimitSpec& spec) {
  os << "{limit: " << spec.limit << ", window: " << spec.window.count() << "s, by: " << spec.by;
  if (spec.by == RateLimitBy::Header) os << ":" << spec.header;
  return os << ", fail: " << spec.fail << "}";
}

std::optional<RateLimitIdentitySource> parse_rate_limit_by(std::string_view text,
                                                           std::string* error) {
  static constexpr std::string_view kHeaderPrefix = "header:";
  RateLimitIdentitySource source;
  if (text == "client_ip") return source;
  if (!text.starts_with(kHeaderPrefix)) {
    *error = "expected client_ip or header:<field name> (e.g. header:X-Api-Key), got '" +
             std::string(text) + "'";
    return std::nullopt;
  }
  const std::string_view name = text.substr(kHeaderPrefix.size());
  if (!is_http_token(name)) {
    *error = "'" + std::string(name) +
             "' is not a field name (letters, digits and !#$%&'*+-.^_`|~, RFC 9110 §5.1)";
    return std::nullopt;
  }
  source.by = RateLimitBy::Header;
  source.header = std::string(name);
  return source;
}

namespace {

using Address = std::array<std::uint8_t, 16>;

bool is_ipv4_mapped(const Address& a) noexcept {
  for (std::size_t i = 0; i < 10; ++i) {
    if (a[i] != 0) return false;
  }
  return a[10] == 0xff && a[11] == 0xff;
}

// One spelling per address, so that "::ffff:10.0.0.1", "10.0.0.1" and "0:0::ffff:a00:1" are
// one client. IPv6 is written uncompressed: simple, and still at most 39 characters.
std::string canonical_address(const Address& a) {
  char text[40];
  if (is_ipv4_mapped(a)) {
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    return text;
  }
  std::string out;
  out.reserve(39);
  for (std::size_t group = 0; group < 8; ++group) {
    if (group != 0) out.push_back(':');
    std::snprintf(text, sizeof text, "%x", (a[2 * group] << 8) | a[2 * group + 1]);
    out.append(text);
  }
  return out;
}

}  // namespace

std::string rate_limit_client_address(std::string_view peer, bool peer_trusted,
                                      std::string_view x_forwarded_for,
                                      const core::CidrSet& trusted_proxies) {
  const auto peer_address = core::parse_ip_address(peer);
  std::optional<Address> client = peer_address;
  if (peer_trusted) {
    // From the right: each trusted hop appended the address it received the request from.
    std::string_view rest = x_forwarded_for;
    while (!rest.empty()) {
      const auto comma = rest.rfind(',');
      const std::string_view entry =
          core::trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
      if (entry.empty()) continue;  // "a, , b": an empty list element (RFC 9110 §5.6.1)
      const auto address = core::parse_ip_address(entry);
      if (!address) break;
      client = address;
      if (!trusted_proxies.contains(entry)) break;
    }
  }
  if (!client) return std::string(peer);  // a peer that is not an IP address (a Unix socket)
  return canonical_address(*client);
}

std::string rate_limit_identity(const RateLimitSpec& spec, std::string_view client_address,
                                std::optional<std::string_view> header_value) {
  if (spec.by == RateLimitBy::Header && header_value && !header_value->empty()) {
    auto digest = core::sha256_hex(*header_value);
    if (!digest.empty()) return "key:" + digest;
  }
  return "ip:" + std::string(client_address);
}

std::string rate_limit_name(std::string_view rule_name, std::string_view identity) {
  std::string name;
  name.reserve(5 + rule_name.size() + 1 + identity.size());
  name.append("__rl:");
  name.append(rule_name);
  name.push_back(':');
  name.append(identity);
  return name;
}

std::int64_t ceil_seconds(std::chrono::milliseconds duration) noexcept {
  const auto ms = duration.count();
  if (ms <= 0) return 0;
  return (ms + 999) / 1000;
}

std::int64_t retry_after_seconds(const RateLimitOutcome& outcome) noexcept {
  return std::max<std::int64_t>(ceil_seconds(outcome.retry_after), 1);
}

std::vector<std::pair<std::string, std::string>> rate_limit_fields(
    const RateLimitSpec& spec, const std::optional<RateLimitOutcome>& outcome) {
  std::vector<std::pair<std::string, std::string>> fields;
  fields.reserve(5);
  fields.emplace_back("RateLimit-Limit", std::to_string(spec.limit));
  if (outcome) {
    fields.emplace_back("RateLimit-Remaining", std::to_string(outcome->remaining));
    fields.emplace_back("RateLimit-Reset", std::to_string(ceil_seconds(outcome->reset)));
  }
  fields.emplace_back("RateLimit-Policy",
                      std::to_string(spec.limit) + ";w=" + std::to_string(spec.window.count()));
  if (outcome && !outcome->allowed) {
    fields.emplace_back("Retry-After", std::to_string(retry_after_seconds(*outcome)));
  }
  return fields;
}

std::string rate_limited_body(std::int64_t retry_after_s) {
  const std::string seconds = std::to_string(retry_after_s);
  return "{\"error\": \"rate_limited\", \"detail\": \"too many requests; retry after " + seconds +
         " s\", \"retry_after\": " + seconds + "}";
}

bool is_rate_limit_field(std::string_view name) noexcept {
  for (const std::string_view known : {"RateLimit", "RateLimit-Limit", "RateLimit-Remaining",
                                       "RateLimit-Reset", "RateLimit-Policy"}) {
    if (core::iequals(name, known)) return true;
  }
  return false;
}

void strip_rate_limit_fields(std::vector<std::pair<std::string, std::string>>& fields) {
  std::erase_if(fields, [](const auto& field) { return is_rate_limit_field(field.first); });
}

}  // namespace cachecar::policy
