// JSON escaping for error bodies and admin output: the result is always valid JSON text, so
// bytes that are not well-formed UTF-8 (RFC 3629) become U+FFFD and well-formed ones pass.
#include "net/wire.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace cachecar::net {
namespace {

std::string escaped(std::string_view text) {
  std::string out;
  append_json_escaped(out, text);
  return out;
}

const std::string kReplacement = "\\ufffd";

TEST(AppendJsonEscaped, AsciiSpecialsAndControlsAreEscaped) {
  EXPECT_EQ(escaped("plain /path?q=1"), "plain /path?q=1");
  EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escaped("\n\r\t"), "\\n\\r\\t");
  EXPECT_EQ(escaped(std::string_view("\x00\x01\x1f", 3)), "\\u0000\\u0001\\u001f");
  EXPECT_EQ(escaped("\x7f"), "\x7f");  // DEL is allowed unescaped in JSON strings
}

struct Utf8Case {
  std::string name;
  std::string input;
  std::string expected;
};

void PrintTo(const Utf8Case& c, std::ostream* os) {
  *os << c.name;
}

class WellFormedUtf8 : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(WellFormedUtf8, PassesThroughUnchanged) {
  EXPECT_EQ(escaped(GetParam().input), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Sequences, WellFormedUtf8,
    ::testing::Values(
        Utf8Case{"TwoBytesLowest", "\xc2\x80", "\xc2\x80"},                    // U+0080
        Utf8Case{"TwoBytes", "caf\xc3\xa9", "caf\xc3\xa9"},                    // é
        Utf8Case{"TwoBytesHighest", "\xdf\xbf", "\xdf\xbf"},                   // U+07FF
        Utf8Case{"ThreeBytesLowest", "\xe0\xa0\x80", "\xe0\xa0\x80"},          // U+0800
        Utf8Case{"ThreeBytes", "\xe2\x82\xac", "\xe2\x82\xac"},                // €
        Utf8Case{"BelowSurrogates", "\xed\x9f\xbf", "\xed\x9f\xbf"},           // U+D7FF
        Utf8Case{"AboveSurrogates", "\xee\x80\x80", "\xee\x80\x80"},           // U+E000
        Utf8Case{"ThreeBytesHighest", "\xef\xbf\xbf", "\xef\xbf\xbf"},         // U+FFFF
        Utf8Case{"FourBytesLowest", "\xf0\x90\x80\x80", "\xf0\x90\x80\x80"},   // U+10000
        Utf8Case{"FourBytes", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},         // 😀
        Utf8Case{"FourBytesHighest", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},  // U+10FFFF
        Utf8Case{"Mixed", "a\xc3\xa9\"\xe2\x82\xac\n", "a\xc3\xa9\\\"\xe2\x82\xac\\n"}),
    [](const auto& param_info) { return param_info.param.name; });

class IllFormedUtf8 : public ::testing::TestWithParam<Utf8Case> {};

// Each byte that does not start a well-formed sequence becomes one U+FFFD, and scanning goes
// on at the next byte, so a valid sequence after the bad bytes survives.
TEST_P(IllFormedUtf8, BecomesReplacementCharacters) {
  EXPECT_EQ(escaped(GetParam().input), GetParam().expected);
}

std::string replacements(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += kReplacement;
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Sequences, IllFormedUtf8,
    ::testing::Values(
        Utf8Case{"LoneContinuation", "a\x80z", "a" + replacements(1) + "z"},
        Utf8Case{"LoneLeadAtEnd", "a\xc3", "a" + replacements(1)},
        Utf8Case{"LeadThenAscii", "\xc3(", replacements(1) + "("},
        // Overlong forms: C0/C1 leads, E0 below A0, F0 below 90.
        Utf8Case{"OverlongSlash", "\xc0\xaf", replacements(2)},
        Utf8Case{"OverlongC1", "\xc1\xbf", replacements(2)},
        Utf8Case{"OverlongThreeBytes", "\xe0\x80\xaf", replacements(3)},
        Utf8Case{"OverlongThreeBytesHighest", "\xe0\x9f\xbf", replacements(3)},
        Utf8Case{"OverlongFourBytes", "\xf0\x80\x80\xaf", replacements(4)},
        Utf8Case{"OverlongFourBytesHighest", "\xf0\x8f\xbf\xbf", replacements(4)},
        // UTF-16 surrogates U+D800..U+DFFF are not scalar values.
        Utf8Case{"HighSurrogate", "\xed\xa0\x80", replacements(3)},
        Utf8Case{"LowSurrogate", "\xed\xbf\xbf", replacements(3)},
        Utf8Case{"SurrogatePair", "\xed\xa0\xbd\xed\xb8\x80", replacements(6)},
        // Above U+10FFFF, and leads that can never occur.
        Utf8Case{"AboveMaximum", "\xf4\x90\x80\x80", replacements(4)},
        Utf8Case{"LeadF5", "\xf5\x80\x80\x80", replacements(4)},
        Utf8Case{"LeadFF", "\xff", replacements(1)},
        // Truncated sequences, at the end and before another character.
        Utf8Case{"TruncatedTwoOfThree", "\xe2\x82", replacements(2)},
        Utf8Case{"TruncatedThreeOfFour", "\xf0\x9f\x98", replacements(3)},
        Utf8Case{"TruncatedThenValid", "\xe2\x82\xc3\xa9", replacements(2) + "\xc3\xa9"},
        Utf8Case{"TruncatedThenQuote", "\xf0\x9f\"", replacements(2) + "\\\""},
        Utf8Case{"BadSecondOfFour", "\xf0\x9f\x28\x80", replacements(2) + "(" + replacements(1)}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(JsonErrorBody, EscapesBothFields) {
  EXPECT_EQ(json_error_body("bad_request", "path \"/\xff\""),
            "{\"error\": \"bad_request\", \"detail\": \"path \\\"/\\ufffd\\\"\"}");
}

}  // namespace
}  // namespace cachecar::net
