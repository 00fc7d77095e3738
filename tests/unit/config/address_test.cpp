#include "config/address.hpp"
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>

namespace cachecar::config {
namespace {

struct HostPortCase {
  std::string name;
  std::string text;
  std::optional<std::string> host;  // nullopt = must be rejected
  std::uint16_t port = 0;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const HostPortCase& c, std::ostream* os) {
  *os << c.name;
}

class ParseHostPortTest : public testing::TestWithParam<HostPortCase> {};

TEST_P(ParseHostPortTest, Parses) {
  const auto& c = GetParam();
  const auto parsed = parse_host_port(c.text);
  if (!c.host) {
    EXPECT_FALSE(parsed.has_value()) << "accepted '" << c.text << "' as " << parsed->to_string();
    return;
  }
  ASSERT_TRUE(parsed.has_value()) << c.text;
  EXPECT_EQ(parsed->host, *c.host);
  EXPECT_EQ(parsed->port, c.port);
}

INSTANTIATE_TEST_SUITE_P(
    Config, ParseHostPortTest,
    testing::Values(HostPortCase{"Ipv4", "0.0.0.0:8080", "0.0.0.0", 8080},
                    HostPortCase{"BracketedIpv6", "[::1]:8081", "::1", 8081},
                    HostPortCase{"EmptyHostMeansAny", ":8080", "0.0.0.0", 8080},
                    HostPortCase{"Name", "localhost:9000", "localhost", 9000},
                    HostPortCase{"PortZeroAllowed", "127.0.0.1:0", "127.0.0.1", 0},
                    HostPortCase{"MaxPort", "127.0.0.1:65535", "127.0.0.1", 65535},
                    HostPortCase{"DnsName", "cache-1.internal:80", "cache-1.internal", 80},
                    HostPortCase{"NoPort", "8080", std::nullopt},
                    HostPortCase{"EmptyPort", "host:", std::nullopt},
                    HostPortCase{"PortTooLarge", "host:65536", std::nullopt},
                    HostPortCase{"NegativePort", "host:-1", std::nullopt},
                    HostPortCase{"PlusPort", "host:+1", std::nullopt},
                    HostPortCase{"PortWithGarbage", "host:80x", std::nullopt},
                    HostPortCase{"UnbracketedIpv6", "::1:80", std::nullopt},
                    HostPortCase{"TwoColons", "a:b:80", std::nullopt},
                    HostPortCase{"BracketsWithoutPort", "[::1]", std::nullopt},
                    HostPortCase{"BracketsEmptyPort", "[::1]:", std::nullopt},
                    HostPortCase{"BracketsNotIpv6", "[zz]:80", std::nullopt},
                    HostPortCase{"GarbageAfterBracket", "[::1]x:80", std::nullopt},
                    HostPortCase{"UnclosedBracket", "[::1:80", std::nullopt},
                    HostPortCase{"SpaceInHost", "ho st:80", std::nullopt},
                    HostPortCase{"BadIpv4", "999.0.0.1:80", std::nullopt},
                    HostPortCase{"Empty", "", std::nullopt},
                    HostPortCase{"ColonOnly", ":", std::nullopt}),
    [](const testing::TestParamInfo<HostPortCase>& param_info) { return param_info.param.name; });

TEST(HostPort, ToStringBracketsIpv6) {
  EXPECT_EQ((HostPort{"0.0.0.0", 8080}).to_string(), "0.0.0.0:8080");
  EXPECT_EQ((HostPort{"::1", 8081}).to_string(), "[::1]:8081");
  EXPECT_EQ((HostPort{"localhost", 0}).to_string(), "localhost:0");
}

TEST(HostPort, ToStringRoundTripsThroughParse) {
  for (const char* text : {"0.0.0.0:8080", "[::1]:8081", "[fe80::1]:1", "example.com:443"}) {
    const auto parsed = parse_host_port(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(parsed->to_string(), text);
  }
}

TEST(UpstreamUrl, ParsesHostPortAndBasePath) {
  std::string error;
  auto url = parse_upstream_url("http://127.0.0.1:8000", &error);
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_EQ(url->address.to_string(), "127.0.0.1:8000");
  EXPECT_EQ(url->base_path, "");

  url = parse_upstream_url("http://backend/v1/", &error);
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_EQ(url->address.to_string(), "backend:80");
  EXPECT_EQ(url->base_path, "/v1");

  url = parse_upstream_url("HTTP://[::1]:9000/", &error);
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_EQ(url->address.to_string(), "[::1]:9000");
  EXPECT_EQ(url->base_path, "");
}

struct BadUrlCase {
  std::string name;
  std::string url;
  std::string message_part;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const BadUrlCase& c, std::ostream* os) {
  *os << c.name;
}

class BadUpstreamUrlTest : public testing::TestWithParam<BadUrlCase> {};

TEST_P(BadUpstreamUrlTest, Rejects) {
  std::string error;
  EXPECT_FALSE(parse_upstream_url(GetParam().url, &error).has_value());
  EXPECT_NE(error.find(GetParam().message_part), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Config, BadUpstreamUrlTest,
    testing::Values(BadUrlCase{"Https", "https://h", "https:// upstreams are not supported"},
                    BadUrlCase{"NoScheme", "127.0.0.1:8000", "expected http://"},
                    BadUrlCase{"OtherScheme", "ftp://h", "expected http://"},
                    BadUrlCase{"EmptyHost", "http://:8000", "invalid host"},
                    BadUrlCase{"NothingAfterScheme", "http://", "invalid host"},
                    BadUrlCase{"PortTooLarge", "http://h:99999", "invalid port '99999'"},
                    BadUrlCase{"PortZero", "http://h:0", "invalid port '0'"},
                    BadUrlCase{"PortNotNumeric", "http://h:http", "invalid port"},
                    BadUrlCase{"EmptyPort", "http://h:/", "invalid port"},
                    BadUrlCase{"Query", "http://h/?x=1", "query"},
                    BadUrlCase{"UserInfo", "http://u:p@h", "user information"},
                    BadUrlCase{"SpaceInPath", "http://h/a b", "base path"}),
    [](const testing::TestParamInfo<BadUrlCase>& param_info) { return param_info.param.name; });

TEST(RedisUrl, ParsesEveryPart) {
  std::string error;
  auto url = parse_redis_url("redis://:s%40cret@cache.local:6380/2", &error);
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_FALSE(url->memory);
  EXPECT_EQ(url->address.to_string(), "cache.local:6380");
  EXPECT_EQ(url->password, "s@cret");
  EXPECT_EQ(url->db, 2);
}

TEST(RedisUrl, Defaults) {
  std::string error;
  auto url = parse_redis_url("redis://127.0.0.1", &error);
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_EQ(url->address.to_string(), "127.0.0.1:6379");
  EXPECT_EQ(url->password, "");
  EXPECT_EQ(url->db, 0);
  url = parse_redis_url("redis://h/", &error);
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_EQ(url->db, 0);
}

TEST(RedisUrl, AclUserAndTls) {
  std::string error;
  auto url = parse_redis_url("rediss://cache%2Dro:p%3Aw@redis.internal:6380/1", &error);
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->user, "cache-ro");
  EXPECT_EQ(url->password, "p:w");
  EXPECT_EQ(url->address.to_string(), "redis.internal:6380");
  EXPECT_EQ(url->db, 1);
  url = parse_redis_url("redis://cc@h", &error);  // the password comes from elsewhere
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->user, "cc");
  EXPECT_EQ(url->password, "");
}

TEST(RedisUrl, Memory) {
  std::string error;
  const auto url = parse_redis_url("memory://", &error);
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_TRUE(url->memory);
}

class BadRedisUrlTest : public testing::TestWithParam<BadUrlCase> {};

TEST_P(BadRedisUrlTest, Rejects) {
  std::string error;
  EXPECT_FALSE(parse_redis_url(GetParam().url, &error).has_value());
  EXPECT_NE(error.find(GetParam().message_part), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Config, BadRedisUrlTest,
    testing::Values(BadUrlCase{"HttpScheme", "http://h:6379", "expected redis://"},
                    BadUrlCase{"NoScheme", "127.0.0.1:6379", "expected redis://"},
                    BadUrlCase{"MemoryWithHost", "memory://h", "memory:// takes no host"},
                    BadUrlCase{"BadPort", "redis://h:70000", "invalid port"},
                    BadUrlCase{"EmptyHost", "redis://:6379", "invalid host"},
                    BadUrlCase{"EmptyPassword", "redis://user:@h", "empty password"},
                    BadUrlCase{"EmptyUserInfo", "redis://@h", "empty password"},
                    BadUrlCase{"BadUserEscape", "redis://u%zz:pw@h", "user name has a malformed"},
                    BadUrlCase{"BadPasswordEscape", "redis://:p%zz@h", "%-escape"},
                    BadUrlCase{"TruncatedPasswordEscape", "redis://:p%4@h", "%-escape"},
                    BadUrlCase{"DbNotNumber", "redis://h/x", "invalid database number 'x'"},
                    BadUrlCase{"NegativeDb", "redis://h/-1", "invalid database number"},
                    BadUrlCase{"DbWithPath", "redis://h/1/2", "invalid database number"},
                    BadUrlCase{"Query", "redis://h?db=1", "query"}),
    [](const testing::TestParamInfo<BadUrlCase>& param_info) { return param_info.param.name; });

TEST(IsLoopbackHost, RecognisesLoopbackOnly) {
  for (const char* host : {"localhost", "LocalHost", "127.0.0.1", "127.255.0.9", "::1",
                           "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_host(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.com",
                           "localhost.example.com", "::ffff:10.0.0.1", ""}) {
    EXPECT_FALSE(is_loopback_host(host)) << host;
  }
}

}  // namespace
}  // namespace cachecar::config
