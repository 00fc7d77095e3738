// Every configuration error names the source, the line and the field; one table row per error.
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace cachecar::config {
namespace {

const EnvLookup kNoEnv = [](std::string_view) { return std::optional<std::string>{}; };

// Lines 1-2 of most cases; the line numbers below count from here.
const std::string kUp = "upstream:\n  url: http://h:1\n";

std::string error_of(std::string_view yaml) {
  try {
    load_config_text(yaml, "test.yaml", kNoEnv);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

struct ErrorCase {
  std::string name;
  std::string yaml;
  int line;
  std::string path;          // field path in the message
  std::string message_part;  // what is wrong
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class ConfigErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, NamesLineAndField) {
  const auto& c = GetParam();
  const std::string message = error_of(c.yaml);
  const std::string prefix = "test.yaml:" + std::to_string(c.line) + ": " + c.path + ": ";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
  EXPECT_NE(message.find(c.message_part), std::string::npos) << message;
}

std::string rule(std::string_view body) {
  return kUp + "rules:\n  - " + std::string(body);
}

INSTANTIATE_TEST_SUITE_P(
    Structure, ConfigErrorTest,
    testing::Values(
        ErrorCase{"UnknownTopLevelKey", kUp + "listen_port: 8080\n", 3, "listen_port",
                  "unknown key; allowed keys: listen, threads, upstream, redis, admin, cache, "
                  "limits, log, trusted_proxies, rate_limit, rules"},
        ErrorCase{"UnknownNestedKey", kUp + "  retries: 3\n", 3, "upstream.retries",
                  "allowed keys: url, connect_timeout, timeout, max_idle_connections"},
        ErrorCase{"UnknownRuleKey", rule("match: GET /a\n    ttl: 1s\n    tll: 5s\n"), 6,
                  "rules[0].tll",
                  "allowed keys: match, ttl, key_query, cache_authorized, cache_private, "
                  "namespace, invalidate, freshness, heuristic, stale_while_revalidate, "
                  "stale_if_error, client_cache_control, max_variants, tags, invalidate_tags, "
                  "rate_limit"},
        ErrorCase{"DuplicateKey", kUp + "threads: 2\nthreads: 3\n", 4, "threads", "duplicate key"},
        ErrorCase{"NonScalarKey", kUp + "[a]: 1\n", 3, "(document)", "keys must be plain names"},
        ErrorCase{"DocumentIsList", "- a\n- b\n", 1, "(document)", "expected a map, got a list"},
        ErrorCase{"SectionIsScalar", "upstream: http://h:1\n", 1, "upstream",
                  "expected a map, got a scalar"},
        ErrorCase{"SectionIsList", kUp + "cache:\n  - 1s\n", 4, "cache",
                  "expected a map, got a list"},
        ErrorCase{"MapWhereScalarExpected", kUp + "listen:\n  host: x\n", 4, "listen",
                  "expected a string, got a map"},
        ErrorCase{"ListWhereScalarExpected", kUp + "threads: [1]\n", 3, "threads", "got a list"},
        ErrorCase{"NullWhereScalarExpected", kUp + "  timeout:\n", 3, "upstream.timeout",
                  "got nothing"},
        ErrorCase{"SeveralDocuments", kUp + "---\nthreads: 1\n", 4, "(document)",
                  "several YAML documents"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Values, ConfigErrorTest,
    testing::Values(
        ErrorCase{"BadDuration", kUp + "  timeout: 30 seconds\n", 3, "upstream.timeout",
                  "invalid duration '30 seconds'"},
        ErrorCase{"FractionalDuration", kUp + "  connect_timeout: 1.5s\n", 3,
                  "upstream.connect_timeout", "invalid duration"},
        ErrorCase{"NegativeDuration", kUp + "cache:\n  default_ttl: -5s\n", 4, "cache.default_ttl",
                  "must be positive"},
        ErrorCase{"ZeroTimeout", kUp + "  connect_timeout: 0s\n", 3, "upstream.connect_timeout",
                  "must be greater than 0"},
        ErrorCase{"ZeroMaxTtl", kUp + "cache:\n  max_ttl: 0\n", 4, "cache.max_ttl",
                  "must be greater than 0"},
        ErrorCase{"DefaultTtlAboveMaxTtl", kUp + "cache:\n  default_ttl: 2h\n  max_ttl: 1h\n", 4,
                  "cache.default_ttl", "2h is greater than cache.max_ttl (1h)"},
        ErrorCase{"DefaultDefaultTtlAboveMaxTtl", kUp + "cache:\n  max_ttl: 30s\n", 3,
                  "cache.default_ttl", "1m is greater than cache.max_ttl (30s)"},
        ErrorCase{"BadSize", kUp + "cache:\n  max_body_size: 1 MiB\n", 4, "cache.max_body_size",
                  "invalid size '1 MiB'"},
        ErrorCase{"NegativeSize", kUp + "limits:\n  max_request_body_size: -1\n", 4,
                  "limits.max_request_body_size", "invalid size"},
        ErrorCase{"ZeroBodySize", kUp + "cache:\n  max_body_size: 0\n", 4, "cache.max_body_size",
                  "must be greater than 0"},
        ErrorCase{"TinyHeaderLimit", kUp + "limits:\n  max_header_size: 100\n", 4,
                  "limits.max_header_size", "from 1KiB"},
        ErrorCase{"HugeHeaderLimit", kUp + "limits:\n  max_header_size: 8GiB\n", 4,
                  "limits.max_header_size", "to 4GiB"},
        ErrorCase{"ThreadsZero", kUp + "threads: 0\n", 3, "threads", "expected auto or an integer"},
        ErrorCase{"ThreadsNegative", kUp + "threads: -2\n", 3, "threads", "got '-2'"},
        ErrorCase{"ThreadsWord", kUp + "threads: many\n", 3, "threads", "got 'many'"},
        ErrorCase{"ThreadsTooMany", kUp + "threads: 100000\n", 3, "threads", "1 to 1024"},
        ErrorCase{"ConnectionsZero", kUp + "redis:\n  connections: 0\n", 4, "redis.connections",
                  "from 1 to 64"},
        ErrorCase{"IdleConnectionsNotNumber", kUp + "  max_idle_connections: lots\n", 3,
                  "upstream.max_idle_connections", "expected an integer"},
        ErrorCase{"BadBool", kUp + "admin:\n  allow_unauthenticated: maybe\n", 4,
                  "admin.allow_unauthenticated", "expected true or false, got 'maybe'"},
        ErrorCase{"UnknownLogLevel", kUp + "log:\n  level: verbose\n", 4, "log.level",
                  "unknown level 'verbose'; expected one of trace, debug, info, warn, error, off"},
        ErrorCase{"UnknownLogFormat", kUp + "log:\n  format: xml\n", 4, "log.format",
                  "expected text or json"},
        ErrorCase{"BadBypassParam", kUp + "cache:\n  bypass_param: no cache\n", 4,
                  "cache.bypass_param", "query parameter name"},
        ErrorCase{"ControlCharInKeyPrefix", kUp + "redis:\n  key_prefix: \"a\\nb\"\n", 4,
                  "redis.key_prefix", "control characters"},
        ErrorCase{"TokenWithSpace", kUp + "admin:\n  token: \"a b\"\n", 4, "admin.token",
                  "printable ASCII"},
        ErrorCase{"UnknownCompressionKey", kUp + "cache:\n  compression:\n    ratio: 2\n", 5,
                  "cache.compression.ratio", "allowed keys: enabled, min_size, level, types"},
        ErrorCase{"CompressionLevelZero", kUp + "cache:\n  compression:\n    level: 0\n", 5,
                  "cache.compression.level", "expected an integer from 1 to 9, got '0'"},
        ErrorCase{"CompressionLevelTen", kUp + "cache:\n  compression:\n    level: 10\n", 5,
                  "cache.compression.level", "from 1 to 9"},
        ErrorCase{"CompressionLevelWord", kUp + "cache:\n  compression:\n    level: best\n", 5,
                  "cache.compression.level", "got 'best'"},
        ErrorCase{"CompressionMinSizeUnit", kUp + "cache:\n  compression:\n    min_size: 1 KiB\n",
                  5, "cache.compression.min_size", "invalid size '1 KiB'"},
        ErrorCase{"CompressionMinSizeNegative", kUp + "cache:\n  compression:\n    min_size: -1\n",
                  5, "cache.compression.min_size", "invalid size"},
        ErrorCase{"CompressionMinSizeAboveBodyLimit",
                  kUp + "cache:\n  max_body_size: 64KiB\n  compression:\n    enabled: true\n"
                        "    min_size: 1MiB\n",
                  7, "cache.compression.min_size",
                  "1048576 bytes is greater than cache.max_body_size (65536 bytes)"},
        ErrorCase{"CompressionEnabledNotBool", kUp + "cache:\n  compression:\n    enabled: gzip\n",
                  5, "cache.compression.enabled", "expected true or false"},
        ErrorCase{"CompressionTypesScalar",
                  kUp + "cache:\n  compression:\n    types: application/json\n", 5,
                  "cache.compression.types", "expected a non-empty list of media types"},
        ErrorCase{"CompressionTypesEmpty", kUp + "cache:\n  compression:\n    types: []\n", 5,
                  "cache.compression.types", "set enabled: false"},
        ErrorCase{"CompressionTypeWithoutSubtype",
                  kUp + "cache:\n  compression:\n    types:\n      - text/*\n      - json\n", 7,
                  "cache.compression.types[1]", "got 'json'"},
        ErrorCase{"CompressionTypeWithParameters",
                  kUp + "cache:\n  compression:\n    types: [\"text/html; charset=utf-8\"]\n", 5,
                  "cache.compression.types[0]", "without parameters"},
        ErrorCase{"CompressionTypeWildcardType",
                  kUp + "cache:\n  compression:\n    types: [\"*/json\"]\n", 5,
                  "cache.compression.types[0]", "got '*/json'"},
        ErrorCase{"CompressionTypeNotScalar",
                  kUp + "cache:\n  compression:\n    types:\n      - {a: b}\n", 6,
                  "cache.compression.types[0]", "got a map"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Addresses, ConfigErrorTest,
    testing::Values(
        ErrorCase{"MissingUpstreamSection", "threads: 2\n", 1, "upstream.url", "required"},
        ErrorCase{"MissingUpstreamUrl", "threads: 2\nupstream:\n  timeout: 5s\n", 2, "upstream.url",
                  "CACHECAR_UPSTREAM_URL"},
        ErrorCase{"UpstreamHttps", "upstream:\n  url: https://h\n", 2, "upstream.url",
                  "https:// upstreams are not supported"},
        ErrorCase{"UpstreamNoScheme", "upstream:\n  url: h:8000\n", 2, "upstream.url",
                  "expected http://host[:port][/base/path], got 'h:8000'"},
        ErrorCase{"UpstreamBadPort", "upstream:\n  url: http://h:99999\n", 2, "upstream.url",
                  "invalid port '99999'"},
        ErrorCase{"UpstreamCredentialsNotEchoed", "upstream:\n  url: http://u:pw@h\n", 2,
                  "upstream.url", "user information"},
        ErrorCase{"RedisBadScheme", kUp + "redis:\n  url: http://h:6379\n", 4, "redis.url",
                  "expected redis://[[user]:password@]host[:port][/db], rediss://... or memory://"},
        ErrorCase{"RedisBadPort", kUp + "redis:\n  url: redis://h:0\n", 4, "redis.url",
                  "invalid port '0'"},
        ErrorCase{"RedisBadDb", kUp + "redis:\n  url: redis://h/x\n", 4, "redis.url",
                  "invalid database number"},
        ErrorCase{"ListenNoPort", kUp + "listen: 8080\n", 3, "listen", "expected host:port"},
        ErrorCase{"ListenBadPort", kUp + "listen: \"h:70000\"\n", 3, "listen", "got 'h:70000'"},
        ErrorCase{"ListenUnbracketedIpv6", kUp + "listen: \"::1:80\"\n", 3, "listen",
                  "expected host:port"},
        ErrorCase{"AdminListenBad", kUp + "admin:\n  listen: localhost\n", 4, "admin.listen",
                  "expected host:port"},
        ErrorCase{"AdminExposedWithoutToken", kUp + "admin:\n  listen: 0.0.0.0:8081\n", 4,
                  "admin.listen",
                  "set admin.token (or CACHECAR_ADMIN_TOKEN), listen on 127.0.0.1, or set "
                  "admin.allow_unauthenticated: true"},
        ErrorCase{"AdminExposedOnIpv6Any", kUp + "admin:\n  listen: \"[::]:8081\"\n", 4,
                  "admin.listen", "no token"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Rules, ConfigErrorTest,
    testing::Values(
        ErrorCase{"RulesNotList", kUp + "rules:\n  match: GET /a\n", 4, "rules",
                  "expected a list of rules, got a map"},
        ErrorCase{"RuleNotMap", kUp + "rules:\n  - GET /a\n", 4, "rules[0]",
                  "expected a map, got a scalar"},
        ErrorCase{"MissingMatch", rule("ttl: 5s\n"), 4, "rules[0].match", "required"},
        ErrorCase{"MatchWithoutMethod", rule("match: /a\n    ttl: 1s\n"), 4, "rules[0].match",
                  "expected \"METHOD /path\""},
        ErrorCase{"MatchLowerCaseMethod", rule("match: get /a\n    ttl: 1s\n"), 4, "rules[0].match",
                  "method 'get' must be upper-case"},
        ErrorCase{"MatchTwoSpaces", rule("match: \"GET  /a\"\n    ttl: 1s\n"), 4, "rules[0].match",
                  "exactly one space"},
        ErrorCase{"MatchRelativePath", rule("match: GET a\n    ttl: 1s\n"), 4, "rules[0].match",
                  "path starting with '/'"},
        ErrorCase{"MatchBadPattern", rule("match: GET /a/{id\n    ttl: 1s\n"), 4, "rules[0].match",
                  "invalid path pattern '/a/{id': segment 2: unclosed '{'"},
        ErrorCase{"MatchMixedSegment", rule("match: GET /a/x{id}\n    ttl: 1s\n"), 4,
                  "rules[0].match", "whole segment"},
        ErrorCase{"MatchIsList", rule("match: [GET, /a]\n    ttl: 1s\n"), 4, "rules[0].match",
                  "got a list"},
        ErrorCase{"UselessRule", rule("match: GET /a\n"), 4, "rules[0]",
                  "has neither ttl nor invalidate nor invalidate_tags nor rate_limit, so it does "
                  "nothing; add a ttl or freshness: upstream (GET rules only), an invalidate or "
                  "invalidate_tags list or a rate_limit"},
        ErrorCase{"UselessRuleEmptyInvalidate", rule("match: PUT /a\n    invalidate: []\n"), 4,
                  "rules[0]", "has neither ttl nor invalidate"},
        ErrorCase{"TtlOnPut", rule("match: PUT /a\n    ttl: 5s\n"), 5, "rules[0].ttl",
                  "a ttl on a PUT rule"},
        ErrorCase{"ZeroRuleTtl", rule("match: GET /a\n    ttl: 0\n"), 5, "rules[0].ttl",
                  "must be greater than 0"},
        ErrorCase{"RuleTtlAboveMaxTtl", rule("match: GET /a\n    ttl: 2d\n"), 5, "rules[0].ttl",
                  "48h is greater than cache.max_ttl (24h)"},
        ErrorCase{"KeyQueryNotList", rule("match: GET /a\n    ttl: 1s\n    key_query: page\n"), 6,
                  "rules[0].key_query", "expected a list of query parameter names"},
        ErrorCase{"KeyQueryItemNotScalar",
                  rule("match: GET /a\n    ttl: 1s\n    key_query:\n      - [page]\n"), 7,
                  "rules[0].key_query[0]", "got a list"},
        ErrorCase{"KeyQueryEmptyName", rule("match: GET /a\n    ttl: 1s\n    key_query: [\"\"]\n"),
                  6, "rules[0].key_query[0]", "must not be empty"},
        ErrorCase{"KeyQueryWithoutTtl",
                  rule("match: PUT /a\n    invalidate: [GET /a]\n    key_query: [page]\n"), 6,
                  "rules[0].key_query", "add a ttl"},
        ErrorCase{"NamespaceWithoutTtl",
                  rule("match: PUT /a\n    invalidate: [GET /a]\n    namespace: x\n"), 6,
                  "rules[0].namespace", "add a ttl"},
        ErrorCase{"BadNamespace", rule("match: GET /a\n    ttl: 1s\n    namespace: \"a b\"\n"), 6,
                  "rules[0].namespace", "got 'a b'"},
        ErrorCase{"CachePrivateNotBool",
                  rule("match: GET /a\n    ttl: 1s\n    cache_private: sometimes\n"), 6,
                  "rules[0].cache_private", "expected true or false"},
        ErrorCase{"InvalidateNotList", rule("match: PUT /a\n    invalidate: GET /a\n"), 5,
                  "rules[0].invalidate", "expected a list"},
        ErrorCase{"InvalidateUnknownParam",
                  rule("match: PUT /api/posts/{id}\n    invalidate:\n      - GET /api/posts/{id}\n"
                       "      - GET /api/posts/{slug}\n"),
                  7, "rules[0].invalidate[1]",
                  "\"GET /api/posts/{slug}\" uses {slug}, which \"PUT /api/posts/{id}\" does not "
                  "define"},
        ErrorCase{"InvalidateMalformed", rule("match: PUT /a\n    invalidate: [\"GET a\"]\n"), 5,
                  "rules[0].invalidate[0]", "invalid template 'GET a'"},
        ErrorCase{"InvalidateStarNotLast", rule("match: PUT /a\n    invalidate: [\"GET /*/a\"]\n"),
                  5, "rules[0].invalidate[0]", "'*' is only allowed as the very last"},
        ErrorCase{"SecondRuleReportsItsIndex",
                  kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n  - match: GET /b\n    ttl: 1x\n",
                  7, "rules[1].ttl", "invalid duration '1x'"},
        ErrorCase{"DuplicateRule",
                  kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n  - match: GET /a\n    ttl: 2s\n",
                  6, "rules[1].match", "duplicate of rules[0]"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

// cache.keep / cache.max_stale and the per-rule HTTP caching options.
INSTANTIATE_TEST_SUITE_P(
    HttpCaching, ConfigErrorTest,
    testing::Values(
        ErrorCase{"NegativeKeep", kUp + "cache:\n  keep: -1s\n", 4, "cache.keep",
                  "must be positive"},
        ErrorCase{"BadKeep", kUp + "cache:\n  keep: forever\n", 4, "cache.keep",
                  "invalid duration 'forever'"},
        ErrorCase{"NegativeMaxStale", kUp + "cache:\n  max_stale: -1m\n", 4, "cache.max_stale",
                  "must be positive"},
        ErrorCase{"BadMaxStale", kUp + "cache:\n  max_stale: [1h]\n", 4, "cache.max_stale",
                  "got a list"},
        ErrorCase{"UnknownKeyHash", kUp + "cache:\n  key_hash: md5\n", 4, "cache.key_hash",
                  "unknown key hash 'md5'; expected none or sha256"},
        ErrorCase{"KeyHashNotAScalar", kUp + "cache:\n  key_hash: [sha256]\n", 4, "cache.key_hash",
                  "got a list"},
        ErrorCase{"KeyHashIsCaseSensitive", kUp + "\ncache:\n  key_hash: SHA256\n", 5,
                  "cache.key_hash", "expected none or sha256"},
        ErrorCase{"UnknownFreshness", rule("match: GET /a\n    freshness: origin\n"), 5,
                  "rules[0].freshness", "unknown value 'origin'; expected rule or upstream"},
        ErrorCase{"FreshnessOnPut",
                  rule("match: PUT /a\n    freshness: upstream\n    invalidate: [GET /a]\n"), 5,
                  "rules[0].freshness",
                  "only GET responses are cached; freshness on a PUT rule has no effect"},
        ErrorCase{"FreshnessRuleWithoutTtl",
                  rule("match: GET /a\n    freshness: rule\n    invalidate: [GET /b]\n"), 5,
                  "rules[0].freshness", "add a ttl or freshness: upstream"},
        ErrorCase{"ZeroTtlInRuleMode", rule("match: GET /a\n    freshness: rule\n    ttl: 0\n"), 6,
                  "rules[0].ttl", "must be greater than 0"},
        ErrorCase{"NegativeTtlInUpstreamMode",
                  rule("match: GET /a\n    freshness: upstream\n    ttl: -1s\n"), 6, "rules[0].ttl",
                  "must be positive"},
        ErrorCase{"UpstreamTtlAboveMaxTtl",
                  rule("match: GET /a\n    ttl: 2d\n    freshness: upstream\n"), 5, "rules[0].ttl",
                  "48h is greater than cache.max_ttl (24h)"},
        ErrorCase{"HeuristicInRuleMode", rule("match: GET /a\n    ttl: 1s\n    heuristic: true\n"),
                  6, "rules[0].heuristic",
                  "has no effect without freshness: upstream (a freshness: rule rule always "
                  "uses its ttl)"},
        ErrorCase{"HeuristicFalseInRuleMode",
                  rule("match: GET /a\n    ttl: 1s\n    heuristic: false\n"), 6,
                  "rules[0].heuristic", "has no effect without freshness: upstream"},
        ErrorCase{"HeuristicOnPut",
                  rule("match: PUT /a\n    invalidate: [GET /a]\n    heuristic: true\n"), 6,
                  "rules[0].heuristic", "has no effect without freshness: upstream"},
        ErrorCase{"HeuristicNotBool",
                  rule("match: GET /a\n    freshness: upstream\n    heuristic: often\n"), 6,
                  "rules[0].heuristic", "expected true or false, got 'often'"},
        ErrorCase{"NegativeStaleWhileRevalidate",
                  rule("match: GET /a\n    ttl: 1s\n    stale_while_revalidate: -5s\n"), 6,
                  "rules[0].stale_while_revalidate", "must be positive"},
        ErrorCase{"BadStaleWhileRevalidate",
                  rule("match: GET /a\n    ttl: 1s\n    stale_while_revalidate: 5 s\n"), 6,
                  "rules[0].stale_while_revalidate", "invalid duration '5 s'"},
        ErrorCase{"StaleWhileRevalidateAboveMaxStale",
                  rule("match: GET /a\n    ttl: 1s\n    stale_while_revalidate: 2h\n"), 6,
                  "rules[0].stale_while_revalidate",
                  "2h is greater than cache.max_stale (1h); raise cache.max_stale"},
        ErrorCase{"NegativeStaleIfError",
                  rule("match: GET /a\n    freshness: upstream\n    stale_if_error: -1s\n"), 6,
                  "rules[0].stale_if_error", "must be positive"},
        ErrorCase{"StaleIfErrorAboveMaxStale",
                  kUp + "cache:\n  max_stale: 30s\nrules:\n  - match: GET /a\n"
                        "    freshness: upstream\n    stale_if_error: 1m\n",
                  8, "rules[0].stale_if_error",
                  "1m is greater than cache.max_stale (30s); raise cache.max_stale"},
        ErrorCase{"StaleIfErrorAboveZeroMaxStale",
                  kUp + "cache:\n  max_stale: 0\nrules:\n  - match: GET /a\n"
                        "    ttl: 1s\n    stale_if_error: 1s\n",
                  8, "rules[0].stale_if_error", "1s is greater than cache.max_stale (0s)"},
        ErrorCase{"UnknownClientCacheControl",
                  rule("match: GET /a\n    ttl: 1s\n    client_cache_control: obey\n"), 6,
                  "rules[0].client_cache_control",
                  "unknown value 'obey'; expected ignore or honor"},
        ErrorCase{"ZeroMaxVariants", rule("match: GET /a\n    ttl: 1s\n    max_variants: 0\n"), 6,
                  "rules[0].max_variants", "expected an integer from 1 to 1024, got '0'"},
        ErrorCase{"TooManyMaxVariants",
                  rule("match: GET /a\n    ttl: 1s\n    max_variants: 1025\n"), 6,
                  "rules[0].max_variants", "expected an integer from 1 to 1024, got '1025'"},
        ErrorCase{"MaxVariantsNotNumber",
                  rule("match: GET /a\n    ttl: 1s\n    max_variants: many\n"), 6,
                  "rules[0].max_variants", "got 'many'"},
        ErrorCase{"StaleWindowWithoutCaching",
                  rule("match: PUT /a\n    invalidate: [GET /a]\n    stale_if_error: 1m\n"), 6,
                  "rules[0].stale_if_error", "only applies to cached rules; add a ttl"},
        ErrorCase{"StaleWhileRevalidateWithoutCaching",
                  rule("match: GET /a\n    invalidate: [GET /b]\n    stale_while_revalidate: 1s\n"),
                  6, "rules[0].stale_while_revalidate", "only applies to cached rules"},
        ErrorCase{
            "ClientCacheControlWithoutCaching",
            rule("match: PUT /a\n    invalidate: [GET /a]\n    client_cache_control: honor\n"), 6,
            "rules[0].client_cache_control", "only applies to cached rules"},
        ErrorCase{"MaxVariantsWithoutCaching",
                  rule("match: PUT /a\n    invalidate: [GET /a]\n    max_variants: 4\n"), 6,
                  "rules[0].max_variants", "only applies to cached rules"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(ConfigErrors, EmptyRuleNamesTheRule) {
  // yaml-cpp marks an empty list item where the next token starts, so only the field is exact.
  const std::string message = error_of(kUp + "rules:\n  -\n");
  EXPECT_EQ(message.rfind("test.yaml:", 0), 0U) << message;
  EXPECT_NE(message.find(": rules[0]: expected a map"), std::string::npos) << message;
}

TEST(ConfigErrors, SyntaxErrorNamesTheLine) {
  const std::string message = error_of(kUp + "cache:\n  default_ttl: [1s\n  max_ttl: 2h\n");
  EXPECT_EQ(message.rfind("test.yaml:", 0), 0U) << message;
  EXPECT_NE(message.find("YAML syntax error"), std::string::npos) << message;
  EXPECT_TRUE(message.find("test.yaml:4:") == 0 || message.find("test.yaml:5:") == 0) << message;
}

TEST(ConfigErrors, BadIndentationIsASyntaxError) {
  const std::string message = error_of("upstream:\n  url: http://h:1\n timeout: 5s\n");
  EXPECT_EQ(message.rfind("test.yaml:3: YAML syntax error", 0), 0U) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Hosts, ConfigErrorTest,
    testing::Values(
        ErrorCase{"HostsNotAMap", kUp + "cache:\n  hosts: [a]\n", 4, "cache.hosts",
                  "expected a map of host names"},
        ErrorCase{"HostNameInvalid", kUp + "cache:\n  hosts:\n    \"a b\": []\n", 5,
                  "cache.hosts[\"a b\"]", "is not a host"},
        ErrorCase{"AliasesNotAList", kUp + "cache:\n  hosts:\n    a.example: b\n", 5,
                  "cache.hosts[\"a.example\"]", "expected a list of aliases"},
        ErrorCase{"AliasInvalid", kUp + "cache:\n  hosts:\n    a.example: [ok, \"x:99999\"]\n", 5,
                  "cache.hosts[\"a.example\"][1]", "is not a host"},
        ErrorCase{"AliasNotAScalar", kUp + "cache:\n  hosts:\n    a.example:\n      - [x]\n", 6,
                  "cache.hosts[\"a.example\"][0]", "expected a host name, got a list"},
        ErrorCase{"AliasOfTwoHosts",
                  kUp + "cache:\n  hosts:\n    a.example: [api]\n    b.example: [API:80]\n", 6,
                  "cache.hosts[\"b.example\"][0]", "already belongs to another host"},
        ErrorCase{"CanonicalIsAnAlias",
                  kUp + "cache:\n  hosts:\n    a.example: [api]\n    api: []\n", 6,
                  "cache.hosts[\"api\"]", "already an alias of another host"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    TrustedProxies, ConfigErrorTest,
    testing::Values(
        ErrorCase{"NotAList", kUp + "trusted_proxies: 10.0.0.0/8\n", 3, "trusted_proxies",
                  "expected a list of IP addresses or CIDR ranges"},
        ErrorCase{"BadPrefixLength", kUp + "trusted_proxies:\n  - 10.0.0.0/8\n  - 10.0.0.0/33\n", 5,
                  "trusted_proxies[1]", "invalid prefix length (expected /0 to /32)"},
        ErrorCase{"BadIpv6PrefixLength", kUp + "trusted_proxies: [\"::/129\"]\n", 3,
                  "trusted_proxies[0]", "(expected /0 to /128)"},
        ErrorCase{"HostBitsSet", kUp + "trusted_proxies: [10.1.2.3/8]\n", 3, "trusted_proxies[0]",
                  "did you mean 10.0.0.0/8?"},
        ErrorCase{"HostName", kUp + "trusted_proxies: [lb.internal]\n", 3, "trusted_proxies[0]",
                  "'lb.internal' is not an IPv4 or IPv6 address or CIDR range"},
        ErrorCase{"EmptyEntry", kUp + "trusted_proxies: [\"\"]\n", 3, "trusted_proxies[0]",
                  "is not an IPv4 or IPv6 address"},
        ErrorCase{"NestedList", kUp + "trusted_proxies:\n  - [10.0.0.0/8]\n", 4,
                  "trusted_proxies[0]", "expected an IP address or CIDR range, got a list"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    BypassToken, ConfigErrorTest,
    testing::Values(ErrorCase{"WithSpace", kUp + "cache:\n  bypass_token: \"a b\"\n", 4,
                              "cache.bypass_token", "printable ASCII"},
                    ErrorCase{"NotAScalar", kUp + "cache:\n  bypass_token: [a]\n", 4,
                              "cache.bypass_token", "expected a string"},
                    ErrorCase{"WithoutABypass",
                              kUp + "cache:\n  bypass_param: \"\"\n  bypass_token: abc\n", 5,
                              "cache.bypass_token", "cache.bypass_param is \"\" (no bypass)"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

// rate_limit: {limit, window, by, fail}, on a rule (lines 3-6 are the rule) or at the top level.
std::string rule_limit(std::string_view body) {
  return kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n    rate_limit:\n" + std::string(body);
}

INSTANTIATE_TEST_SUITE_P(
    RateLimit, ConfigErrorTest,
    testing::Values(
        ErrorCase{"ZeroLimit", rule_limit("      limit: 0\n      window: 1s\n"), 7,
                  "rules[0].rate_limit.limit", "expected an integer from 1 to 1000000000"},
        ErrorCase{"NegativeLimit", rule_limit("      limit: -3\n      window: 1s\n"), 7,
                  "rules[0].rate_limit.limit", "got '-3'"},
        ErrorCase{"HugeLimit", rule_limit("      limit: 1000000001\n      window: 1s\n"), 7,
                  "rules[0].rate_limit.limit", "from 1 to 1000000000"},
        ErrorCase{"LimitNotANumber", rule_limit("      limit: lots\n      window: 1s\n"), 7,
                  "rules[0].rate_limit.limit", "got 'lots'"},
        ErrorCase{"MissingLimit", rule_limit("      window: 1s\n"), 6, "rules[0].rate_limit.limit",
                  "required"},
        ErrorCase{"MissingWindow", rule_limit("      limit: 1\n"), 6, "rules[0].rate_limit.window",
                  "required"},
        ErrorCase{"BadWindow", rule_limit("      limit: 1\n      window: soon\n"), 8,
                  "rules[0].rate_limit.window", "invalid duration 'soon'"},
        ErrorCase{"ZeroWindow", rule_limit("      limit: 1\n      window: 0s\n"), 8,
                  "rules[0].rate_limit.window", "must be greater than 0"},
        ErrorCase{"FractionalWindow", rule_limit("      limit: 1\n      window: 1500ms\n"), 8,
                  "rules[0].rate_limit.window", "whole number of seconds"},
        ErrorCase{"WindowTooLong", rule_limit("      limit: 1\n      window: 2d\n"), 8,
                  "rules[0].rate_limit.window", "longer than the maximum, 24h"},
        ErrorCase{"UnknownBy", rule_limit("      limit: 1\n      window: 1s\n      by: user\n"), 9,
                  "rules[0].rate_limit.by", "expected client_ip or header:<field name>"},
        ErrorCase{"BadHeaderName",
                  rule_limit("      limit: 1\n      window: 1s\n      by: \"header:X Key\"\n"), 9,
                  "rules[0].rate_limit.by", "is not a field name"},
        ErrorCase{"EmptyHeaderName",
                  rule_limit("      limit: 1\n      window: 1s\n      by: \"header:\"\n"), 9,
                  "rules[0].rate_limit.by", "is not a field name"},
        ErrorCase{"UnknownFail",
                  rule_limit("      limit: 1\n      window: 1s\n      fail: maybe\n"), 9,
                  "rules[0].rate_limit.fail", "unknown value 'maybe'; expected open or closed"},
        ErrorCase{"UnknownKey", rule_limit("      limit: 1\n      window: 1s\n      burst: 3\n"), 9,
                  "rules[0].rate_limit.burst", "allowed keys: limit, window, by, fail"},
        ErrorCase{"RuleScalarNotOff",
                  kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n    rate_limit: 100\n", 6,
                  "rules[0].rate_limit", "expected a map {limit, window, by, fail} or off"},
        ErrorCase{"RuleList", kUp + "rules:\n  - match: GET /a\n    ttl: 1s\n    rate_limit: [1]\n",
                  6, "rules[0].rate_limit", "expected a map, got a list"},
        ErrorCase{"TopLevelMissingWindow", kUp + "rate_limit: {limit: 5}\n", 3, "rate_limit.window",
                  "required"},
        ErrorCase{"TopLevelOff", kUp + "rate_limit: off\n", 3, "rate_limit",
                  "expected a map, got a scalar"},
        ErrorCase{"TopLevelBadFail", kUp + "rate_limit:\n  limit: 5\n  window: 1s\n  fail: shut\n",
                  6, "rate_limit.fail", "expected open or closed"},
        ErrorCase{"InheritedStillValidated",
                  kUp + "rate_limit: {limit: 5, window: 1s}\nrules:\n  - match: GET /a\n"
                        "    ttl: 1s\n    rate_limit: {window: 1.5s}\n",
                  7, "rules[0].rate_limit.window", "invalid duration"}),
    [](const testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(ConfigErrors, BypassTokenValueNeverShown) {
  const std::string message = error_of(kUp + "cache:\n  bypass_token: \"top secret\"\n");
  EXPECT_NE(message.find("cache.bypass_token"), std::string::npos) << message;
  EXPECT_EQ(message.find("top secret"), std::string::npos) << message;
}

TEST(ConfigErrors, EmptyDocument) {
  for (const char* yaml : {"", "\n\n", "# only a comment\n", "---\n", "~\n"}) {
    const std::string message = error_of(yaml);
    EXPECT_EQ(message.rfind("test.yaml:1: (document): empty configuration", 0), 0U)
        << "yaml '" << yaml << "': " << message;
  }
}

TEST(ConfigErrors, AdminTokenValueNeverShown) {
  const std::string message = error_of(kUp + "admin:\n  token: \"top secret\"\n");
  EXPECT_NE(message.find("admin.token"), std::string::npos) << message;
  EXPECT_EQ(message.find("top secret"), std::string::npos) << message;
}

TEST(ConfigErrors, DeeplyNestedInputDoesNotCrash) {
  const std::string message = error_of(kUp + "cache: " + std::string(5000, '[') + "\n");
  EXPECT_EQ(message.rfind("test.yaml:", 0), 0U) << message;
}

TEST(ConfigErrors, NonUtf8AndBinaryInputDoesNotCrash) {
  const std::string message = error_of(std::string("\xff\xfe\x00\x01upstream: \x80", 15));
  EXPECT_EQ(message.rfind("test.yaml:", 0), 0U) << message;
}

}  // namespace
}  // namespace cachecar::config
