// cachecar's validated configuration, built from YAML plus CACHECAR_* environment overrides.
// Loading throws ConfigError (start-up only); everything after that reads these plain structs.
#pragma once

#include "core/cidr.hpp"
#include "core/stored_key.hpp"
#include "policy/cache_key.hpp"
#include "policy/cacheability.hpp"
#include "policy/rules.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cachecar::config {

// Every message names the source, line and field: "cachecar.yaml:14: rules[1].ttl: ...".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HostPort {
  std::string host;  // literal address or name; "0.0.0.0", "127.0.0.1", "::1", "localhost"
  std::uint16_t port = 0;
  std::string to_string() const;  // "host:port", IPv6 in brackets
};

struct UpstreamConfig {
  std::string url;  // as written, "http://127.0.0.1:8000"; only http:// is supported
  HostPort address;
  std::string base_path;  // path prefix of the url ("" or "/v1"), prepended to forwarded paths
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds timeout{30'000};  // whole response (header and each body read)
  std::size_t max_idle_connections = 64;      // per thread
};

// `redis.tls`, used with a rediss:// URL. The files are checked to be readable at load time.
struct RedisTlsConfig {
  bool enabled = false;   // the URL is rediss://
  std::string ca_file;    // empty: the system's CA certificates
  std::string cert_file;  // client certificate and key (tls-auth-clients yes): both or neither
  std::string key_file;
  bool verify = true;       // the server's certificate chain and name
  std::string server_name;  // SNI and the name verified; empty: the URL's host
};

struct StoreConfig {
  std::string url;      // as written
  bool memory = false;  // "memory://"
  HostPort address;     // redis host/port when !memory
  std::string user;     // ACL user from redis://user:password@host (AUTH user password)
  // From the URL, replaced by redis.password_file, replaced by CACHECAR_REDIS_PASSWORD.
  std::string password;
  int db = 0;
  RedisTlsConfig tls;
  std::string key_prefix = "cachecar:";
  std::chrono::milliseconds timeout{100};        // per command
  std::size_t connections = 1;                   // pipelined connections per thread
  std::uint64_t memory_max_bytes = 64ULL << 20;  // memory:// capacity
  // cache.key_hash: how Redis key names are made (store/redis/key_names.hpp); restart-only.
  core::KeyHash key_hash = core::KeyHash::None;
};

struct AdminConfig {
  HostPort listen{"127.0.0.1", 8081};
  std::string token;  // empty = none
  bool allow_unauthenticated = false;
};

struct LimitsConfig {
  std::uint32_t max_header_bytes = 16 * 1024;               // larger request head -> 431
  std::uint64_t max_request_body_bytes = 64ULL << 20;       // larger request body -> 413
  std::chrono::milliseconds client_header_timeout{10'000};  // to receive a request head
  std::chrono::milliseconds client_idle_timeout{60'000};    // keep-alive idle between requests
  std::chrono::milliseconds client_body_timeout{30'000};    // per body read / response write
};

// The in-process tier in front of Redis: hot entries served without a round trip.
struct L1Config {
  bool enabled = false;
  std::uint64_t max_bytes = 64ULL << 20;      // shared by all threads
  std::chrono::milliseconds max_ttl{30'000};  // an entry stays in L1 at most this long
};

struct LogConfig {
  std::string level = "info";   // trace, debug, info, warn, error, off
  std::string format = "text";  // text | json
  bool access_log = true;
};

struct Config {
  std::string source;  // file path, for messages
  HostPort listen{"0.0.0.0", 8080};
  unsigned threads = 0;  // 0 = one per core ("auto")
  UpstreamConfig upstream;
  StoreConfig store;
  AdminConfig admin;
  policy::CacheLimits cache;
  std::string bypass_param = "nocache";
  // cache.bypass_token: when set, the bypass also needs "X-Cachecar-Bypass: <token>".
  std::string bypass_token;
  // cache.hosts: Host aliases sharing one canonical name; when set, other hosts are not cached.
  policy::HostAliases hosts;
  L1Config l1;
  // Concurrent misses for one key wait this long for the first one's response (0 = off).
  std::chrono::milliseconds coalesce_wait{5'000};
  // Write invalidations that failed are kept (and replayed) up to this many; beyond it every
  // lookup misses until the whole cache has been cleared once.
  std::size_t max_pending_invalidations = 10'000;
  LimitsConfig limits;
  LogConfig log;
  // Peers whose X-Forwarded-* and Forwarded fields are believed (empty: nobody's).
  core::CidrSet trusted_proxies;
  // The top-level `rate_limit:`: every rule's limit unless the rule sets its own (each rule
  // holds the result in policy::Rule::rate_limit). Nullopt: only rules that say so are limited.
  std::optional<policy::RateLimitSpec> rate_limit;
  policy::RuleSet rules;
};

// Returns the value of an environment variable, or nullopt. Injected for tests.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_env();

// Parses and validates. `source` names the text in messages. Env overrides (CACHECAR_LISTEN,
// CACHECAR_UPSTREAM_URL, CACHECAR_REDIS_URL, CACHECAR_ADMIN_LISTEN, CACHECAR_ADMIN_TOKEN,
// CACHECAR_BYPASS_TOKEN, CACHECAR_LOG_LEVEL) are applied before validation. Throws ConfigError.
Config load_config_text(std::string_view yaml, std::string_view source, const EnvLookup& env);
Config load_config_file(const std::string& path, const EnvLookup& env);

// Parses "host:port", "[::1]:port" or ":port". Nullopt when malformed.
std::optional<HostPort> parse_host_port(std::string_view text);

}  // namespace cachecar::config
