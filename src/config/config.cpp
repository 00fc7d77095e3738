#include "config/config.hpp"
#include "config/env_expand.hpp"

#include "config/address.hpp"
#include "core/gzip.hpp"
#include "core/strings.hpp"
#include "core/units.hpp"
#include "policy/cache_control.hpp"
#include "policy/compression.hpp"
#include "policy/invalidation.hpp"
#include "policy/tags.hpp"
#include "policy/uri.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <utility>

namespace cachecar::config {
namespace {

using std::chrono::milliseconds;

constexpr unsigned kMaxThreads = 1024;
constexpr std::size_t kMaxStoreConnections = 64;
constexpr std::size_t kMaxIdleUpstreamConnections = 65'536;
constexpr std::uint64_t kMinHeaderBytes = 1024;
constexpr std::string_view kDefaultRedisUrl = "redis://127.0.0.1:6379/0";

constexpr std::array<std::string_view, 11> kTopKeys = {
    "listen", "threads", "upstream",        "redis",      "admin", "cache",
    "limits", "log",     "trusted_proxies", "rate_limit", "rules"};
constexpr std::array<std::string_view, 4> kUpstreamKeys = {"url", "connect_timeout", "timeout",
                                                           "max_idle_connections"};
constexpr std::array<std::string_view, 7> kRedisKeys = {
    "url", "key_prefix", "timeout", "connections", "memory_max_size", "password_file", "tls"};
constexpr std::array<std::string_view, 5> kRedisTlsKeys = {"ca_file", "cert_file", "key_file",
                                                           "verify", "server_name"};
constexpr std::array<std::string_view, 3> kAdminKeys = {"listen", "token", "allow_unauthenticated"};
// Each pending invalidation holds a few short strings: this bounds the queue to ~100 MiB.
constexpr std::uint64_t kMaxPendingInvalidations = 1'000'000;
constexpr std::array<std::string_view, 15> kCacheKeys = {"default_ttl",
                                                         "max_ttl",
                                                         "max_body_size",
                                                         "bypass_param",
                                                         "l1",
                                                         "coalesce_wait",
                                                         "max_pending_invalidations",
                                                         "hosts",
                                                         "bypass_token",
                                                         "keep",
                                                         "max_stale",
                                                         "key_hash",
                                                         "tag_header",
                                                         "expose_tags",
                                                         "compression"};
constexpr std::array<std::string_view, 4> kCompressionKeys = {"enabled", "min_size", "level",
                                                              "types"};
constexpr std::array<std::string_view, 3> kL1Keys = {"enabled", "max_bytes", "max_ttl"};
constexpr std::array<std::string_view, 5> kLimitsKeys = {
    "max_header_size", "max_request_body_size", "client_header_timeout", "client_idle_timeout",
    "client_body_timeout"};
constexpr std::array<std::string_view, 3> kLogKeys = {"level", "format", "access_log"};
constexpr std::array<std::string_view, 16> kRuleKeys = {"match",           "ttl",
                                                        "key_query",       "cache_authorized",
                                                        "cache_private",   "namespace",
                                                        "invalidate",      "freshness",
                                                        "heuristic",       "stale_while_revalidate",
                                                        "stale_if_error",  "client_cache_control",
                                                        "max_variants",    "tags",
                                                        "invalidate_tags", "rate_limit"};
constexpr std::array<std::string_view, 4> kRateLimitKeys = {"limit", "window", "by", "fail"};
// Vary variants kept per key: each costs a stored body, so a bound keeps a client spraying
// header values from growing the store without limit.
constexpr std::uint64_t kMaxVariants = 1024;
constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info",
                                                        "warn",  "error", "off"};

std::string join(std::span<const std::string_view> items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string_view kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_query_name_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// A value plus where it came from ("cachecar.yaml:14" or "environment variable X"), so a
// value checked later still produces a message that points at its origin.
struct Located {
  std::string text;
  std::string where;
};

struct Field {
  YAML::Node key;
  YAML::Node value;
  std::string path;  // "rules[1].ttl"
};

// Turns YAML into Config. Each reader validates one value and throws ConfigError naming the
// source line and the field path; nothing falls back to a default after a bad value.
class Loader {
 public:
  Loader(std::string_view source, const EnvLookup& env) : source_(source), env_(env) {}

  Config load(std::string_view yaml);

 private:
  // A validated map: keys are strings, known and unique.
  class Section {
   public:
    const Field* get(std::string_view key) const {
      for (const auto& field : fields_) {
        if (field.key.Scalar() == key) return &field;
      }
      return nullptr;
    }
    std::string child(std::string_view key) const {
      return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }
    const std::string& where() const noexcept { return where_; }

   private:
    friend class Loader;
    std::string path_;
    std::string where_;  // of the map itself (or of its parent when the map is absent)
    std::vector<Field> fields_;
  };

  [[noreturn]] void fail(const std::string& where, std::string_view path,
                         std::string_view what) const {
    std::string message = where;
    message += ": ";
    if (!path.empty()) {
      message += path;
      message += ": ";
    }
    message += what;
    throw ConfigError(message);
  }

  std::string where(const YAML::Mark& mark) const {
    return source_ + ":" + std::to_string(mark.is_null() ? 1 : mark.line + 1);
  }
  std::string where(const YAML::Node& node, const std::string& fallback) const {
    return node.Mark().is_null() ? fallback : where(node.Mark());
  }
  // A null value ("ttl:" with nothing after it) is marked where the next token starts, often
  // a later line, so it is reported on its key's line.
  std::string where(const Field& field) const {
    const std::string key_where = where(field.key.Mark());
    return field.value.IsNull() ? key_where : where(field.value, key_where);
  }

  Section section(const YAML::Node& node, std::string path, const std::string& fallback_where,
                  std::span<const std::string_view> allowed) const;
  Section optional_section(const Section& parent, std::string_view key,
                           std::span<const std::string_view> allowed) const;

  // Scalar readers.
  Located scalar(const Field& field, std::string_view expected) const;
  std::optional<Located> scalar_or_env(const Section& section, std::string_view key,
                                       std::string_view env_var) const;
  milliseconds duration(const Field& field, bool allow_zero = false) const;
  std::uint64_t size(const Field& field) const;
  std::uint64_t integer(const Field& field, std::uint64_t min, std::uint64_t max) const;
  bool boolean(const Field& field) const;
  // One of two named values, e.g. `freshness: rule | upstream`.
  template <typename T>
  T either(const Field& field, std::string_view first_name, T first, std::string_view second_name,
           T second) const {
    const std::string names = std::string(first_name) + " or " + std::string(second_name);
    const auto value = scalar(field, names);
    if (value.text == first_name) return first;
    if (value.text != second_name) {
      fail(value.where, field.path, "unknown value '" + value.text + "'; expected " + names);
    }
    return second;
  }
  // A secret compared with a request field value: printable ASCII, no spaces, never echoed.
  void check_token(const Located& value, std::string_view path) const;

  void read_duration(const Section& s, std::string_view key, milliseconds& out) const {
    if (const auto* field = s.get(key)) out = duration(*field);
  }

  void read_listen(const Section& root, Config& config) const;
  void read_threads(const Section& root, Config& config) const;
  void read_upstream(const Section& root, Config& config) const;
  void read_redis(const Section& root, Config& config) const;
  void read_redis_secrets(const Section& redis, StoreConfig& out) const;
  void read_redis_tls(const Section& redis, StoreConfig& out) const;
  // A path that must name a readable regular file (its content is checked later).
  std::string readable_file(const Field& field) const;
  void read_admin(const Section& root, Config& config, std::string& listen_where) const;
  void read_cache(const Section& root, Config& config) const;
  void read_key_hash(const Section& cache, Config& config) const;
  void read_hosts(const Section& cache, Config& config) const;
  void read_tag_options(const Section& cache, Config& config) const;
  std::vector<policy::TagTemplate> tag_templates(const Field& field,
                                                 const policy::Rule& rule) const;
  void read_compression(const Section& cache, Config& config) const;
  void read_limits(const Section& root, Config& config) const;
  void read_log(const Section& root, Config& config) const;
  void read_trusted_proxies(const Section& root, Config& config) const;
  void read_rules(const Section& root, Config& config) const;
  std::optional<policy::RateLimitSpec> read_rate_limit(
      const Field& field, const std::optional<policy::RateLimitSpec>& inherited,
      bool rule_level) const;
  policy::Rule read_rule(const YAML::Node& node, const std::string& path,
                         const std::string& fallback_where, const Config& config) const;

  std::string source_;
  const EnvLookup& env_;
};

Loader::Section Loader::section(const YAML::Node& node, std::string path,
                                const std::string& fallback_where,
                                std::span<const std::string_view> allowed) const {
  Section out;
  out.path_ = std::move(path);
  out.where_ = where(node, fallback_where);
  if (node.IsNull()) return out;  // "cache:" with every child commented out = all defaults
  if (!node.IsMap()) {
    fail(out.where_, out.path_.empty() ? "(document)" : out.path_,
         "expected a map, got " + std::string(kind_name(node)));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      fail(where(key, out.where_), out.path_.empty() ? "(document)" : out.path_,
           "keys must be plain names, got " + std::string(kind_name(key)));
    }
    const std::string& name = key.Scalar();
    const std::string field_path = out.child(name);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      fail(where(key, out.where_), field_path, "unknown key; allowed keys: " + join(allowed));
    }
    if (out.get(name) != nullptr) {
      fail(where(key, out.where_), field_path, "duplicate key");
    }
    out.fields_.push_back(Field{key, it->second, field_path});
  }
  return out;
}

Loader::Section Loader::optional_section(const Section& parent, std::string_view key,
                                         std::span<const std::string_view> allowed) const {
  if (const auto* field = parent.get(key)) {
    Section out = section(field->value, field->path, where(field->key.Mark()), allowed);
    out.where_ = where(field->key.Mark());  // later errors ("url: required") point at "key:"
    return out;
  }
  Section empty;
  empty.path_ = parent.child(key);
  empty.where_ = parent.where();
  return empty;
}

Located Loader::scalar(const Field& field, std::string_view expected) const {
  if (!field.value.IsScalar()) {
    fail(where(field), field.path,
         "expected " + std::string(expected) + ", got " + std::string(kind_name(field.value)));
  }
  return Located{field.value.Scalar(), where(field)};
}

std::optional<Located> Loader::scalar_or_env(const Section& section, std::string_view key,
                                             std::string_view env_var) const {
  if (auto value = env_ ? env_(env_var) : std::nullopt) {
    return Located{std::move(*value), "environment variable " + std::string(env_var)};
  }
  if (const auto* field = section.get(key)) return scalar(*field, "a string");
  return std::nullopt;
}

milliseconds Loader::duration(const Field& field, bool allow_zero) const {
  const auto value = scalar(field, "a duration such as 100ms, 30s, 5m or 24h");
  const auto text = core::trim(value.text);
  if (!text.empty() && text.front() == '-') fail(value.where, field.path, "must be positive");
  const auto parsed = core::parse_duration(text);
  if (!parsed) {
    fail(value.where, field.path,
         "invalid duration '" + value.text +
             "'; expected a whole number with unit ms, s, m, h or d (e.g. 30s), or plain seconds");
  }
  if (parsed->count() <= 0 && !allow_zero) fail(value.where, field.path, "must be greater than 0");
  return *parsed;
}

std::uint64_t Loader::size(const Field& field) const {
  const auto value = scalar(field, "a size such as 512KiB or 1MiB");
  const auto parsed = core::parse_size(core::trim(value.text));
  if (!parsed) {
    fail(value.where, field.path,
         "invalid size '" + value.text +
             "'; expected a whole number of bytes, optionally with KiB, MiB, GiB, KB, MB or GB");
  }
  return *parsed;
}

std::uint64_t Loader::integer(const Field& field, std::uint64_t min, std::uint64_t max) const {
  const auto value = scalar(field, "an integer");
  const auto parsed = parse_decimal(core::trim(value.text));
  if (!parsed || *parsed < min || *parsed > max) {
    fail(value.where, field.path,
         "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
             ", got '" + value.text + "'");
  }
  return *parsed;
}

bool Loader::boolean(const Field& field) const {
  const auto value = scalar(field, "true or false");
  bool out = false;
  if (!YAML::convert<bool>::decode(field.value, out)) {
    fail(value.where, field.path, "expected true or false, got '" + value.text + "'");
  }
  return out;
}

void Loader::check_token(const Located& value, std::string_view path) const {
  // Compared with a request header's value, so only visible ASCII can ever match.
  if (std::any_of(value.text.begin(), value.text.end(),
                  [](char c) { return c <= 0x20 || c >= 0x7f; })) {
    fail(value.where, path, "must be printable ASCII without spaces (the value is not shown)");
  }
}

void Loader::read_listen(const Section& root, Config& config) const {
  if (auto value = scalar_or_env(root, "listen", "CACHECAR_LISTEN")) {
    auto parsed = parse_host_port(value->text);
    if (!parsed) {
      fail(value->where, "listen",
           "expected host:port such as \"0.0.0.0:8080\", \"[::1]:8080\" or \":8080\", got '" +
               value->text + "'");
    }
    config.listen = std::move(*parsed);
  }
}

void Loader::read_threads(const Section& root, Config& config) const {
  const auto* field = root.get("threads");
  if (field == nullptr) return;
  const auto value = scalar(*field, "auto or a positive integer");
  if (value.text == "auto") {
    config.threads = 0;
    return;
  }
  const auto parsed = parse_decimal(value.text);
  if (!parsed || *parsed == 0 || *parsed > kMaxThreads) {
    fail(value.where, field->path,
         "expected auto or an integer from 1 to " + std::to_string(kMaxThreads) + ", got '" +
             value.text + "'");
  }
  config.threads = static_cast<unsigned>(*parsed);
}

void Loader::read_upstream(const Section& root, Config& config) const {
  const Section s = optional_section(root, "upstream", kUpstreamKeys);
  auto& out = config.upstream;
  const auto url = scalar_or_env(s, "url", "CACHECAR_UPSTREAM_URL");
  if (!url) {
    fail(s.where(), "upstream.url",
         "required: the http:// URL of the backend (or set CACHECAR_UPSTREAM_URL)");
  }
  std::string error;
  auto parsed = parse_upstream_url(url->text, &error);
  if (!parsed) {
    // Echo the URL unless it may carry credentials.
    const bool secret = url->text.find('@') != std::string::npos;
    fail(url->where, "upstream.url", secret ? error : error + ", got '" + url->text + "'");
  }
  out.url = url->text;
  out.address = std::move(parsed->address);
  out.base_path = std::move(parsed->base_path);
  read_duration(s, "connect_timeout", out.connect_timeout);
  read_duration(s, "timeout", out.timeout);
  if (const auto* field = s.get("max_idle_connections")) {
    out.max_idle_connections =
        static_cast<std::size_t>(integer(*field, 0, kMaxIdleUpstreamConnections));
  }
}

void Loader::read_redis(const Section& root, Config& config) const {
  const Section s = optional_section(root, "redis", kRedisKeys);
  auto& out = config.store;
  auto url = scalar_or_env(s, "url", "CACHECAR_REDIS_URL");
  if (!url) url = Located{std::string(kDefaultRedisUrl), s.where()};
  std::string error;
  auto parsed = parse_redis_url(url->text, &error);
  // The URL may carry a password: never echo it back.
  if (!parsed) fail(url->where, "redis.url", error);
  out.url = url->text;
  out.memory = parsed->memory;
  out.address = std::move(parsed->address);
  out.user = std::move(parsed->user);
  out.password = std::move(parsed->password);
  out.db = parsed->db;
  out.tls.enabled = parsed->tls;
  read_redis_secrets(s, out);
  read_redis_tls(s, out);
  if (const auto* field = s.get("key_prefix")) {
    const auto value = scalar(*field, "a string");
    if (std::any_of(value.text.begin(), value.text.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      fail(value.where, field->path, "must not contain control characters");
    }
    out.key_prefix = value.text;
  }
  read_duration(s, "timeout", out.timeout);
  if (const auto* field = s.get("connections")) {
    out.connections = static_cast<std::size_t>(integer(*field, 1, kMaxStoreConnections));
  }
  if (const auto* field = s.get("memory_max_size")) {
    out.memory_max_bytes = size(*field);
    if (out.memory_max_bytes == 0) fail(where(*field), field->path, "must be greater than 0");
  }
}

std::string Loader::readable_file(const Field& field) const {
  const auto value = scalar(field, "a file path");
  if (value.text.empty()) fail(value.where, field.path, "must not be empty");
  std::error_code ec;
  if (std::filesystem::is_directory(value.text, ec)) {
    fail(value.where, field.path, "'" + value.text + "' is a directory, not a file");
  }
  std::ifstream in(value.text, std::ios::binary);
  if (!in) {
    fail(value.where, field.path, "cannot read '" + value.text + "': " + std::strerror(errno));
  }
  return value.text;
}

// CACHECAR_REDIS_PASSWORD, else redis.password_file, else the URL's password; the URL's user
// stays. Never echoed in an error.
void Loader::read_redis_secrets(const Section& s, StoreConfig& out) const {
  const auto* file = s.get("password_file");
  if (out.memory && file) fail(where(*file), file->path, "memory:// takes no password");
  if (file) {
    const std::string path = readable_file(*file);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string password = text.str();
    if (password.ends_with("\n")) password.pop_back();
    if (password.ends_with("\r")) password.pop_back();
    if (password.find_first_of("\r\n") != std::string::npos) {
      fail(where(*file), file->path, "'" + path + "' must hold the password on one line");
    }
    if (password.empty()) fail(where(*file), file->path, "'" + path + "' is empty");
    out.password = std::move(password);
  }
  if (auto password = env_ ? env_("CACHECAR_REDIS_PASSWORD") : std::nullopt) {
    if (password->empty()) {
      fail("environment variable CACHECAR_REDIS_PASSWORD", "redis.password", "must not be empty");
    }
    if (!out.memory) out.password = std::move(*password);
  }
  if (!out.user.empty() && out.password.empty()) {
    fail(s.where(), "redis.url",
         "the user '" + out.user +
             "' needs a password: in the URL (redis://user:password@host), "
             "redis.password_file or CACHECAR_REDIS_PASSWORD");
  }
}

void Loader::read_redis_tls(const Section& s, StoreConfig& out) const {
  const auto* field = s.get("tls");
  if (!field) return;
  const std::string tls_where = where(field->key.Mark());
  if (!out.tls.enabled) {
    fail(tls_where, field->path,
         "TLS settings need a rediss:// URL (redis.url is " +
             std::string(out.memory ? "memory://" : "redis://, plain TCP") + ")");
  }
  const Section tls = section(field->value, field->path, tls_where, kRedisTlsKeys);
  auto& t = out.tls;
  if (const auto* f = tls.get("ca_file")) t.ca_file = readable_file(*f);
  if (const auto* f = tls.get("cert_file")) t.cert_file = readable_file(*f);
  if (const auto* f = tls.get("key_file")) t.key_file = readable_file(*f);
  if (t.cert_file.empty() != t.key_file.empty()) {
    fail(tls_where, tls.child(t.cert_file.empty() ? "cert_file" : "key_file"),
         "cert_file and key_file go together (the client certificate and its key)");
  }
  if (const auto* f = tls.get("verify")) t.verify = boolean(*f);
  if (const auto* f = tls.get("server_name")) {
    const auto value = scalar(*f, "a host name");
    if (value.text.empty() || std::any_of(value.text.begin(), value.text.end(), [](char c) {
          return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '/' || c == ':';
        })) {
      fail(value.where, f->path, "expected a host name such as redis.internal");
    }
    t.server_name = value.text;
  }
}

void Loader::read_admin(const Section& root, Config& config, std::string& listen_where) const {
  const Section s = optional_section(root, "admin", kAdminKeys);
  auto& out = config.admin;
  listen_where = s.where();
  if (auto value = scalar_or_env(s, "listen", "CACHECAR_ADMIN_LISTEN")) {
    auto parsed = parse_host_port(value->text);
    if (!parsed) {
      fail(value->where, "admin.listen",
           "expected host:port such as \"127.0.0.1:8081\", got '" + value->text + "'");
    }
    out.listen = std::move(*parsed);
    listen_where = value->where;
  }
  if (auto value = scalar_or_env(s, "token", "CACHECAR_ADMIN_TOKEN")) {
    check_token(*value, "admin.token");
    out.token = std::move(value->text);
  }
  if (const auto* field = s.get("allow_unauthenticated")) {
    out.allow_unauthenticated = boolean(*field);
  }
}

void Loader::read_cache(const Section& root, Config& config) const {
  const Section s = optional_section(root, "cache", kCacheKeys);
  auto& out = config.cache;
  read_duration(s, "default_ttl", out.default_ttl);
  read_duration(s, "max_ttl", out.max_ttl);
  if (out.default_ttl > out.max_ttl) {
    const auto* field = s.get("default_ttl");
    fail(field != nullptr ? where(*field) : s.where(), "cache.default_ttl",
         core::format_duration(out.default_ttl) + " is greater than cache.max_ttl (" +
             core::format_duration(out.max_ttl) + ")");
  }
  if (const auto* field = s.get("max_body_size")) {
    out.max_body_bytes = size(*field);
    if (out.max_body_bytes == 0) fail(where(*field), field->path, "must be greater than 0");
  }
  if (const auto* field = s.get("bypass_param")) {
    const auto value = scalar(*field, "a query parameter name");
    if (!std::all_of(value.text.begin(), value.text.end(), is_query_name_char)) {
      fail(value.where, field->path,
           "must be a query parameter name of letters, digits, '-', '.', '_' or '~' (or \"\" to "
           "disable the bypass), got '" +
               value.text + "'");
    }
    config.bypass_param = value.text;
  }
  if (auto value = scalar_or_env(s, "bypass_token", "CACHECAR_BYPASS_TOKEN")) {
    check_token(*value, "cache.bypass_token");
    if (!value->text.empty() && config.bypass_param.empty()) {
      fail(value->where, "cache.bypass_token",
           "cache.bypass_param is \"\" (no bypass), so a bypass token does nothing; remove it");
    }
    config.bypass_token = std::move(value->text);
  }
  if (const auto* field = s.get("coalesce_wait")) {
    config.coalesce_wait = duration(*field, /*allow_zero=*/true);
  }
  if (const auto* field = s.get("max_pending_invalidations")) {
    config.max_pending_invalidations =
        static_cast<std::size_t>(integer(*field, 1, kMaxPendingInvalidations));
  }
  if (const auto* field = s.get("keep")) out.keep = duration(*field, /*allow_zero=*/true);
  if (const auto* field = s.get("max_stale")) out.max_stale = duration(*field, /*allow_zero=*/true);
  read_key_hash(s, config);
  read_hosts(s, config);
  read_tag_options(s, config);
  read_compression(s, config);
  const Section l1 = optional_section(s, "l1", kL1Keys);
  if (const auto* field = l1.get("enabled")) {
    config.l1.enabled = boolean(*field);
    if (config.l1.enabled && config.store.memory) {
      fail(where(*field), field->path,
           "an L1 tier in front of memory:// is pointless; enable it with a redis:// store");
    }
  }
  if (const auto* field = l1.get("max_bytes")) {
    config.l1.max_bytes = size(*field);
    if (config.l1.max_bytes == 0) fail(where(*field), field->path, "must be greater than 0");
  }
  if (const auto* field = l1.get("max_ttl")) {
    config.l1.max_ttl = duration(*field);
    if (config.l1.max_ttl.count() <= 0) fail(where(*field), field->path, "must be greater than 0");
  }
}

// cache.tag_header, cache.expose_tags (policy/tags.hpp).
void Loader::read_tag_options(const Section& cache, Config& config) const {
  auto& out = config.cache.tags;
  if (const auto* field = cache.get("tag_header")) {
    const auto value = scalar(*field, "a header field name");
    if (!policy::is_http_token(value.text)) {
      fail(value.where, field->path,
           "must be a header field name (letters, digits and !#$%&'*+-.^_`|~), got '" + value.text +
               "'");
    }
    out.header = value.text;
  }
  if (const auto* field = cache.get("expose_tags")) out.expose = boolean(*field);
}

// A rule's `tags` or `invalidate_tags`: a list of tag templates naming the rule's captures.
std::vector<policy::TagTemplate> Loader::tag_templates(const Field& field,
                                                       const policy::Rule& rule) const {
  if (!field.value.IsSequence()) {
    fail(where(field), field.path,
         "expected a list of tags (e.g. [\"product:{id}\", \"products\"]), got " +
             std::string(kind_name(field.value)));
  }
  std::vector<policy::TagTemplate> out;
  for (std::size_t i = 0; i < field.value.size(); ++i) {
    const Field item{field.key, field.value[i], field.path + "[" + std::to_string(i) + "]"};
    const auto text = scalar(item, "a tag such as \"product:{id}\"");
    std::string error;
    auto parsed = policy::TagTemplate::parse(text.text, rule.pattern.param_names(), &error);
    if (!parsed) {
      fail(text.where, item.path,
           "invalid tag '" + text.text + "' for \"" + rule.name + "\": " + error);
    }
    out.push_back(std::move(*parsed));
  }
  if (out.size() > policy::kMaxTagsPerEntry) {
    fail(where(field), field.path,
         std::to_string(out.size()) + " tags; an entry keeps at most " +
             std::to_string(policy::kMaxTagsPerEntry));
  }
  return out;
}

// cache.key_hash: none | sha256 (Redis key names; memory:// has none to hash).
void Loader::read_key_hash(const Section& cache, Config& config) const {
  const auto* field = cache.get("key_hash");
  if (field == nullptr) return;
  const auto value = scalar(*field, "none or sha256");
  if (value.text == "none") {
    config.store.key_hash = core::KeyHash::None;
  } else if (value.text == "sha256") {
    config.store.key_hash = core::KeyHash::Sha256;
  } else {
    fail(value.where, field->path,
         "unknown key hash '" + value.text + "'; expected none or sha256");
  }
}

// cache.compression: {enabled, min_size, level, types: [media-type patterns]}.
void Loader::read_compression(const Section& cache, Config& config) const {
  const Section s = optional_section(cache, "compression", kCompressionKeys);
  auto& out = config.cache.compression;
  if (const auto* field = s.get("enabled")) out.enabled = boolean(*field);
  if (const auto* field = s.get("min_size")) out.min_size_bytes = size(*field);
  if (const auto* field = s.get("level")) {
    out.level = static_cast<int>(integer(*field, core::kMinGzipLevel, core::kMaxGzipLevel));
  }
  if (const auto* field = s.get("types")) {
    const std::string at = where(*field);
    if (!field->value.IsSequence() || field->value.size() == 0) {
      fail(at, field->path,
           "expected a non-empty list of media types such as [\"application/json\", \"text/*\"] "
           "(to compress nothing, set enabled: false), got " +
               std::string(kind_name(field->value)));
    }
    out.types.clear();
    for (std::size_t i = 0; i < field->value.size(); ++i) {
      const YAML::Node item = field->value[i];
      const std::string path = field->path + "[" + std::to_string(i) + "]";
      if (!item.IsScalar() || !policy::is_media_type_pattern(item.Scalar())) {
        fail(where(item, at), path,
             "expected a media type type/subtype, type/* or */* without parameters (e.g. "
             "application/json), got " +
                 (item.IsScalar() ? "'" + item.Scalar() + "'" : std::string(kind_name(item))));
      }
      out.types.push_back(core::to_lower(item.Scalar()));
    }
  }
  if (out.enabled && out.min_size_bytes > config.cache.max_body_bytes) {
    const auto* field = s.get("min_size");
    fail(field != nullptr ? where(*field) : s.where(), "cache.compression.min_size",
         std::to_string(out.min_size_bytes) + " bytes is greater than cache.max_body_size (" +
             std::to_string(config.cache.max_body_bytes) + " bytes): nothing would be compressed");
  }
}

// cache.hosts: {canonical name: [alias, ...]}, every name a Host value (host, optional port).
void Loader::read_hosts(const Section& cache, Config& config) const {
  const auto* field = cache.get("hosts");
  if (field == nullptr) return;
  if (!field->value.IsMap()) {
    fail(
        where(*field), field->path,
        "expected a map of host names to lists of aliases (e.g. {\"api.example.com\": [\"api\"]}), "
        "got " +
            std::string(kind_name(field->value)));
  }
  const std::string map_where = where(*field);
  auto host_name = [&](const YAML::Node& node, const std::string& path) {
    const std::string at = where(node, map_where);
    if (!node.IsScalar()) {
      fail(at, path, "expected a host name, got " + std::string(kind_name(node)));
    }
    auto normalized = policy::normalize_host(node.Scalar());
    if (!normalized) {
      fail(at, path,
           "'" + node.Scalar() +
               "' is not a host with an optional port (e.g. api.example.com or api:8080)");
    }
    return std::move(*normalized);
  };
  for (auto it = field->value.begin(); it != field->value.end(); ++it) {
    const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
    const std::string path = field->path + "[\"" + name + "\"]";
    const std::string canonical = host_name(it->first, path);
    if (!config.hosts.add(canonical, {})) {
      fail(where(it->first, map_where), path, "'" + name + "' is already an alias of another host");
    }
    const YAML::Node aliases = it->second;
    if (aliases.IsNull()) continue;  // a canonical name without aliases
    if (!aliases.IsSequence()) {
      fail(where(aliases, map_where), path,
           "expected a list of aliases (e.g. [\"api\", \"api.example.com:443\"]), got " +
               std::string(kind_name(aliases)));
    }
    for (std::size_t i = 0; i < aliases.size(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      const std::string alias = host_name(aliases[i], item_path);
      if (!config.hosts.add(canonical, {alias})) {
        fail(where(aliases[i], map_where), item_path,
             "'" + aliases[i].Scalar() + "' already belongs to another host");
      }
    }
  }
}

void Loader::read_limits(const Section& root, Config& config) const {
  const Section s = optional_section(root, "limits", kLimitsKeys);
  auto& out = config.limits;
  if (const auto* field = s.get("max_header_size")) {
    const auto bytes = size(*field);
    if (bytes < kMinHeaderBytes || bytes > std::numeric_limits<std::uint32_t>::max()) {
      fail(where(*field), field->path, "must be from 1KiB to 4GiB");
    }
    out.max_header_bytes = static_cast<std::uint32_t>(bytes);
  }
  if (const auto* field = s.get("max_request_body_size")) {
    out.max_request_body_bytes = size(*field);
    if (out.max_request_body_bytes == 0) {
      fail(where(*field), field->path, "must be greater than 0");
    }
  }
  read_duration(s, "client_header_timeout", out.client_header_timeout);
  read_duration(s, "client_idle_timeout", out.client_idle_timeout);
  read_duration(s, "client_body_timeout", out.client_body_timeout);
}

void Loader::read_log(const Section& root, Config& config) const {
  const Section s = optional_section(root, "log", kLogKeys);
  auto& out = config.log;
  if (auto value = scalar_or_env(s, "level", "CACHECAR_LOG_LEVEL")) {
    const std::string level = core::to_lower(value->text);
    if (std::find(kLogLevels.begin(), kLogLevels.end(), level) == kLogLevels.end()) {
      fail(value->where, "log.level",
           "unknown level '" + value->text + "'; expected one of " + join(kLogLevels));
    }
    out.level = level;
  }
  if (const auto* field = s.get("format")) {
    const auto value = scalar(*field, "text or json");
    if (value.text != "text" && value.text != "json") {
      fail(value.where, field->path, "unknown format '" + value.text + "'; expected text or json");
    }
    out.format = value.text;
  }
  if (const auto* field = s.get("access_log")) out.access_log = boolean(*field);
}

// trusted_proxies: [CIDR or address, ...]. Only these peers' forwarding fields are believed.
void Loader::read_trusted_proxies(const Section& root, Config& config) const {
  const auto* field = root.get("trusted_proxies");
  if (field == nullptr || field->value.IsNull()) return;
  if (!field->value.IsSequence()) {
    fail(where(*field), field->path,
         "expected a list of IP addresses or CIDR ranges (e.g. [10.0.0.0/8, \"::1\"]), got " +
             std::string(kind_name(field->value)));
  }
  std::vector<core::CidrRange> ranges;
  for (std::size_t i = 0; i < field->value.size(); ++i) {
    const Field item{field->key, field->value[i], field->path + "[" + std::to_string(i) + "]"};
    const auto text = scalar(item, "an IP address or CIDR range");
    std::string error;
    auto range = core::CidrRange::parse(text.text, &error);
    if (!range) fail(text.where, item.path, error);
    ranges.push_back(*range);
  }
  config.trusted_proxies = core::CidrSet(std::move(ranges));
}

void Loader::read_rules(const Section& root, Config& config) const {
  const auto* field = root.get("rules");
  if (field == nullptr || field->value.IsNull()) return;
  if (!field->value.IsSequence()) {
    fail(where(*field), field->path,
         "expected a list of rules, got " + std::string(kind_name(field->value)));
  }
  std::vector<policy::Rule> rules;
  for (std::size_t i = 0; i < field->value.size(); ++i) {
    const YAML::Node node = field->value[i];
    const std::string path = "rules[" + std::to_string(i) + "]";
    const std::string node_where = where(node, where(*field));
    auto rule = read_rule(node, path, node_where, config);
    for (std::size_t j = 0; j < rules.size(); ++j) {
      if (rules[j].name == rule.name) {
        fail(node_where, path + ".match",
             "duplicate of rules[" + std::to_string(j) + "] (\"" + rule.name +
                 "\"); the first matching rule wins, so this one would never apply");
      }
    }
    rules.push_back(std::move(rule));
  }
  config.rules = policy::RuleSet(std::move(rules));
}

policy::Rule Loader::read_rule(const YAML::Node& node, const std::string& path,
                               const std::string& fallback_where, const Config& config) const {
  const Section s = section(node, path, fallback_where, kRuleKeys);
  if (node.IsNull()) fail(s.where(), path, "expected a map with at least `match`");
  policy::Rule rule;

  const auto* match = s.get("match");
  if (match == nullptr) {
    fail(s.where(), path + ".match", "required, e.g. match: \"GET /api/users/{id}\"");
  }
  const auto match_text = scalar(*match, "\"METHOD /path\"");
  const auto space = match_text.text.find(' ');
  if (space == std::string::npos || space == 0) {
    fail(match_text.where, match->path,
         "expected \"METHOD /path\", e.g. \"GET /api/users/{id}\", got '" + match_text.text + "'");
  }
  rule.method = match_text.text.substr(0, space);
  // RFC 9110 §9.1: a method is a case-sensitive token; the registered ones are upper case
  // ("VERSION-CONTROL" too), so a lower-case letter is taken for a typo of "GET".
  if (!std::all_of(rule.method.begin(), rule.method.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
      })) {
    fail(match_text.where, match->path,
         "method '" + rule.method +
             "' must be upper-case letters, digits or token symbols "
             "(RFC 9110 §9.1), e.g. GET");
  }
  const std::string path_text = match_text.text.substr(space + 1);
  if (path_text.empty() || path_text.front() != '/') {
    fail(match_text.where, match->path,
         "expected exactly one space and then a path starting with '/', got '" + match_text.text +
             "'");
  }
  std::string error;
  auto pattern = policy::RoutePattern::parse(path_text, &error);
  if (!pattern) {
    fail(match_text.where, match->path, "invalid path pattern '" + path_text + "': " + error);
  }
  rule.pattern = std::move(*pattern);
  rule.name = match_text.text;

  // Read before ttl, whose meaning depends on it.
  if (const auto* field = s.get("freshness")) {
    rule.freshness = either(*field, "rule", policy::FreshnessMode::Rule, "upstream",
                            policy::FreshnessMode::Upstream);
    if (rule.method != "GET") {
      fail(where(*field), field->path,
           "only GET responses are cached; freshness on a " + rule.method + " rule has no effect");
    }
  }
  const bool upstream_mode = rule.freshness == policy::FreshnessMode::Upstream;

  if (const auto* field = s.get("ttl")) {
    if (rule.method != "GET") {
      fail(where(*field), field->path,
           "only GET responses are cached; a ttl on a " + rule.method + " rule has no effect");
    }
    // freshness: upstream: ttl is only the lifetime of responses without explicit freshness,
    // and 0 says not to store those.
    const auto ttl = duration(*field, /*allow_zero=*/upstream_mode);
    if (ttl.count() > 0) rule.ttl = ttl;
    if (ttl > config.cache.max_ttl) {
      fail(where(*field), field->path,
           core::format_duration(ttl) + " is greater than cache.max_ttl (" +
               core::format_duration(config.cache.max_ttl) + "); raise cache.max_ttl");
    }
  }

  if (const auto* field = s.get("heuristic")) {
    rule.heuristic = boolean(*field);
    if (!upstream_mode) {
      fail(where(*field), field->path,
           "has no effect without freshness: upstream (a freshness: rule rule always uses its "
           "ttl); add freshness: upstream or remove it");
    }
  }
  // RFC 5861 windows used when the response names none; cache.max_stale caps them all, so a
  // larger value would silently be cut.
  for (auto [key, out] : {std::pair{"stale_while_revalidate", &rule.stale_while_revalidate},
                          std::pair{"stale_if_error", &rule.stale_if_error}}) {
    const auto* field = s.get(key);
    if (field == nullptr) continue;
    *out = duration(*field, /*allow_zero=*/true);
    if (*out > config.cache.max_stale) {
      fail(where(*field), field->path,
           core::format_duration(*out) + " is greater than cache.max_stale (" +
               core::format_duration(config.cache.max_stale) + "); raise cache.max_stale");
    }
  }
  if (const auto* field = s.get("client_cache_control")) {
    rule.client_cache_control = either(*field, "ignore", policy::ClientCacheControl::Ignore,
                                       "honor", policy::ClientCacheControl::Honor);
  }
  if (const auto* field = s.get("max_variants")) {
    rule.max_variants = static_cast<std::size_t>(integer(*field, 1, kMaxVariants));
  }

  if (const auto* field = s.get("key_query")) {
    if (!field->value.IsSequence()) {
      fail(where(*field), field->path,
           "expected a list of query parameter names (e.g. [page, sort], or [] for none), got " +
               std::string(kind_name(field->value)));
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < field->value.size(); ++i) {
      const Field item{field->key, field->value[i], field->path + "[" + std::to_string(i) + "]"};
      const auto name = scalar(item, "a query parameter name");
      if (name.text.empty()) fail(name.where, item.path, "must not be empty");
      names.push_back(name.text);
    }
    rule.key_query = std::move(names);
  }

  if (const auto* field = s.get("cache_authorized")) rule.cache_authorized = boolean(*field);
  if (const auto* field = s.get("cache_private")) rule.cache_private = boolean(*field);
  if (const auto* field = s.get("namespace")) {
    const auto value = scalar(*field, "a namespace name");
    if (value.text.empty() ||
        !std::all_of(value.text.begin(), value.text.end(), is_query_name_char)) {
      fail(value.where, field->path,
           "must be a non-empty name of letters, digits, '-', '.', '_' or '~', got '" + value.text +
               "'");
    }
    rule.cache_namespace = value.text;
  }

  if (const auto* field = s.get("invalidate")) {
    if (!field->value.IsSequence()) {
      fail(where(*field), field->path,
           "expected a list of \"METHOD /path\" templates, got " +
               std::string(kind_name(field->value)));
    }
    for (std::size_t i = 0; i < field->value.size(); ++i) {
      const Field item{field->key, field->value[i], field->path + "[" + std::to_string(i) + "]"};
      const auto text = scalar(item, "a \"METHOD /path\" template");
      auto parsed =
          policy::InvalidationTemplate::parse(text.text, rule.pattern.param_names(), &error);
      if (parsed) {
        rule.invalidate.push_back(std::move(*parsed));
        continue;
      }
      // Name both sides when a template uses a param its rule does not capture.
      const auto template_space = text.text.find(' ');
      if (template_space != std::string::npos) {
        std::string ignored;
        const auto template_pattern =
            policy::RoutePattern::parse(text.text.substr(template_space + 1), &ignored);
        if (template_pattern) {
          const auto& available = rule.pattern.param_names();
          for (const auto& name : template_pattern->param_names()) {
            if (std::find(available.begin(), available.end(), name) == available.end()) {
              fail(text.where, item.path,
                   "\"" + text.text + "\" uses {" + name + "}, which \"" + rule.name +
                       "\" does not define");
            }
          }
        }
      }
      fail(text.where, item.path, "invalid template '" + text.text + "': " + error);
    }
  }

  if (const auto* field = s.get("tags")) rule.tags = tag_templates(*field, rule);
  if (const auto* field = s.get("invalidate_tags")) {
    if (!policy::is_invalidating_method(rule.method)) {
      fail(where(field->key.Mark()), field->path,
           "a " + rule.method +
               " request never invalidates; invalidate_tags belongs on a write "
               "rule (POST, PUT, PATCH, DELETE, ...)");
    }
    rule.invalidate_tags = tag_templates(*field, rule);
  }
  rule.rate_limit = config.rate_limit;
  if (const auto* field = s.get("rate_limit")) {
    rule.rate_limit = read_rate_limit(*field, config.rate_limit, /*rule_level=*/true);
  }

  // Options that only affect storing are an error on a rule that does not cache: they would
  // silently do nothing.
  if (!rule.caches()) {
    for (std::string_view key : {"key_query", "cache_authorized", "cache_private", "namespace",
                                 "freshness", "stale_while_revalidate", "stale_if_error",
                                 "client_cache_control", "max_variants", "tags"}) {
      if (const auto* field = s.get(key)) {
        fail(where(field->key.Mark()), field->path,
             "only applies to cached rules; add a ttl or freshness: upstream (GET rules only) or "
             "remove it");
      }
    }
    if (rule.invalidate.empty() && rule.invalidate_tags.empty() && !rule.rate_limit) {
      fail(s.where(), path,
           "rule \"" + rule.name +
               "\" has neither ttl nor invalidate nor invalidate_tags nor rate_limit, so it does "
               "nothing; add a ttl or freshness: upstream (GET rules only), an invalidate or "
               "invalidate_tags list or a rate_limit");
    }
  }
  return rule;
}

// `rate_limit: {limit, window, by, fail}` at the top level (`inherited` empty) or on a rule,
// where the fields it leaves out come from the top-level one (`inherited`) and `off` turns the
// default off. limit and window are required unless inherited; by and fail default to
// client_ip and open.
std::optional<policy::RateLimitSpec> Loader::read_rate_limit(
    const Field& field, const std::optional<policy::RateLimitSpec>& inherited,
    bool rule_level) const {
  if (rule_level && field.value.IsScalar()) {
    if (field.value.Scalar() == "off") return std::nullopt;
    fail(where(field), field.path,
         "expected a map {limit, window, by, fail} or off, got '" + field.value.Scalar() + "'");
  }
  const Section s = section(field.value, field.path, where(field.key.Mark()), kRateLimitKeys);
  policy::RateLimitSpec spec = inherited.value_or(policy::RateLimitSpec{});
  const auto* limit = s.get("limit");
  const auto* window = s.get("window");
  if (!inherited && limit == nullptr) {
    fail(where(field.key.Mark()), s.child("limit"),
         "required: requests allowed per window, e.g. limit: 100");
  }
  if (!inherited && window == nullptr) {
    fail(where(field.key.Mark()), s.child("window"), "required: the window, e.g. window: 1m");
  }
  if (limit != nullptr) spec.limit = integer(*limit, 1, policy::kMaxRateLimit);
  if (window != nullptr) {
    const auto length = duration(*window);
    if (length % std::chrono::seconds(1) != milliseconds(0)) {
      fail(where(*window), window->path,
           "must be a whole number of seconds (RateLimit-Policy counts in seconds), got " +
               core::format_duration(length));
    }
    if (length > policy::kMaxRateLimitWindow) {
      fail(where(*window), window->path,
           core::format_duration(length) + " is longer than the maximum, 24h");
    }
    spec.window = std::chrono::duration_cast<std::chrono::seconds>(length);
  }
  if (const auto* by = s.get("by")) {
    const auto value = scalar(*by, "client_ip or header:<field name>");
    std::string error;
    auto source = policy::parse_rate_limit_by(core::trim(value.text), &error);
    if (!source) fail(value.where, by->path, error);
    spec.by = source->by;
    spec.header = std::move(source->header);
  }
  if (const auto* mode = s.get("fail")) {
    spec.fail = either(*mode, "open", policy::RateLimitFailure::Open, "closed",
                       policy::RateLimitFailure::Closed);
  }
  return spec;
}

// Records where a document's first node is (or, if it has none, where the document starts).
class FirstNodeMark : public YAML::EventHandler {
 public:
  YAML::Mark mark() const { return node_ ? *node_ : document_; }

  void OnDocumentStart(const YAML::Mark& mark) override { document_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { note(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { note(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    note(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    note(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    note(mark);
  }
  void OnMapEnd() override {}

 private:
  void note(const YAML::Mark& mark) {
    if (!node_) node_ = mark;
  }
  YAML::Mark document_ = YAML::Mark::null_mark();
  std::optional<YAML::Mark> node_;
};

// Where a second document starts, if the text has one. yaml-cpp's LoadAll can report empty
// documents forever on some malformed text (fuzzing found "#am:\n !url:,/000\n"), so the
// parser is asked for two documents at most.
std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  FirstNodeMark first;
  FirstNodeMark second;
  if (!parser.HandleNextDocument(first) || !parser.HandleNextDocument(second)) return std::nullopt;
  return second.mark();
}

Config Loader::load(std::string_view yaml) {
  YAML::Node document;
  std::optional<YAML::Mark> second;
  try {
    const std::string text(yaml);
    document = YAML::Load(text);
    second = second_document(text);
  } catch (const YAML::ParserException& e) {
    fail(where(e.mark), "", "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    fail(where(e.mark), "", std::string("cannot parse YAML: ") + e.what());
  }
  if (second) {
    fail(where(*second), "(document)", "several YAML documents ('---'); expected exactly one");
  }
  if (document.IsNull()) {
    fail(source_ + ":1", "(document)", "empty configuration; at least upstream.url is required");
  }

  Config config;
  config.source = source_;
  try {
    const Section root = section(document, "", where(document, source_ + ":1"), kTopKeys);
    read_listen(root, config);
    read_threads(root, config);
    read_upstream(root, config);
    read_redis(root, config);
    std::string admin_where;
    read_admin(root, config, admin_where);
    read_cache(root, config);
    read_limits(root, config);
    read_log(root, config);
    read_trusted_proxies(root, config);
    if (const auto* field = root.get("rate_limit")) {
      config.rate_limit = read_rate_limit(*field, std::nullopt, /*rule_level=*/false);
    }
    read_rules(root, config);

    const auto& admin = config.admin;
    if (!is_loopback_host(admin.listen.host) && admin.token.empty() &&
        !admin.allow_unauthenticated) {
      fail(admin_where, "admin.listen",
           "the admin listener " + admin.listen.to_string() +
               " is reachable from other hosts but has no token; set admin.token (or "
               "CACHECAR_ADMIN_TOKEN), listen on 127.0.0.1, or set "
               "admin.allow_unauthenticated: true to expose it without authentication");
    }
  } catch (const YAML::Exception& e) {
    // A yaml-cpp accessor threw: report it as a config error rather than escaping as-is.
    fail(where(e.mark), "", std::string("invalid YAML structure: ") + e.what());
  }
  return config;
}

}  // namespace

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Config load_config_text(std::string_view yaml, std::string_view source, const EnvLookup& env) {
  return Loader(source, env).load(expand_env_references(yaml, source, env));
}

Config load_config_file(const std::string& path, const EnvLookup& env) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(path + ": cannot read config file: is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(path + ": cannot open config file: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read config file");
  return load_config_text(text.str(), path, env);
}

}  // namespace cachecar::config
