#include "policy/cache_control.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::policy {
namespace {

constexpr std::int64_t kRfcExample = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

// RFC 9110 §5.6.7: the three formats a recipient accepts.
TEST(HttpDate, AllThreeFormatsOfTheRfcExample) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kRfcExample);   // IMF-fixdate
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kRfcExample);  // RFC 850
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kRfcExample);        // asctime
}

TEST(HttpDate, Epochs) {
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
  EXPECT_EQ(parse_http_date("Tue, 19 Jan 2038 03:14:08 GMT"), 2147483648);
  EXPECT_EQ(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799);
  EXPECT_EQ(parse_http_date("Mon, 01 Jan 1900 00:00:00 GMT"), -2208988800);
}

TEST(HttpDate, LeapYears) {
  EXPECT_EQ(parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT"), 1709208000);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
  EXPECT_FALSE(parse_http_date("Thu, 29 Feb 2023 12:00:00 GMT"));
  EXPECT_FALSE(parse_http_date("Thu, 29 Feb 1900 12:00:00 GMT"));  // not a leap year
  EXPECT_FALSE(parse_http_date("Thu, 30 Feb 2024 12:00:00 GMT"));
  EXPECT_FALSE(parse_http_date("Thu, 31 Apr 2024 12:00:00 GMT"));
  EXPECT_EQ(parse_http_date("Wed, 31 Dec 2025 23:59:59 GMT"), 1767225599);
}

TEST(HttpDate, LeapSecondCountsAsTheNextSecond) {
  EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"),
            parse_http_date("Sun, 01 Jan 2017 00:00:00 GMT"));
}

// Years 00-69 are 2000-2069, 70-99 are 1970-1999 (a fixed pivot, documented in the parser).
TEST(HttpDate, Rfc850TwoDigitYears) {
  EXPECT_EQ(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
  EXPECT_EQ(parse_http_date("Friday, 31-Dec-99 23:59:59 GMT"), 946684799);
  EXPECT_EQ(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT"), 946684800);
  EXPECT_EQ(parse_http_date("Monday, 06-Nov-69 08:49:37 GMT"),
            parse_http_date("Wed, 06 Nov 2069 08:49:37 GMT"));
}

TEST(HttpDate, AsctimeDayForms) {
  EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994"), kRfcExample + 10 * 86400);
  EXPECT_EQ(parse_http_date("Sun Nov 06 08:49:37 1994"), kRfcExample);  // 2DIGIT is allowed too
  EXPECT_FALSE(parse_http_date("Sun Nov 6 08:49:37 1994"));             // the day field is 2 wide
  EXPECT_FALSE(parse_http_date("Sun Nov  6 08:49:37 94"));
}

TEST(HttpDate, SurroundingWhitespaceIsTrimmed) {
  EXPECT_EQ(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT\t"), kRfcExample);
}

class HttpDateInvalidTest : public testing::TestWithParam<std::string> {};

TEST_P(HttpDateInvalidTest, Rejects) {
  EXPECT_FALSE(parse_http_date(GetParam()).has_value()) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(
    Policy, HttpDateInvalidTest,
    testing::Values("", "0", "-1", "784111777", "yesterday",
                    // Names are case-sensitive and must be real ones.
                    "sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
                    "Sun, 06 NOV 1994 08:49:37 GMT", "Snu, 06 Nov 1994 08:49:37 GMT",
                    "Sun, 06 Nvo 1994 08:49:37 GMT", "Sunday, 06 Nov 1994 08:49:37 GMT",
                    "Sun, 06-Nov-94 08:49:37 GMT", "Sundae, 06-Nov-94 08:49:37 GMT",
                    "sunday, 06-Nov-94 08:49:37 GMT", "Son Nov  6 08:49:37 1994",
                    // Ranges.
                    "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT",
                    "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                    "Sun, 06 Nov 1994 08:60:37 GMT", "Sun, 06 Nov 1994 08:49:61 GMT",
                    "Sunday, 31-Nov-94 08:49:37 GMT", "Sun Nov 31 08:49:37 1994",
                    "Sun Nov  0 08:49:37 1994",
                    // Layout.
                    "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
                    "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 gmt",
                    "Sun, 06 Nov 1994 08:49:37 +0000", "Sun, 06 Nov 1994 08:49:37",
                    "Sun,06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT x",
                    "Sun, 06 Nov 1994 08-49-37 GMT", "Sun, 06 Nov +994 08:49:37 GMT",
                    "Sun, 0x Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
                    "Sunday, 06-Nov-94 08:49:37 UTC", "Sunday, 06 Nov 94 08:49:37 GMT",
                    "Sun Nov  6 08:49:37 1994 GMT", "Sun Nov  6 08:49:37  1994",
                    "2024-01-01T00:00:00Z"));

TEST(FormatHttpDate, ImfFixdate) {
  EXPECT_EQ(format_http_date(kRfcExample), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
  EXPECT_EQ(format_http_date(1709208000), "Thu, 29 Feb 2024 12:00:00 GMT");
  EXPECT_EQ(format_http_date(253402300799), "Fri, 31 Dec 9999 23:59:59 GMT");
}

TEST(FormatHttpDate, RoundTripsEveryDayOverFourCenturies) {
  // Each day from 1900 to 2300 at a time of day that moves, so weekday, month lengths and leap
  // years are all exercised.
  for (std::int64_t t = -2208988800; t < 10413792000; t += 86400 + 3607) {
    const std::string text = format_http_date(t);
    ASSERT_EQ(parse_http_date(text), t) << text;
  }
}

}  // namespace
}  // namespace cachecar::policy
