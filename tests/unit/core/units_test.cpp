#include "core/units.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>

namespace cachecar::core {
namespace {

using std::chrono::milliseconds;

struct DurationCase {
  std::string name;
  std::string text;
  std::optional<milliseconds> expected;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const DurationCase& c, std::ostream* os) {
  *os << c.name;
}

class ParseDurationTest : public testing::TestWithParam<DurationCase> {};

TEST_P(ParseDurationTest, Parses) {
  const auto& c = GetParam();
  EXPECT_EQ(parse_duration(c.text), c.expected) << "text: '" << c.text << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Units, ParseDurationTest,
    testing::Values(DurationCase{"Milliseconds", "100ms", milliseconds(100)},
                    DurationCase{"Seconds", "90s", milliseconds(90'000)},
                    DurationCase{"Minutes", "5m", milliseconds(300'000)},
                    DurationCase{"Hours", "24h", milliseconds(86'400'000)},
                    DurationCase{"Days", "2d", milliseconds(172'800'000)},
                    DurationCase{"BareIntegerIsSeconds", "30", milliseconds(30'000)},
                    DurationCase{"Zero", "0s", milliseconds(0)},
                    DurationCase{"Empty", "", std::nullopt},
                    DurationCase{"UnitOnly", "s", std::nullopt},
                    DurationCase{"Negative", "-5s", std::nullopt},
                    DurationCase{"PlusSign", "+5s", std::nullopt},
                    DurationCase{"Fraction", "1.5s", std::nullopt},
                    DurationCase{"SpaceBeforeUnit", "10 s", std::nullopt},
                    DurationCase{"UnknownUnit", "10w", std::nullopt},
                    DurationCase{"UpperCaseUnit", "10S", std::nullopt},
                    DurationCase{"TrailingGarbage", "10sx", std::nullopt},
                    DurationCase{"Overflow", "99999999999999999999h", std::nullopt},
                    DurationCase{"OverflowAfterMultiply", "9223372036854775807s", std::nullopt}),
    [](const testing::TestParamInfo<DurationCase>& param_info) { return param_info.param.name; });

struct SizeCase {
  std::string name;
  std::string text;
  std::optional<std::uint64_t> expected;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const SizeCase& c, std::ostream* os) {
  *os << c.name;
}

class ParseSizeTest : public testing::TestWithParam<SizeCase> {};

TEST_P(ParseSizeTest, Parses) {
  const auto& c = GetParam();
  EXPECT_EQ(parse_size(c.text), c.expected) << "text: '" << c.text << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Units, ParseSizeTest,
    testing::Values(
        SizeCase{"BareBytes", "512", 512U}, SizeCase{"Bytes", "512B", 512U},
        SizeCase{"Kibibytes", "64KiB", 64U * 1024}, SizeCase{"Mebibytes", "1MiB", 1U << 20},
        SizeCase{"Gibibytes", "2GiB", 2ULL << 30}, SizeCase{"Kilobytes", "3KB", 3000U},
        SizeCase{"Megabytes", "1MB", 1000'000U}, SizeCase{"Gigabytes", "1GB", 1000'000'000U},
        SizeCase{"Zero", "0", 0U}, SizeCase{"Empty", "", std::nullopt},
        SizeCase{"LowerCaseUnit", "1mib", std::nullopt}, SizeCase{"Negative", "-1", std::nullopt},
        SizeCase{"Fraction", "1.5MiB", std::nullopt}, SizeCase{"UnknownUnit", "1TiB", std::nullopt},
        SizeCase{"Overflow", "17179869184GiB", std::nullopt}),
    [](const testing::TestParamInfo<SizeCase>& param_info) { return param_info.param.name; });

TEST(FormatDuration, PicksLargestExactUnit) {
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(120'000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h");
  EXPECT_EQ(format_duration(milliseconds(86'400'000)), "24h");
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(1)), "1ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (auto ms : {1, 999, 1000, 61'000, 60'000, 3'600'000, 5'400'000}) {
    const milliseconds d(ms);
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
  }
}

}  // namespace
}  // namespace cachecar::core
