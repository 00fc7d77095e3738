// Rate limits: who a request is counted as, its budget's name, the fields that report it.
#include "policy/rate_limit.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace cachecar::policy {
namespace {

using namespace std::chrono_literals;

core::CidrSet cidrs(std::initializer_list<std::string_view> texts) {
  std::vector<core::CidrRange> ranges;
  for (auto text : texts) {
    std::string error;
    auto range = core::CidrRange::parse(text, &error);
    EXPECT_TRUE(range) << text << ": " << error;
    if (range) ranges.push_back(*range);
  }
  return core::CidrSet(std::move(ranges));
}

RateLimitSpec spec(std::uint64_t limit = 100, std::chrono::seconds window = 60s) {
  RateLimitSpec s;
  s.limit = limit;
  s.window = window;
  return s;
}

// --- by: ---

TEST(RateLimitBy, ClientIpAndHeader) {
  std::string error;
  auto ip = parse_rate_limit_by("client_ip", &error);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->by, RateLimitBy::ClientIp);
  auto header = parse_rate_limit_by("header:X-Api-Key", &error);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->by, RateLimitBy::Header);
  EXPECT_EQ(header->header, "X-Api-Key");
}

struct BadBy {
  std::string name;
  std::string text;
  std::string message_part;
};
void PrintTo(const BadBy& c, std::ostream* os) {
  *os << c.name;
}
class RateLimitBadBy : public testing::TestWithParam<BadBy> {};

TEST_P(RateLimitBadBy, IsRefusedWithAReason) {
  std::string error;
  EXPECT_FALSE(parse_rate_limit_by(GetParam().text, &error));
  EXPECT_NE(error.find(GetParam().message_part), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Table, RateLimitBadBy,
    testing::Values(BadBy{"Unknown", "client", "expected client_ip or header:<field name>"},
                    BadBy{"Empty", "", "expected client_ip"},
                    BadBy{"UpperCaseKind", "Client_IP", "expected client_ip"},
                    BadBy{"HeaderWithoutName", "header:", "is not a field name"},
                    BadBy{"HeaderWithSpace", "header:X Api", "is not a field name"},
                    BadBy{"HeaderWithColon", "header:X:Y", "is not a field name"},
                    BadBy{"HeaderNonAscii", "header:X-\xc3\xa9", "is not a field name"}),
    [](const auto& param_info) { return param_info.param.name; });

// --- the client's address ---

struct AddressCase {
  std::string name;
  std::string peer;
  bool peer_trusted;
  std::string x_forwarded_for;
  std::string expected;
};
void PrintTo(const AddressCase& c, std::ostream* os) {
  *os << c.name;
}
class RateLimitClientAddress : public testing::TestWithParam<AddressCase> {};

TEST_P(RateLimitClientAddress, IsTheRightMostUntrustedHop) {
  const auto trusted = cidrs({"10.0.0.0/8", "::1", "2001:db8::/32"});
  const auto& c = GetParam();
  EXPECT_EQ(rate_limit_client_address(c.peer, c.peer_trusted, c.x_forwarded_for, trusted),
            c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RateLimitClientAddress,
    testing::Values(
        AddressCase{"PeerWithoutForwarding", "192.0.2.7", false, "", "192.0.2.7"},
        // An untrusted peer's X-Forwarded-For is never believed: it could name anyone.
        AddressCase{"UntrustedPeerForwardingIgnored", "192.0.2.7", false, "198.51.100.1",
                    "192.0.2.7"},
        AddressCase{"TrustedPeerWithoutField", "10.0.0.1", true, "", "10.0.0.1"},
        AddressCase{"TrustedPeerNamesClient", "10.0.0.1", true, "198.51.100.1", "198.51.100.1"},
        // The left entries were written by the client itself: only the right-most untrusted
        // hop is known to be real.
        AddressCase{"ForgedLeftEntriesSkipped", "10.0.0.1", true,
                    "203.0.113.9, 198.51.100.1, 10.0.0.2", "198.51.100.1"},
        AddressCase{"SeveralLinesCombined", "10.0.0.1", true, "203.0.113.9, 198.51.100.1",
                    "198.51.100.1"},
        AddressCase{"EveryHopTrusted", "10.0.0.1", true, "10.1.1.1, 10.2.2.2", "10.1.1.1"},
        AddressCase{"GarbageEndsTheSearch", "10.0.0.1", true, "198.51.100.1, unknown, 10.0.0.2",
                    "10.0.0.2"},
        AddressCase{"GarbageRightMostMeansThePeer", "10.0.0.1", true, "198.51.100.1, nonsense",
                    "10.0.0.1"},
        AddressCase{"EmptyElementsSkipped", "10.0.0.1", true, " , 198.51.100.1 ,, ",
                    "198.51.100.1"},
        AddressCase{"Ipv6Client", "::1", true, "2001:DB9::1", "2001:db9:0:0:0:0:0:1"},
        AddressCase{"MappedPeerIsIpv4", "::ffff:192.0.2.7", false, "", "192.0.2.7"},
        AddressCase{"TrustedMappedPeer", "::ffff:10.0.0.1", true, "198.51.100.1", "198.51.100.1"},
        AddressCase{"Ipv6PeerCanonical", "2001:0db8:0000::0001", false, "", "2001:db8:0:0:0:0:0:1"},
        AddressCase{"NotAnAddress", "", false, "", ""}),
    [](const auto& param_info) { return param_info.param.name; });

// --- identity and name ---

TEST(RateLimitIdentity, ClientIpByDefault) {
  EXPECT_EQ(rate_limit_identity(spec(), "192.0.2.7", std::nullopt), "ip:192.0.2.7");
  // A header the rule does not name changes nothing.
  EXPECT_EQ(rate_limit_identity(spec(), "192.0.2.7", "secret"), "ip:192.0.2.7");
}

TEST(RateLimitIdentity, HeaderValueIsHashedAndBounded) {
  auto s = spec();
  s.by = RateLimitBy::Header;
  s.header = "X-Api-Key";
  const auto identity = rate_limit_identity(s, "192.0.2.7", "secret-key");
  EXPECT_EQ(identity.substr(0, 4), "key:");
  EXPECT_EQ(identity.size(), 4 + 64u);
  EXPECT_EQ(identity.find("secret"), std::string::npos);
  EXPECT_EQ(rate_limit_identity(s, "203.0.113.1", "secret-key"), identity)
      << "one key is one budget from any address";
  EXPECT_NE(rate_limit_identity(s, "192.0.2.7", "other-key"), identity);
  EXPECT_EQ(rate_limit_identity(s, "192.0.2.7", std::string(100'000, 'k')).size(), 4 + 64u);
}

TEST(RateLimitIdentity, MissingOrEmptyHeaderFallsBackToTheClient) {
  auto s = spec();
  s.by = RateLimitBy::Header;
  s.header = "X-Api-Key";
  EXPECT_EQ(rate_limit_identity(s, "192.0.2.7", std::nullopt), "ip:192.0.2.7");
  EXPECT_EQ(rate_limit_identity(s, "192.0.2.7", ""), "ip:192.0.2.7");
}

TEST(RateLimitName, RuleAndIdentity) {
  EXPECT_EQ(rate_limit_name("GET /api/{id}", "ip:192.0.2.7"), "__rl:GET /api/{id}:ip:192.0.2.7");
  EXPECT_NE(rate_limit_name("GET /a", "ip:1.2.3.4"), rate_limit_name("GET /b", "ip:1.2.3.4"));
}

// --- fields ---

TEST(RateLimitFields, AllowedRequest) {
  RateLimitOutcome outcome;
  outcome.allowed = true;
  outcome.remaining = 97;
  outcome.reset = 1'800ms;  // rounded up: a client that waits that long is never early
  const auto fields = rate_limit_fields(spec(100, 60s), outcome);
  const std::vector<std::pair<std::string, std::string>> expected{{"RateLimit-Limit", "100"},
                                                                  {"RateLimit-Remaining", "97"},
                                                                  {"RateLimit-Reset", "2"},
                                                                  {"RateLimit-Policy", "100;w=60"}};
  EXPECT_EQ(fields, expected);
}

TEST(RateLimitFields, RefusalAddsRetryAfter) {
  RateLimitOutcome outcome;
  outcome.allowed = false;
  outcome.remaining = 0;
  outcome.reset = 60'000ms;
  outcome.retry_after = 600ms;
  const auto fields = rate_limit_fields(spec(100, 60s), outcome);
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields[1], (std::pair<std::string, std::string>{"RateLimit-Remaining", "0"}));
  EXPECT_EQ(fields[2], (std::pair<std::string, std::string>{"RateLimit-Reset", "60"}));
  EXPECT_EQ(fields[4], (std::pair<std::string, std::string>{"Retry-After", "1"}));
}

TEST(RateLimitFields, WithoutAnOutcomeOnlyTheStaticOnes) {
  const auto fields = rate_limit_fields(spec(5, 1s), std::nullopt);
  const std::vector<std::pair<std::string, std::string>> expected{{"RateLimit-Limit", "5"},
                                                                  {"RateLimit-Policy", "5;w=1"}};
  EXPECT_EQ(fields, expected);
}

TEST(RateLimitFields, SecondsRoundUp) {
  EXPECT_EQ(ceil_seconds(0ms), 0);
  EXPECT_EQ(ceil_seconds(1ms), 1);
  EXPECT_EQ(ceil_seconds(1'000ms), 1);
  EXPECT_EQ(ceil_seconds(1'001ms), 2);
  RateLimitOutcome refused;
  refused.allowed = false;
  refused.retry_after = 0ms;  // a refusal always names a wait
  EXPECT_EQ(retry_after_seconds(refused), 1);
  refused.retry_after = 2'500ms;
  EXPECT_EQ(retry_after_seconds(refused), 3);
}

TEST(RateLimitBody, IsJsonWithTheWait) {
  EXPECT_EQ(rate_limited_body(7),
            "{\"error\": \"rate_limited\", \"detail\": \"too many requests; retry after 7 s\", "
            "\"retry_after\": 7}");
}

TEST(RateLimitSpec, PrintsReadably) {
  auto s = spec(10, 60s);
  s.by = RateLimitBy::Header;
  s.header = "X-Api-Key";
  s.fail = RateLimitFailure::Closed;
  std::ostringstream out;
  out << s;
  EXPECT_EQ(out.str(), "{limit: 10, window: 60s, by: header:X-Api-Key, fail: closed}");
}

}  // namespace
}  // namespace cachecar::policy
