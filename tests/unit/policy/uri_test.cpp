#include "policy/uri.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>

namespace cachecar::policy {
namespace {

struct TargetCase {
  std::string name;
  std::string raw;
  std::string expected;  // normalised target
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const TargetCase& c, std::ostream* os) {
  *os << c.name;
}

class NormalizeTargetTest : public testing::TestWithParam<TargetCase> {};

TEST_P(NormalizeTargetTest, Normalizes) {
  const auto& c = GetParam();
  const auto n = normalize_target(c.raw);
  ASSERT_EQ(n.status, TargetStatus::Ok) << c.raw;
  EXPECT_EQ(n.target, c.expected) << c.raw;
  // Idempotent: what is forwarded normalises to itself.
  EXPECT_EQ(normalize_target(n.target).target, n.target) << c.raw;
}

INSTANTIATE_TEST_SUITE_P(
    Policy, NormalizeTargetTest,
    testing::Values(TargetCase{"Plain", "/api/users/52", "/api/users/52"},
                    TargetCase{"Root", "/", "/"},
                    TargetCase{"DecodesUnreservedDigits", "/api/users/%35%32", "/api/users/52"},
                    TargetCase{"DecodesUnreservedLettersAndMarks", "/%61%2D%2e%5F%7e", "/a-._~"},
                    TargetCase{"UpperCasesOtherEscapes", "/a%2fb%c3%a9", "/a%2Fb%C3%A9"},
                    TargetCase{"EncodedSlashStaysEncoded", "/files/a%2Fb", "/files/a%2Fb"},
                    TargetCase{"RemovesDotDot", "/api/users/0/../53", "/api/users/53"},
                    TargetCase{"RemovesDot", "/a/./b", "/a/b"},
                    TargetCase{"DotDotAboveRoot", "/../../a", "/a"},
                    TargetCase{"TrailingDotDotKeepsSlash", "/a/b/..", "/a/"},
                    TargetCase{"TrailingDotKeepsSlash", "/a/.", "/a/"},
                    TargetCase{"EncodedDotsAreDotSegments", "/a/%2E%2e/b", "/b"},
                    TargetCase{"DotsInNamesStay", "/a/..b/.c/...", "/a/..b/.c/..."},
                    TargetCase{"EmptySegmentsStay", "//a//b", "//a//b"},
                    TargetCase{"QueryEscapesNormalized", "/p?q=%7e%2b&r=%41", "/p?q=~%2B&r=A"},
                    TargetCase{"QueryKeepsPlus", "/p?q=a+b", "/p?q=a+b"},
                    TargetCase{"QueryKeepsReserved", "/p?q=a:b/c?d@e;f", "/p?q=a:b/c?d@e;f"},
                    TargetCase{"QueryDotsUntouched", "/p/../q?x=/../y", "/q?x=/../y"},
                    TargetCase{"EmptyQueryKept", "/p?", "/p?"},
                    TargetCase{"EncodesBytesNotInAUri", "/a b\"<>\\^`{|}\x01\xff",
                               "/a%20b%22%3C%3E%5C%5E%60%7B%7C%7D%01%FF"},
                    TargetCase{"EncodesHash", "/a#b?c#d", "/a%23b?c%23d"},
                    TargetCase{"EncodedPercentStays", "/a%25b", "/a%25b"}),
    [](const testing::TestParamInfo<TargetCase>& param_info) { return param_info.param.name; });

TEST(NormalizeTarget, SplitsPathAndQuery) {
  auto n = normalize_target("/a/../b?x=%31&y");
  EXPECT_EQ(n.path(), "/b");
  EXPECT_EQ(n.query(), "x=1&y");
  EXPECT_TRUE(n.has_query);
  n = normalize_target("/b");
  EXPECT_EQ(n.path(), "/b");
  EXPECT_EQ(n.query(), "");
  EXPECT_FALSE(n.has_query);
}

TEST(NormalizeTarget, RejectsTargetsThatAreNotAPath) {
  for (std::string raw : {"", "*", "http://h/a", "h:80", "a/b", "?x"}) {
    EXPECT_EQ(normalize_target(raw).status, TargetStatus::NotOriginForm) << raw;
  }
}

TEST(NormalizeTarget, RejectsMalformedEscapes) {
  for (std::string raw : {"/a%", "/a%4", "/a%zz", "/a%4g/b", "/p?q=100%", "/p?q=%x1", "/%%35%32"}) {
    EXPECT_EQ(normalize_target(raw).status, TargetStatus::MalformedEscape) << raw;
  }
}

TEST(NormalizePath, LenientAboutMalformedEscapes) {
  EXPECT_EQ(normalize_path("/api/users/%35%32"), "/api/users/52");
  EXPECT_EQ(normalize_path("/a/./%zz/../b%2f"), "/a/b%2F");
  // A stray '%' is a literal one: it must not form an escape with what follows.
  EXPECT_EQ(normalize_path("/%%34%31"), "/%2541");
  EXPECT_EQ(normalize_path(normalize_path("/%%34%31")), "/%2541");
}

TEST(RemoveDotSegments, FollowsRfc3986Examples) {
  // RFC 3986 §5.2.4's worked examples, and §5.4's normal cases that reduce to a path.
  EXPECT_EQ(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(remove_dot_segments("/b/c/./g"), "/b/c/g");
  EXPECT_EQ(remove_dot_segments("/b/c/g/"), "/b/c/g/");
  EXPECT_EQ(remove_dot_segments("/b/c/../../../g"), "/g");
  EXPECT_EQ(remove_dot_segments("/b/c/g/.."), "/b/c/");
  EXPECT_EQ(remove_dot_segments("/."), "/");
  EXPECT_EQ(remove_dot_segments("/.."), "/");
}

TEST(PercentDecode, DecodesOnceInEitherMode) {
  for (const auto mode : {MalformedEscape::Keep, MalformedEscape::Reject}) {
    SCOPED_TRACE(::testing::PrintToString(mode));
    EXPECT_EQ(percent_decode("a%20b%2fc%2F", mode), "a b/c/");
    EXPECT_EQ(percent_decode("a+b%2B", mode), "a+b+");  // '+' is not a space: not form data
    EXPECT_EQ(percent_decode("%2520", mode), "%20");    // once
    EXPECT_EQ(percent_decode("", mode), "");
    EXPECT_EQ(percent_decode("%00", mode), std::string(1, '\0'));
    EXPECT_EQ(percent_decode("%41", mode), "A");  // an escape that ends the text
  }
}

TEST(PercentDecode, KeepModeLeavesAMalformedEscapeAsItIs) {
  EXPECT_EQ(percent_decode("100%&%zz%4", MalformedEscape::Keep), "100%&%zz%4");
  EXPECT_EQ(percent_decode("%", MalformedEscape::Keep), "%");
  EXPECT_EQ(percent_decode("%g0%41", MalformedEscape::Keep), "%g0A");
}

TEST(PercentDecode, RejectModeRefusesAMalformedEscape) {
  for (const auto* text : {"%", "%4", "a%4", "%g0", "%0g", "ok%zzok", "%%41"}) {
    EXPECT_EQ(percent_decode(text, MalformedEscape::Reject), std::nullopt) << text;
  }
}

struct HostCase {
  std::string raw;
  std::optional<std::string> expected;
};
void PrintTo(const HostCase& c, std::ostream* os) {
  *os << '"' << c.raw << '"';
}

class NormalizeHostTest : public testing::TestWithParam<HostCase> {};

TEST_P(NormalizeHostTest, Normalizes) {
  EXPECT_EQ(normalize_host(GetParam().raw), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Policy, NormalizeHostTest,
    testing::Values(HostCase{"api.example.com", "api.example.com"},
                    HostCase{"API.Example.COM", "api.example.com"},
                    HostCase{" victim.example\t", "victim.example"},
                    HostCase{"victim.example:80", "victim.example"},
                    HostCase{"victim.example:", "victim.example"},
                    HostCase{"victim.example:0080", "victim.example"},
                    HostCase{"victim.example:8080", "victim.example:8080"},
                    HostCase{"victim.example:443", "victim.example:443"},
                    HostCase{"victim.example:00443", "victim.example:443"},
                    HostCase{"127.0.0.1:80", "127.0.0.1"}, HostCase{"[::1]:80", "[::1]"},
                    HostCase{"[2001:DB8::1]:8080", "[2001:db8::1]:8080"},
                    HostCase{"", std::nullopt}, HostCase{":80", std::nullopt},
                    HostCase{"a b", std::nullopt}, HostCase{"a/b", std::nullopt},
                    HostCase{"user@a", std::nullopt}, HostCase{"a:65536", std::nullopt},
                    HostCase{"a:8x", std::nullopt}, HostCase{"a%2eb", std::nullopt},
                    HostCase{"[::1", std::nullopt}, HostCase{"a:1:2", std::nullopt},
                    HostCase{"a\x7f", std::nullopt}, HostCase{"\xc3\xa9.example", std::nullopt}));

}  // namespace
}  // namespace cachecar::policy
