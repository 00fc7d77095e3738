#include "core/cidr.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachecar::core {
namespace {

CidrSet set_of(std::vector<std::string> texts) {
  std::vector<CidrRange> ranges;
  for (const auto& text : texts) {
    std::string error;
    auto range = CidrRange::parse(text, &error);
    EXPECT_TRUE(range.has_value()) << text << ": " << error;
    if (range) ranges.push_back(*range);
  }
  return CidrSet(std::move(ranges));
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto range = CidrRange::parse(text, &error);
  if (range) ADD_FAILURE() << text << " parsed as " << range->to_string();
  return error;
}

TEST(CidrSet, EmptyTrustsNobody) {
  const CidrSet none;
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.contains("127.0.0.1"));
  EXPECT_FALSE(none.contains("::1"));
}

TEST(CidrSet, Ipv4Prefixes) {
  const auto set = set_of({"10.0.0.0/8", "192.168.1.0/24"});
  EXPECT_TRUE(set.contains("10.0.0.0"));
  EXPECT_TRUE(set.contains("10.255.255.255"));
  EXPECT_FALSE(set.contains("11.0.0.0"));
  EXPECT_FALSE(set.contains("9.255.255.255"));
  EXPECT_TRUE(set.contains("192.168.1.77"));
  EXPECT_FALSE(set.contains("192.168.2.1"));
}

TEST(CidrSet, Slash32AndSingleAddressMatchExactlyOne) {
  const auto set = set_of({"203.0.113.7/32", "198.51.100.9"});
  EXPECT_TRUE(set.contains("203.0.113.7"));
  EXPECT_FALSE(set.contains("203.0.113.6"));
  EXPECT_FALSE(set.contains("203.0.113.8"));
  EXPECT_TRUE(set.contains("198.51.100.9"));
  EXPECT_FALSE(set.contains("198.51.100.10"));
}

TEST(CidrSet, OddPrefixLengthsSplitInsideAByte) {
  const auto set = set_of({"172.16.0.0/12"});
  EXPECT_TRUE(set.contains("172.16.0.1"));
  EXPECT_TRUE(set.contains("172.31.255.255"));
  EXPECT_FALSE(set.contains("172.32.0.0"));
  EXPECT_FALSE(set.contains("172.15.255.255"));
}

TEST(CidrSet, Ipv4SlashZeroIsEveryIpv4PeerOnly) {
  const auto set = set_of({"0.0.0.0/0"});
  EXPECT_TRUE(set.contains("1.2.3.4"));
  EXPECT_TRUE(set.contains("255.255.255.255"));
  EXPECT_TRUE(set.contains("::ffff:1.2.3.4"));
  EXPECT_FALSE(set.contains("2001:db8::1"));
}

TEST(CidrSet, Ipv6Prefixes) {
  const auto set = set_of({"2001:db8::/32", "fd00:1:2:3::/64"});
  EXPECT_TRUE(set.contains("2001:db8::1"));
  EXPECT_TRUE(set.contains("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(set.contains("2001:db9::1"));
  EXPECT_TRUE(set.contains("fd00:1:2:3:abcd::1"));
  EXPECT_FALSE(set.contains("fd00:1:2:4::1"));
  EXPECT_FALSE(set.contains("10.0.0.1"));
}

TEST(CidrSet, Slash128AndIpv6SlashZero) {
  const auto one = set_of({"::1/128"});
  EXPECT_TRUE(one.contains("::1"));
  EXPECT_FALSE(one.contains("::2"));
  EXPECT_FALSE(one.contains("127.0.0.1"));
  const auto all = set_of({"::/0"});
  EXPECT_TRUE(all.contains("2001:db8::1"));
  EXPECT_TRUE(all.contains("::1"));
  EXPECT_TRUE(all.contains("8.8.8.8"));  // held as ::ffff:8.8.8.8
}

TEST(CidrSet, V4MappedPeersMatchIpv4RangesAndBack) {
  const auto v4 = set_of({"127.0.0.0/8"});
  EXPECT_TRUE(v4.contains("::ffff:127.0.0.1"));
  EXPECT_TRUE(v4.contains("::FFFF:127.0.0.1"));
  EXPECT_FALSE(v4.contains("::ffff:128.0.0.1"));
  EXPECT_FALSE(v4.contains("::127.0.0.1"));  // IPv4-compatible, deprecated: not the same peer
  const auto mapped = set_of({"::ffff:10.0.0.0/104"});
  EXPECT_TRUE(mapped.contains("10.1.2.3"));
  EXPECT_FALSE(mapped.contains("11.1.2.3"));
}

TEST(CidrSet, ZonesAreIgnoredAndNonAddressesNeverMatch) {
  const auto set = set_of({"fe80::/10", "0.0.0.0/0"});
  EXPECT_TRUE(set.contains("fe80::1%eth0"));
  EXPECT_FALSE(set.contains(""));
  EXPECT_FALSE(set.contains("localhost"));
  EXPECT_FALSE(set.contains("1.2.3"));
  EXPECT_FALSE(set.contains("1.2.3.4 "));
  EXPECT_FALSE(set.contains("[::1]"));
  EXPECT_FALSE(set.contains("%eth0"));
}

std::string normal_form(std::string_view text) {
  std::string error;
  const auto range = CidrRange::parse(text, &error);
  return range ? range->to_string() : "error: " + error;
}

TEST(CidrRange, PrintsTheNormalForm) {
  EXPECT_EQ(normal_form("10.0.0.0/8"), "10.0.0.0/8");
  EXPECT_EQ(normal_form("198.51.100.9"), "198.51.100.9/32");
  EXPECT_EQ(normal_form("2001:DB8:0::/32"), "2001:db8::/32");
  EXPECT_EQ(normal_form("::/0"), "::/0");
  EXPECT_EQ(normal_form("0.0.0.0/0"), "0.0.0.0/0");
  EXPECT_EQ(normal_form("::ffff:10.0.0.0/104"), "10.0.0.0/8");
}

TEST(CidrRange, RejectsBadInput) {
  for (std::string_view text : {"",
                                "/8",
                                "10.0.0.0/",
                                "10.0.0.0/33",
                                "::/129",
                                "10.0.0.0/-1",
                                "10.0.0.0/+8",
                                "10.0.0.0/8/8",
                                "10.0.0.0/ 8",
                                " 10.0.0.0/8",
                                "10.0.0/8",
                                "256.0.0.0/8",
                                "10.0.0.0/0x8",
                                "localhost",
                                "example.com/24",
                                "[::1]/128",
                                "fe80::1%eth0/64",
                                "1.2.3.4:80",
                                "10.0.0.0/0008",
                                "::1/1280"}) {
    EXPECT_FALSE(parse_error(text).empty()) << text;
  }
}

TEST(CidrRange, HostBitsPastThePrefixAreAnErrorThatSuggestsTheNetwork) {
  EXPECT_EQ(parse_error("10.1.2.3/8"),
            "'10.1.2.3/8' has bits set past the /8 prefix; did you mean 10.0.0.0/8?");
  EXPECT_EQ(parse_error("2001:db8::1/32"),
            "'2001:db8::1/32' has bits set past the /32 prefix; did you mean 2001:db8::/32?");
}

TEST(ParseIpAddress, MapsIpv4IntoIpv6) {
  const auto v4 = parse_ip_address("127.0.0.1");
  const auto mapped = parse_ip_address("::ffff:127.0.0.1");
  ASSERT_TRUE(v4 && mapped);
  EXPECT_EQ(*v4, *mapped);
  EXPECT_FALSE(parse_ip_address("127.1"));
}

}  // namespace
}  // namespace cachecar::core
