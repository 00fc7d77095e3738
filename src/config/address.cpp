#include "config/address.hpp"

#include "core/strings.hpp"
#include "policy/uri.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>

namespace cachecar::config {
namespace {

constexpr std::uint16_t kDefaultHttpPort = 80;
constexpr std::uint16_t kDefaultRedisPort = 6379;

bool is_ipv4_literal(std::string_view host) {
  in_addr addr{};
  return inet_pton(AF_INET, std::string(host).c_str(), &addr) == 1;
}

bool is_ipv6_literal(std::string_view host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, std::string(host).c_str(), &addr) == 1;
}

bool is_hostname_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

// A DNS name or IPv4 literal (IPv6 literals arrive here without their brackets and are
// checked separately). Something made only of digits and dots must be a valid IPv4 address,
// so "999.0.0.1" is rejected rather than handed to the resolver.
bool is_valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (!std::all_of(host.begin(), host.end(), is_hostname_char)) return false;
  if (host.front() == '.' || host.front() == '-' || host.back() == '-') return false;
  const bool numeric = std::all_of(host.begin(), host.end(),
                                   [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  return !numeric || is_ipv4_literal(host);
}

// Decimal port, no sign, no leading '+', at most 65535.
std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

struct Authority {
  std::string host;
  std::optional<std::string_view> port_text;  // set when a ':' follows the host
};

// Splits "host", "host:port", "[v6]" or "[v6]:port"; nullopt when brackets are malformed or an
// IPv6 literal is not bracketed.
std::optional<Authority> split_authority(std::string_view text) {
  Authority out;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view host = text.substr(1, close - 1);
    if (!is_ipv6_literal(host)) return std::nullopt;
    out.host = std::string(host);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      out.port_text = rest.substr(1);
    }
    return out;
  }
  const auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
    return std::nullopt;  // an unbracketed IPv6 literal is ambiguous
  }
  out.host = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) out.port_text = text.substr(colon + 1);
  if (!out.host.empty() && !is_valid_host(out.host)) return std::nullopt;
  return out;
}

// For URLs: a non-empty host, an optional port 1-65535.
std::optional<HostPort> parse_url_authority(std::string_view text, std::uint16_t default_port,
                                            std::string* error) {
  const auto authority = split_authority(text);
  if (!authority || authority->host.empty()) {
    *error = "invalid host '" + std::string(text) + "'";
    return std::nullopt;
  }
  HostPort out{authority->host, default_port};
  if (authority->port_text) {
    const auto port = parse_port(*authority->port_text);
    if (!port || *port == 0) {
      *error = "invalid port '" + std::string(*authority->port_text) + "' (expected 1-65535)";
      return std::nullopt;
    }
    out.port = *port;
  }
  return out;
}

// Case-insensitive scheme check; on success `url` is left holding what follows "scheme://".
bool strip_scheme(std::string_view& url, std::string_view scheme_with_slashes) {
  if (url.size() < scheme_with_slashes.size() ||
      !core::iequals(url.substr(0, scheme_with_slashes.size()), scheme_with_slashes)) {
    return false;
  }
  url.remove_prefix(scheme_with_slashes.size());
  return true;
}

}  // namespace

std::string HostPort::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  const auto authority = split_authority(text);
  if (!authority || !authority->port_text) return std::nullopt;
  const auto port = parse_port(*authority->port_text);
  if (!port) return std::nullopt;
  return HostPort{authority->host.empty() ? "0.0.0.0" : authority->host, *port};
}

std::optional<UpstreamUrl> parse_upstream_url(std::string_view url, std::string* error) {
  std::string_view rest = url;
  if (!strip_scheme(rest, "http://")) {
    if (strip_scheme(rest, "https://")) {
      *error = "https:// upstreams are not supported; use http://host[:port][/base/path]";
    } else {
      *error = "expected http://host[:port][/base/path]";
    }
    return std::nullopt;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    *error = "a query or fragment is not allowed; expected http://host[:port][/base/path]";
    return std::nullopt;
  }
  if (rest.find('@') != std::string_view::npos) {
    *error = "user information (user@host) is not supported";
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  const auto address = parse_url_authority(rest.substr(0, slash), kDefaultHttpPort, error);
  if (!address) return std::nullopt;
  UpstreamUrl out{*address, {}};
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (std::any_of(path.begin(), path.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
      *error = "the base path contains spaces or control characters";
      return std::nullopt;
    }
    out.base_path = std::string(path);
  }
  return out;
}

std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string* error) {
  std::string_view rest = url;
  if (strip_scheme(rest, "memory://")) {
    if (!rest.empty()) {
      *error = "memory:// takes no host or path";
      return std::nullopt;
    }
    RedisUrl out;
    out.memory = true;
    return out;
  }
  RedisUrl out;
  if (strip_scheme(rest, "rediss://")) {
    out.tls = true;
  } else if (!strip_scheme(rest, "redis://")) {
    *error = "expected redis://[[user]:password@]host[:port][/db], rediss://... or memory://";
    return std::nullopt;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    *error =
        "query parameters are not supported; expected redis://[[user]:password@]host[:port][/db]";
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    auto user = policy::percent_decode(userinfo.substr(0, colon), policy::MalformedEscape::Reject);
    if (!user) {
      *error = "the user name has a malformed %-escape";
      return std::nullopt;
    }
    if (colon != std::string_view::npos) {
      auto password =
          policy::percent_decode(userinfo.substr(colon + 1), policy::MalformedEscape::Reject);
      if (!password) {
        *error = "the password has a malformed %-escape";
        return std::nullopt;
      }
      out.password = std::move(*password);
    }
    if (userinfo.empty() || (colon != std::string_view::npos && out.password.empty())) {
      *error = "an empty password; write redis://[user]:password@host";
      return std::nullopt;
    }
    out.user = std::move(*user);
    authority.remove_prefix(at + 1);
  }
  const auto address = parse_url_authority(authority, kDefaultRedisPort, error);
  if (!address) return std::nullopt;
  out.address = *address;
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      int value = -1;
      auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), value);
      if (ec != std::errc{} || end != db.data() + db.size() || value < 0 || db.front() == '-') {
        *error = "invalid database number '" + std::string(db) + "' (expected an integer >= 0)";
        return std::nullopt;
      }
      out.db = value;
    }
  }
  return out;
}

bool is_loopback_host(std::string_view host) {
  if (core::iequals(host, "localhost")) return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace cachecar::config
