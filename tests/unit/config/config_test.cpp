#include "config/config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace cachecar::config {
namespace {

using std::chrono::milliseconds;

EnvLookup env_of(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const EnvLookup kNoEnv = env_of({});

Config load(std::string_view yaml, const EnvLookup& env = kNoEnv) {
  return load_config_text(yaml, "test.yaml", env);
}

constexpr std::string_view kMinimal = "upstream:\n  url: http://127.0.0.1:8000\n";

TEST(LoadConfig, MinimalConfigGetsDefaults) {
  const Config c = load(kMinimal);
  EXPECT_EQ(c.source, "test.yaml");
  EXPECT_EQ(c.listen.to_string(), "0.0.0.0:8080");
  EXPECT_EQ(c.threads, 0U);
  EXPECT_EQ(c.upstream.url, "http://127.0.0.1:8000");
  EXPECT_EQ(c.upstream.address.to_string(), "127.0.0.1:8000");
  EXPECT_EQ(c.upstream.base_path, "");
  EXPECT_EQ(c.upstream.connect_timeout, milliseconds(2000));
  EXPECT_EQ(c.upstream.timeout, milliseconds(30'000));
  EXPECT_EQ(c.upstream.max_idle_connections, 64U);
  EXPECT_EQ(c.store.url, "redis://127.0.0.1:6379/0");
  EXPECT_FALSE(c.store.memory);
  EXPECT_EQ(c.store.address.to_string(), "127.0.0.1:6379");
  EXPECT_EQ(c.store.db, 0);
  EXPECT_EQ(c.store.key_prefix, "cachecar:");
  EXPECT_EQ(c.store.timeout, milliseconds(100));
  EXPECT_EQ(c.store.connections, 1U);
  EXPECT_EQ(c.store.memory_max_bytes, 64ULL << 20);
  EXPECT_EQ(c.admin.listen.to_string(), "127.0.0.1:8081");
  EXPECT_EQ(c.admin.token, "");
  EXPECT_FALSE(c.admin.allow_unauthenticated);
  EXPECT_EQ(c.cache.default_ttl, milliseconds(60'000));
  EXPECT_EQ(c.cache.max_ttl, milliseconds(86'400'000));
  EXPECT_EQ(c.cache.max_body_bytes, 1U << 20);
  EXPECT_EQ(c.bypass_param, "nocache");
  EXPECT_EQ(c.limits.max_header_bytes, 16U * 1024);
  EXPECT_EQ(c.limits.max_request_body_bytes, 64ULL << 20);
  EXPECT_EQ(c.limits.client_header_timeout, milliseconds(10'000));
  EXPECT_EQ(c.limits.client_idle_timeout, milliseconds(60'000));
  EXPECT_EQ(c.limits.client_body_timeout, milliseconds(30'000));
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_TRUE(c.log.access_log);
  EXPECT_TRUE(c.rules.rules().empty());
}

constexpr std::string_view kFull = R"yaml(
listen: "127.0.0.1:9090"
threads: 3
upstream:
  url: "http://backend:8000/v1/"
  connect_timeout: 500ms
  timeout: 1m
  max_idle_connections: 8
redis:
  url: "redis://:pw@cache:6380/3"
  key_prefix: "app:"
  timeout: 250ms
  connections: 2
  memory_max_size: 2MiB
admin:
  listen: "0.0.0.0:9091"
  token: "s3cret-token"
  allow_unauthenticated: false
cache:
  default_ttl: 30s
  max_ttl: 2h
  max_body_size: 512KiB
  bypass_param: fresh
limits:
  max_header_size: 8KiB
  max_request_body_size: 1MB
  client_header_timeout: 5s
  client_idle_timeout: 2m
  client_body_timeout: 15s
log:
  level: debug
  format: json
  access_log: false
rules:
  - match: "GET /api/users/{id}"
    ttl: 120s
    key_query: [page]
    cache_authorized: true
    cache_private: true
    namespace: users
  - match: "GET /api/posts/"
    ttl: 45
    key_query: []
  - match: "PUT /api/users/{id}"
    invalidate: ["GET /api/users/{id}", "GET /api/users/*"]
)yaml";

TEST(LoadConfig, FullConfigSetsEveryField) {
  const Config c = load(kFull);
  EXPECT_EQ(c.listen.to_string(), "127.0.0.1:9090");
  EXPECT_EQ(c.threads, 3U);
  EXPECT_EQ(c.upstream.url, "http://backend:8000/v1/");
  EXPECT_EQ(c.upstream.address.to_string(), "backend:8000");
  EXPECT_EQ(c.upstream.base_path, "/v1");
  EXPECT_EQ(c.upstream.connect_timeout, milliseconds(500));
  EXPECT_EQ(c.upstream.timeout, milliseconds(60'000));
  EXPECT_EQ(c.upstream.max_idle_connections, 8U);
  EXPECT_EQ(c.store.url, "redis://:pw@cache:6380/3");
  EXPECT_EQ(c.store.address.to_string(), "cache:6380");
  EXPECT_EQ(c.store.password, "pw");
  EXPECT_EQ(c.store.db, 3);
  EXPECT_EQ(c.store.key_prefix, "app:");
  EXPECT_EQ(c.store.timeout, milliseconds(250));
  EXPECT_EQ(c.store.connections, 2U);
  EXPECT_EQ(c.store.memory_max_bytes, 2U << 20);
  EXPECT_EQ(c.admin.listen.to_string(), "0.0.0.0:9091");
  EXPECT_EQ(c.admin.token, "s3cret-token");
  EXPECT_EQ(c.cache.default_ttl, milliseconds(30'000));
  EXPECT_EQ(c.cache.max_ttl, milliseconds(7'200'000));
  EXPECT_EQ(c.cache.max_body_bytes, 512U * 1024);
  EXPECT_EQ(c.bypass_param, "fresh");
  EXPECT_EQ(c.limits.max_header_bytes, 8U * 1024);
  EXPECT_EQ(c.limits.max_request_body_bytes, 1000'000U);
  EXPECT_EQ(c.limits.client_header_timeout, milliseconds(5000));
  EXPECT_EQ(c.limits.client_idle_timeout, milliseconds(120'000));
  EXPECT_EQ(c.limits.client_body_timeout, milliseconds(15'000));
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_FALSE(c.log.access_log);

  const auto& rules = c.rules.rules();
  ASSERT_EQ(rules.size(), 3U);
  const auto& users = rules[0];
  EXPECT_EQ(users.name, "GET /api/users/{id}");
  EXPECT_EQ(users.method, "GET");
  EXPECT_EQ(users.pattern.text(), "/api/users/{id}");
  EXPECT_EQ(users.ttl, milliseconds(120'000));
  EXPECT_EQ(users.key_query, (std::vector<std::string>{"page"}));
  EXPECT_TRUE(users.cache_authorized);
  EXPECT_TRUE(users.cache_private);
  EXPECT_EQ(users.cache_namespace, "users");
  EXPECT_TRUE(users.invalidate.empty());

  const auto& posts = rules[1];
  EXPECT_EQ(posts.ttl, milliseconds(45'000));  // a plain integer is seconds
  ASSERT_TRUE(posts.key_query.has_value());    // [] = no params, unlike an absent key_query
  EXPECT_TRUE(posts.key_query->empty());
  EXPECT_FALSE(posts.cache_authorized);
  EXPECT_FALSE(posts.cache_private);
  EXPECT_EQ(posts.cache_namespace, "");

  const auto& put = rules[2];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_FALSE(put.ttl.has_value());
  EXPECT_FALSE(put.key_query.has_value());
  ASSERT_EQ(put.invalidate.size(), 2U);
  EXPECT_EQ(put.invalidate[0].text(), "GET /api/users/{id}");
  const policy::Params params{{"id", "42"}};
  EXPECT_EQ(put.invalidate[0].fill(params).key, "GET:/api/users/42");
  EXPECT_EQ(put.invalidate[1].fill(params).kind, policy::EraseSpec::Kind::Prefix);
  EXPECT_EQ(put.invalidate[1].fill(params).key, "GET:/api/users/");
}

TEST(LoadConfig, HttpCachingDefaults) {
  const Config c = load(std::string(kMinimal) + "rules:\n  - match: GET /a\n    ttl: 5s\n");
  EXPECT_EQ(c.cache.keep, std::chrono::hours(1));
  EXPECT_EQ(c.cache.max_stale, std::chrono::hours(1));
  const auto& rule = c.rules.rules().at(0);
  EXPECT_EQ(rule.freshness, policy::FreshnessMode::Rule);
  EXPECT_EQ(rule.ttl, milliseconds(5000));
  EXPECT_FALSE(rule.heuristic);
  EXPECT_EQ(rule.stale_while_revalidate, milliseconds(0));
  EXPECT_EQ(rule.stale_if_error, milliseconds(0));
  EXPECT_EQ(rule.client_cache_control, policy::ClientCacheControl::Ignore);
  EXPECT_EQ(rule.max_variants, 8U);
  EXPECT_TRUE(rule.caches());
}

TEST(LoadConfig, HttpCachingKeysSetEveryField) {
  const Config c = load(std::string(kMinimal) +
                        "cache:\n  keep: 30m\n  max_stale: 2h\n"
                        "rules:\n"
                        "  - match: GET /api/*\n"
                        "    freshness: upstream\n"
                        "    ttl: 30s\n"
                        "    heuristic: true\n"
                        "    stale_while_revalidate: 10s\n"
                        "    stale_if_error: 2h\n"  // equal to max_stale: allowed
                        "    client_cache_control: honor\n"
                        "    max_variants: 1024\n"
                        "  - match: GET /b\n"
                        "    freshness: rule\n"
                        "    ttl: 1m\n"
                        "    client_cache_control: ignore\n"
                        "    max_variants: 1\n");
  EXPECT_EQ(c.cache.keep, std::chrono::minutes(30));
  EXPECT_EQ(c.cache.max_stale, std::chrono::hours(2));
  const auto& upstream = c.rules.rules().at(0);
  EXPECT_EQ(upstream.freshness, policy::FreshnessMode::Upstream);
  EXPECT_EQ(upstream.ttl, milliseconds(30'000));
  EXPECT_TRUE(upstream.heuristic);
  EXPECT_EQ(upstream.stale_while_revalidate, milliseconds(10'000));
  EXPECT_EQ(upstream.stale_if_error, std::chrono::hours(2));
  EXPECT_EQ(upstream.client_cache_control, policy::ClientCacheControl::Honor);
  EXPECT_EQ(upstream.max_variants, 1024U);
  const auto& rule_mode = c.rules.rules().at(1);
  EXPECT_EQ(rule_mode.freshness, policy::FreshnessMode::Rule);
  EXPECT_EQ(rule_mode.ttl, milliseconds(60'000));
  EXPECT_EQ(rule_mode.client_cache_control, policy::ClientCacheControl::Ignore);
  EXPECT_EQ(rule_mode.max_variants, 1U);
}

TEST(LoadConfig, CompressionDefaultsToOffWithTheIssueDefaults) {
  const Config c = load(kMinimal);
  const auto& z = c.cache.compression;
  EXPECT_FALSE(z.enabled);
  EXPECT_EQ(z.min_size_bytes, 1024U);
  EXPECT_EQ(z.level, 6);
  EXPECT_EQ(z.types, (std::vector<std::string>{"application/json", "text/*",
                                               "application/javascript", "image/svg+xml"}));
}

TEST(LoadConfig, CompressionKeysSetEveryField) {
  const Config c = load(std::string(kMinimal) +
                        "cache:\n  compression:\n    enabled: true\n    min_size: 4KiB\n"
                        "    level: 9\n    types: [Application/JSON, \"text/*\", \"*/*\"]\n");
  const auto& z = c.cache.compression;
  EXPECT_TRUE(z.enabled);
  EXPECT_EQ(z.min_size_bytes, 4096U);
  EXPECT_EQ(z.level, 9);
  EXPECT_EQ(z.types, (std::vector<std::string>{"application/json", "text/*", "*/*"}))
      << "lower-cased";
}

TEST(LoadConfig, CompressionMinSizeUnits) {
  auto min_size = [](std::string_view value) {
    return load(std::string(kMinimal) +
                "cache:\n  compression:\n    min_size: " + std::string(value) + "\n")
        .cache.compression.min_size_bytes;
  };
  EXPECT_EQ(min_size("0"), 0U);
  EXPECT_EQ(min_size("1500"), 1500U) << "plain bytes";
  EXPECT_EQ(min_size("2KiB"), 2048U);
  EXPECT_EQ(min_size("2KB"), 2000U);
  EXPECT_EQ(min_size("1MiB"), 1048576U) << "equal to the default max_body_size";
  // Above max_body_size only matters when compression is on.
  EXPECT_EQ(min_size("8MiB"), 8U << 20);
}

TEST(LoadConfig, ZeroKeepAndMaxStaleAreAllowed) {
  const Config c = load(std::string(kMinimal) + "cache:\n  keep: 0\n  max_stale: 0s\n");
  EXPECT_EQ(c.cache.keep, milliseconds(0));
  EXPECT_EQ(c.cache.max_stale, milliseconds(0));
}

TEST(LoadConfig, UpstreamRuleNeedsNoTtlAndCaches) {
  // The options that only affect storing are accepted: such a rule caches.
  const Config c = load(std::string(kMinimal) +
                        "rules:\n  - match: GET /a\n    freshness: upstream\n"
                        "    key_query: [page]\n    namespace: a\n    cache_private: true\n");
  const auto& rule = c.rules.rules().at(0);
  EXPECT_EQ(rule.freshness, policy::FreshnessMode::Upstream);
  EXPECT_FALSE(rule.ttl.has_value());
  EXPECT_TRUE(rule.caches());
  EXPECT_FALSE(rule.heuristic);
}

TEST(LoadConfig, UpstreamRuleTtlZeroMeansNoFallbackLifetime) {
  // ttl: 0 = responses without explicit freshness are not stored; the key order does not matter.
  for (const std::string body : {"    freshness: upstream\n    ttl: 0\n",
                                 "    ttl: 0s\n    freshness: upstream\n    heuristic: true\n"}) {
    const Config c = load(std::string(kMinimal) + "rules:\n  - match: GET /a\n" + body);
    const auto& rule = c.rules.rules().at(0);
    EXPECT_FALSE(rule.ttl.has_value()) << body;
    EXPECT_TRUE(rule.caches()) << body;
  }
}

TEST(LoadConfig, StaleWindowsApplyInRuleMode) {
  const Config c = load(std::string(kMinimal) +
                        "rules:\n  - match: GET /a\n    ttl: 5s\n"
                        "    stale_while_revalidate: 0s\n    stale_if_error: 1h\n");
  EXPECT_EQ(c.rules.rules().at(0).stale_while_revalidate, milliseconds(0));
  EXPECT_EQ(c.rules.rules().at(0).stale_if_error, std::chrono::hours(1));
}

TEST(LoadConfig, LoadedRulesMatchRequests) {
  const Config c = load(kFull);
  policy::Params params;
  const auto* rule = c.rules.match("PUT", "/api/users/7", &params);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->name, "PUT /api/users/{id}");
  EXPECT_EQ(params, (policy::Params{{"id", "7"}}));
  EXPECT_EQ(c.rules.match("GET", "/api/posts/1", nullptr), nullptr);
}

TEST(LoadConfig, HostsMapAliasesToNormalisedCanonicalNames) {
  const Config none = load(kMinimal);
  EXPECT_TRUE(none.hosts.empty());
  const Config c = load(std::string(kMinimal) +
                        "cache:\n  hosts:\n    API.Example.com:80: [api, \"api.example.com:443\"]\n"
                        "    other.example:\n");
  EXPECT_EQ(c.hosts.canonical("api"), std::optional<std::string_view>("api.example.com"));
  EXPECT_EQ(c.hosts.canonical("api.example.com:443"),
            std::optional<std::string_view>("api.example.com"));
  EXPECT_EQ(c.hosts.canonical("api.example.com"),
            std::optional<std::string_view>("api.example.com"));
  EXPECT_EQ(c.hosts.canonical("other.example"), std::optional<std::string_view>("other.example"));
  EXPECT_EQ(c.hosts.canonical("evil.example"), std::nullopt);
}

TEST(LoadConfig, IntegerSizesAreBytes) {
  const Config c = load(std::string(kMinimal) + "cache:\n  max_body_size: 2048\n");
  EXPECT_EQ(c.cache.max_body_bytes, 2048U);
}

TEST(LoadConfig, NullSectionsKeepDefaults) {
  const Config c = load(std::string(kMinimal) + "cache:\nlog:\nrules:\n");
  EXPECT_EQ(c.cache.default_ttl, milliseconds(60'000));
  EXPECT_EQ(c.log.level, "info");
  EXPECT_TRUE(c.rules.rules().empty());
}

TEST(LoadConfig, MemoryStore) {
  const Config c = load(std::string(kMinimal) + "redis:\n  url: memory://\n");
  EXPECT_TRUE(c.store.memory);
  EXPECT_EQ(c.store.url, "memory://");
}

// cache.key_hash: how Redis names its keys; none (today's names) unless asked.
TEST(LoadConfig, KeyHashDefaultsToNoneAndTakesSha256) {
  EXPECT_EQ(load(kMinimal).store.key_hash, core::KeyHash::None);
  EXPECT_EQ(load(std::string(kMinimal) + "cache:\n  key_hash: none\n").store.key_hash,
            core::KeyHash::None);
  EXPECT_EQ(load(std::string(kMinimal) + "cache:\n  key_hash: sha256\n").store.key_hash,
            core::KeyHash::Sha256);
  // memory:// has no key names to hash; the setting is accepted and changes nothing there.
  const Config memory =
      load(std::string(kMinimal) + "redis:\n  url: memory://\ncache:\n  key_hash: sha256\n");
  EXPECT_TRUE(memory.store.memory);
  EXPECT_EQ(memory.store.key_hash, core::KeyHash::Sha256);
}

TEST(LoadConfig, EmptyBypassParamDisablesBypass) {
  EXPECT_EQ(load(std::string(kMinimal) + "cache:\n  bypass_param: \"\"\n").bypass_param, "");
}

TEST(LoadConfig, TrustedProxiesDefaultToNobody) {
  EXPECT_TRUE(load(kMinimal).trusted_proxies.empty());
  EXPECT_TRUE(load(std::string(kMinimal) + "trusted_proxies: []\n").trusted_proxies.empty());
  EXPECT_TRUE(load(std::string(kMinimal) + "trusted_proxies:\n").trusted_proxies.empty());
}

TEST(LoadConfig, TrustedProxiesTakeCidrRangesAndSingleAddresses) {
  const Config c = load(std::string(kMinimal) +
                        "trusted_proxies:\n"
                        "  - 10.0.0.0/8\n"
                        "  - 192.0.2.7\n"
                        "  - \"2001:db8::/32\"\n"
                        "  - \"::1\"\n");
  std::vector<std::string> ranges;
  for (const auto& range : c.trusted_proxies.ranges()) ranges.push_back(range.to_string());
  EXPECT_EQ(ranges,
            (std::vector<std::string>{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "::1/128"}));
  EXPECT_TRUE(c.trusted_proxies.contains("10.20.30.40"));
  EXPECT_TRUE(c.trusted_proxies.contains("::ffff:10.20.30.40"));
  EXPECT_FALSE(c.trusted_proxies.contains("192.0.2.8"));
  EXPECT_TRUE(c.trusted_proxies.contains("::1"));
}

TEST(LoadConfig, BypassTokenFromTheFileOrTheEnvironment) {
  EXPECT_EQ(load(kMinimal).bypass_token, "");
  const std::string with_token = std::string(kMinimal) + "cache:\n  bypass_token: s3cret\n";
  EXPECT_EQ(load(with_token).bypass_token, "s3cret");
  EXPECT_EQ(load(with_token, env_of({{"CACHECAR_BYPASS_TOKEN", "from-env"}})).bypass_token,
            "from-env");
  EXPECT_EQ(load(kMinimal, env_of({{"CACHECAR_BYPASS_TOKEN", "from-env"}})).bypass_token,
            "from-env");
  EXPECT_EQ(load(std::string(kMinimal) + "cache:\n  bypass_token: \"\"\n").bypass_token, "");
}

TEST(LoadConfig, BooleansAcceptYamlSpellings) {
  EXPECT_FALSE(load(std::string(kMinimal) + "log:\n  access_log: no\n").log.access_log);
  EXPECT_TRUE(load(std::string(kMinimal) + "log:\n  access_log: Yes\n").log.access_log);
}

TEST(LoadConfig, AdminOffLoopbackNeedsTokenOrExplicitOptOut) {
  const std::string exposed = std::string(kMinimal) + "admin:\n  listen: 0.0.0.0:8081\n";
  EXPECT_THROW(load(exposed), ConfigError);
  EXPECT_EQ(load(exposed + "  token: abc\n").admin.token, "abc");
  EXPECT_TRUE(load(exposed + "  allow_unauthenticated: true\n").admin.allow_unauthenticated);
  EXPECT_EQ(load(exposed, env_of({{"CACHECAR_ADMIN_TOKEN", "from-env"}})).admin.token, "from-env");
}

TEST(LoadConfig, AdminOnLoopbackNeedsNoToken) {
  for (const char* listen : {"127.0.0.1:8081", "127.8.0.1:1", "\"[::1]:8081\"", "localhost:9"}) {
    const auto c = load(std::string(kMinimal) + "admin:\n  listen: " + listen + "\n");
    EXPECT_TRUE(c.admin.token.empty()) << listen;
  }
}

TEST(LoadConfig, EnvOverridesWinOverFile) {
  const auto env = env_of({{"CACHECAR_LISTEN", ":7000"},
                           {"CACHECAR_UPSTREAM_URL", "http://other:9000"},
                           {"CACHECAR_REDIS_URL", "memory://"},
                           {"CACHECAR_ADMIN_LISTEN", "127.0.0.1:7001"},
                           {"CACHECAR_ADMIN_TOKEN", "tok"},
                           {"CACHECAR_LOG_LEVEL", "WARN"}});
  const Config c = load(kFull, env);
  EXPECT_EQ(c.listen.to_string(), "0.0.0.0:7000");
  EXPECT_EQ(c.upstream.url, "http://other:9000");
  EXPECT_EQ(c.upstream.address.to_string(), "other:9000");
  EXPECT_EQ(c.upstream.base_path, "");
  EXPECT_TRUE(c.store.memory);
  EXPECT_EQ(c.admin.listen.to_string(), "127.0.0.1:7001");
  EXPECT_EQ(c.admin.token, "tok");
  EXPECT_EQ(c.log.level, "warn");
  EXPECT_EQ(c.threads, 3U);  // untouched by env
}

TEST(LoadConfig, EnvSuppliesRequiredUpstreamUrl) {
  const Config c = load("listen: \":8080\"\n", env_of({{"CACHECAR_UPSTREAM_URL", "http://h:1"}}));
  EXPECT_EQ(c.upstream.address.to_string(), "h:1");
}

TEST(LoadConfig, ProcessEnvReadsTheEnvironment) {
  ::setenv("CACHECAR_UNIT_TEST_VAR", "value", 1);
  const auto env = process_env();
  EXPECT_EQ(env("CACHECAR_UNIT_TEST_VAR"), "value");
  ::unsetenv("CACHECAR_UNIT_TEST_VAR");
  EXPECT_EQ(env("CACHECAR_UNIT_TEST_VAR"), std::nullopt);
}

// --- env override errors name the variable ---

struct EnvErrorCase {
  std::string name;
  std::string variable;
  std::string value;
  std::string field;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const EnvErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class EnvOverrideErrorTest : public testing::TestWithParam<EnvErrorCase> {};

TEST_P(EnvOverrideErrorTest, NamesTheVariable) {
  const auto& c = GetParam();
  try {
    load(kMinimal, env_of({{c.variable, c.value}}));
    FAIL() << "accepted " << c.variable << "=" << c.value;
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("environment variable " + c.variable + ": " + c.field + ": "),
              std::string::npos)
        << message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Config, EnvOverrideErrorTest,
    testing::Values(
        EnvErrorCase{"Listen", "CACHECAR_LISTEN", "8080", "listen"},
        EnvErrorCase{"UpstreamUrl", "CACHECAR_UPSTREAM_URL", "ftp://h", "upstream.url"},
        EnvErrorCase{"EmptyUpstreamUrl", "CACHECAR_UPSTREAM_URL", "", "upstream.url"},
        EnvErrorCase{"RedisUrl", "CACHECAR_REDIS_URL", "mysql://h", "redis.url"},
        EnvErrorCase{"AdminListen", "CACHECAR_ADMIN_LISTEN", "nope", "admin.listen"},
        EnvErrorCase{"AdminListenExposed", "CACHECAR_ADMIN_LISTEN", "0.0.0.0:1", "admin.listen"},
        EnvErrorCase{"AdminToken", "CACHECAR_ADMIN_TOKEN", "has space", "admin.token"},
        EnvErrorCase{"BypassToken", "CACHECAR_BYPASS_TOKEN", "has space", "cache.bypass_token"},
        EnvErrorCase{"LogLevel", "CACHECAR_LOG_LEVEL", "loud", "log.level"}),
    [](const testing::TestParamInfo<EnvErrorCase>& param_info) { return param_info.param.name; });

TEST(LoadConfig, RedisErrorsNeverEchoThePassword) {
  try {
    load(kMinimal, env_of({{"CACHECAR_REDIS_URL", "redis://:hunter2@h:99999"}}));
    FAIL() << "accepted a bad port";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
}

// RFC 9110 §9.1: any upper-case method token, hyphenated ones too, may name a write rule.
TEST(LoadConfig, WriteRulesTakeAnyUpperCaseMethodToken) {
  const Config c = load(std::string(kMinimal) +
                        "rules:\n  - match: VERSION-CONTROL /a\n    invalidate: [\"GET /a\"]\n"
                        "  - match: PURGE /b\n    invalidate: [\"GET /b\"]\n");
  ASSERT_EQ(c.rules.rules().size(), 2u);
  EXPECT_EQ(c.rules.rules()[0].method, "VERSION-CONTROL");
  EXPECT_EQ(c.rules.rules()[1].method, "PURGE");
}
}  // namespace
}  // namespace cachecar::config
