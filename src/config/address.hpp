// Parsing of the addresses that appear in configuration: upstream and Redis URLs, loopback test.
// Private to config/: errors come back as text for the loader to prefix with source and field.
#pragma once

#include "config/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cachecar::config {

struct UpstreamUrl {
  HostPort address;
  std::string base_path;  // "" or "/v1" (no trailing '/')
};

// "http://host[:port][/base/path]", port 1-65535 (default 80). Nullopt with *error set otherwise.
std::optional<UpstreamUrl> parse_upstream_url(std::string_view url, std::string* error);

struct RedisUrl {
  bool memory = false;
  bool tls = false;  // rediss://
  HostPort address;
  std::string user;
  std::string password;
  int db = 0;
};

// "redis[s]://[[user]:password@]host[:port][/db]" (port default 6379, db default 0; user and
// password are percent-decoded; "user@" alone names a user whose password comes from elsewhere)
// or exactly "memory://". Nullopt with *error set otherwise.
std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string* error);

// True for "localhost", 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses.
bool is_loopback_host(std::string_view host);

}  // namespace cachecar::config
