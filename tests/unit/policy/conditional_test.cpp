#include "policy/conditional.hpp"

#include "support/case_name.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace cachecar::policy {
namespace {

using test::CaseName;

constexpr std::string_view kT0 = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr std::string_view kT0Rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
constexpr std::string_view kT0Asctime = "Sun Nov  6 08:49:37 1994";
constexpr std::string_view kT1 = "Sun, 06 Nov 1994 08:49:38 GMT";   // one second later
constexpr std::string_view kTm1 = "Sun, 06 Nov 1994 08:49:36 GMT";  // one second earlier
constexpr std::string_view kT10 = "Sun, 06 Nov 1994 08:49:47 GMT";

// ---- not_modified (RFC 9110 §13.1.2, §13.1.3, §13.2.2) ----

struct NotModifiedCase {
  const char* name;
  std::string_view if_none_match;
  std::string_view if_modified_since;
  Validators stored;
  bool expected;
};
void PrintTo(const NotModifiedCase& c, std::ostream* os) {
  *os << c.name;
}

class NotModifiedTable : public ::testing::TestWithParam<NotModifiedCase> {};

TEST_P(NotModifiedTable, Evaluates) {
  const auto& c = GetParam();
  EXPECT_EQ(not_modified(c.if_none_match, c.if_modified_since, c.stored), c.expected) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Conditional, NotModifiedTable,
    ::testing::Values(
        NotModifiedCase{"no preconditions", "", "", {"\"a\"", kT0, kT0}, false},
        NotModifiedCase{"same strong tag", "\"a\"", "", {"\"a\"", "", ""}, true},
        NotModifiedCase{"different tag", "\"b\"", "", {"\"a\"", "", ""}, false},
        NotModifiedCase{"tags are case-sensitive", "\"A\"", "", {"\"a\"", "", ""}, false},
        // Weak comparison (§8.8.3.2): W/ ignored on either side.
        NotModifiedCase{"weak request tag, strong stored", "W/\"a\"", "", {"\"a\"", "", ""}, true},
        NotModifiedCase{"strong request tag, weak stored", "\"a\"", "", {"W/\"a\"", "", ""}, true},
        NotModifiedCase{"both weak", "W/\"a\"", "", {"W/\"a\"", "", ""}, true},
        NotModifiedCase{
            "lower-case w/ is not the weak prefix", "w/\"a\"", "", {"\"a\"", "", ""}, false},
        NotModifiedCase{"tag in a list", "\"x\", \"y\",W/\"a\"", "", {"\"a\"", "", ""}, true},
        NotModifiedCase{"list without the tag", "\"x\", \"y\"", "", {"\"a\"", "", ""}, false},
        NotModifiedCase{"comma inside a tag", "\"a,b\"", "", {"\"a,b\"", "", ""}, true},
        NotModifiedCase{
            "comma inside a tag is not a separator", "\"a,b\"", "", {"\"a\"", "", ""}, false},
        NotModifiedCase{"empty list elements", " , ,\"a\" ,", "", {"\"a\"", "", ""}, true},
        NotModifiedCase{"every member malformed", "a, \"b c\", W/a", "", {"\"a\"", "", ""}, false},
        NotModifiedCase{
            "a space is no etagc: skipped", "\"a b\", \"a\"", "", {"\"a\"", "", ""}, true},
        NotModifiedCase{
            "malformed member then valid one", "bogus, \"a\"", "", {"\"a\"", "", ""}, true},
        NotModifiedCase{"unterminated tag", "\"a", "", {"\"a\"", "", ""}, false},
        NotModifiedCase{"star matches any stored response", "*", "", {"", "", ""}, true},
        NotModifiedCase{"star with spaces", " * ", "", {"\"a\"", "", ""}, true},
        NotModifiedCase{"stored response without ETag", "\"a\"", "", {"", kT0, kT0}, false},
        NotModifiedCase{"malformed stored ETag", "\"a\"", "", {"a", "", ""}, false},
        // If-None-Match present: If-Modified-Since is ignored (§13.1.3, §13.2.2).
        NotModifiedCase{
            "INM false wins over a true IMS", "\"b\"", kT10, {"\"a\"", kT0, kT0}, false},
        NotModifiedCase{
            "INM with no valid member ignores IMS", "garbage", kT10, {"\"a\"", kT0, kT0}, false},
        NotModifiedCase{"INM true wins over a false IMS", "\"a\"", kTm1, {"\"a\"", kT0, kT0}, true},
        // If-Modified-Since alone.
        NotModifiedCase{"IMS equal to Last-Modified", "", kT0, {"", kT0, kT10}, true},
        NotModifiedCase{"IMS after Last-Modified", "", kT1, {"", kT0, kT10}, true},
        NotModifiedCase{"IMS before Last-Modified", "", kTm1, {"", kT0, kT10}, false},
        NotModifiedCase{"IMS in RFC 850 form", "", kT0Rfc850, {"", kT0, kT10}, true},
        NotModifiedCase{"IMS in asctime form", "", kT0Asctime, {"", kT0, kT10}, true},
        NotModifiedCase{"Last-Modified in another form", "", kT0, {"", kT0Asctime, ""}, true},
        NotModifiedCase{"invalid IMS is ignored", "", "yesterday", {"", kT0, kT10}, false},
        NotModifiedCase{"IMS with two dates is invalid",
                        "",
                        "Sun, 06 Nov 1994 08:49:37 GMT, x",
                        {"", kT0, kT10},
                        false},
        NotModifiedCase{"no Last-Modified: Date is used", "", kT0, {"", "", kT0}, true},
        NotModifiedCase{"no Last-Modified: later Date", "", kT0, {"", "", kT1}, false},
        NotModifiedCase{"invalid Last-Modified: Date is used", "", kT0, {"", "junk", kTm1}, true},
        NotModifiedCase{"neither Last-Modified nor Date", "", kT10, {"\"a\"", "", ""}, false}),
    CaseName{});

// ---- evaluate_range / is_multi_range (RFC 9110 §14.1.2, §14.2, §13.1.5) ----

struct RangeCase {
  const char* name;
  std::string_view range;
  std::uint64_t length;
  RangeKind kind;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};
void PrintTo(const RangeCase& c, std::ostream* os) {
  *os << c.name;
}

class RangeTable : public ::testing::TestWithParam<RangeCase> {};

TEST_P(RangeTable, Evaluates) {
  const auto& c = GetParam();
  const auto answer = evaluate_range(c.range, "", c.length, Validators{});
  EXPECT_EQ(answer.kind, c.kind) << c.name;
  if (c.kind == RangeKind::Single) {
    EXPECT_EQ(answer.first, c.first) << c.name;
    EXPECT_EQ(answer.last, c.last) << c.name;
  }
  EXPECT_EQ(is_multi_range(c.range), c.kind == RangeKind::Multiple) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Conditional, RangeTable,
    ::testing::Values(
        RangeCase{"no Range", "", 100, RangeKind::Whole},
        RangeCase{"first-last", "bytes=0-9", 100, RangeKind::Single, 0, 9},
        RangeCase{"unit is case-insensitive", "BYTES=10-19", 100, RangeKind::Single, 10, 19},
        RangeCase{"open-ended", "bytes=90-", 100, RangeKind::Single, 90, 99},
        RangeCase{"last clamped to length-1", "bytes=50-1000", 100, RangeKind::Single, 50, 99},
        RangeCase{"one byte", "bytes=99-99", 100, RangeKind::Single, 99, 99},
        RangeCase{"suffix", "bytes=-10", 100, RangeKind::Single, 90, 99},
        RangeCase{"suffix longer than the body", "bytes=-500", 100, RangeKind::Single, 0, 99},
        RangeCase{"huge last-pos", "bytes=0-99999999999999999999999", 100, RangeKind::Single, 0,
                  99},
        RangeCase{"huge suffix", "bytes=-99999999999999999999999", 100, RangeKind::Single, 0, 99},
        RangeCase{"empty list elements", "bytes=,0-9,", 100, RangeKind::Single, 0, 9},
        RangeCase{"first beyond the end", "bytes=100-", 100, RangeKind::Unsatisfiable},
        RangeCase{"first far beyond the end", "bytes=500-600", 100, RangeKind::Unsatisfiable},
        RangeCase{"huge first-pos", "bytes=99999999999999999999999-", 100,
                  RangeKind::Unsatisfiable},
        RangeCase{"suffix of length 0", "bytes=-0", 100, RangeKind::Unsatisfiable},
        RangeCase{"empty body", "bytes=0-0", 0, RangeKind::Unsatisfiable},
        RangeCase{"empty body, suffix", "bytes=-5", 0, RangeKind::Unsatisfiable},
        RangeCase{"two ranges", "bytes=0-1,5-6", 100, RangeKind::Multiple},
        RangeCase{"two ranges with spaces", "bytes=0-1 , \t5-6", 100, RangeKind::Multiple},
        RangeCase{"two ranges, one unsatisfiable", "bytes=0-1,500-600", 100, RangeKind::Multiple},
        RangeCase{"two unsatisfiable ranges", "bytes=200-300,500-600", 100, RangeKind::Multiple},
        RangeCase{"another unit", "items=0-1", 100, RangeKind::Whole},
        RangeCase{"unit prefix only", "bytesx=0-1", 100, RangeKind::Whole},
        RangeCase{"no equals sign", "bytes 0-1", 100, RangeKind::Whole},
        RangeCase{"space before the equals sign", "bytes =0-1", 100, RangeKind::Whole},
        RangeCase{"last before first", "bytes=9-0", 100, RangeKind::Whole},
        RangeCase{"no dash", "bytes=5", 100, RangeKind::Whole},
        RangeCase{"dash only", "bytes=-", 100, RangeKind::Whole},
        RangeCase{"not digits", "bytes=a-b", 100, RangeKind::Whole},
        RangeCase{"negative-looking", "bytes=--5", 100, RangeKind::Whole},
        RangeCase{"space inside a range", "bytes=0 -5", 100, RangeKind::Whole},
        RangeCase{"empty set", "bytes=", 100, RangeKind::Whole},
        RangeCase{"only commas", "bytes=, ,", 100, RangeKind::Whole},
        RangeCase{"one invalid member invalidates a list", "bytes=0-1,x", 100, RangeKind::Whole}),
    CaseName{});

struct IfRangeCase {
  const char* name;
  std::string_view if_range;
  Validators stored;
  bool honoured;  // Single 0-9; else Whole
};
void PrintTo(const IfRangeCase& c, std::ostream* os) {
  *os << c.name;
}

class IfRangeTable : public ::testing::TestWithParam<IfRangeCase> {};

TEST_P(IfRangeTable, Evaluates) {
  const auto& c = GetParam();
  const auto answer = evaluate_range("bytes=0-9", c.if_range, 100, c.stored);
  EXPECT_EQ(answer.kind, c.honoured ? RangeKind::Single : RangeKind::Whole) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Conditional, IfRangeTable,
    ::testing::Values(
        IfRangeCase{"absent", "", {"", "", ""}, true},
        IfRangeCase{"same strong tag", "\"a\"", {"\"a\"", "", ""}, true},
        IfRangeCase{"same tag with spaces", " \"a\" ", {"\"a\"", "", ""}, true},
        IfRangeCase{"different tag", "\"b\"", {"\"a\"", "", ""}, false},
        // Strong comparison (§8.8.3.2): a weak tag never matches.
        IfRangeCase{"weak request tag", "W/\"a\"", {"\"a\"", "", ""}, false},
        IfRangeCase{"weak stored tag", "\"a\"", {"W/\"a\"", "", ""}, false},
        IfRangeCase{"both weak", "W/\"a\"", {"W/\"a\"", "", ""}, false},
        IfRangeCase{"no stored tag", "\"a\"", {"", kT0, kT10}, false},
        IfRangeCase{"malformed tag", "\"a", {"\"a", "", ""}, false},
        IfRangeCase{"a list is not an If-Range", "\"a\", \"b\"", {"\"a\"", "", ""}, false},
        // A date must equal Last-Modified, which must be strong: Date at least one second
        // later (§13.1.5, §8.8.2.2).
        IfRangeCase{"date equal to Last-Modified", kT0, {"\"a\"", kT0, kT1}, true},
        IfRangeCase{"date equal in another form", kT0Rfc850, {"", kT0, kT10}, true},
        IfRangeCase{"date after Last-Modified", kT1, {"", kT0, kT10}, false},
        IfRangeCase{"date before Last-Modified", kTm1, {"", kT0, kT10}, false},
        IfRangeCase{"Last-Modified equal to Date is weak", kT0, {"", kT0, kT0}, false},
        IfRangeCase{"no Date: strength unknown", kT0, {"", kT0, ""}, false},
        IfRangeCase{"no Last-Modified", kT0, {"", "", kT10}, false},
        IfRangeCase{"invalid date", "not a date", {"", kT0, kT10}, false}),
    CaseName{});

TEST(EvaluateRange, FailedIfRangeSendsWholeEvenForSeveralRanges) {
  // §13.2.2 step 5: a false If-Range ignores the Range, whatever it holds.
  const Validators stored{"\"a\"", "", ""};
  EXPECT_EQ(evaluate_range("bytes=0-1,4-5", "\"b\"", 100, stored).kind, RangeKind::Whole);
  EXPECT_EQ(evaluate_range("bytes=0-1,4-5", "\"a\"", 100, stored).kind, RangeKind::Multiple);
  EXPECT_EQ(evaluate_range("bytes=200-", "\"b\"", 100, stored).kind, RangeKind::Whole);
  EXPECT_EQ(evaluate_range("bytes=200-", "\"a\"", 100, stored).kind, RangeKind::Unsatisfiable);
}

// ---- freshen_fields (RFC 9111 §3.2, §4.3.4) ----

struct FreshenCase {
  const char* name;
  HeaderList stored;
  HeaderList not_modified;
  HeaderList expected;
};
void PrintTo(const FreshenCase& c, std::ostream* os) {
  *os << c.name;
}

class FreshenTable : public ::testing::TestWithParam<FreshenCase> {};

TEST_P(FreshenTable, Updates) {
  const auto& c = GetParam();
  EXPECT_EQ(freshen_fields(c.stored, c.not_modified), c.expected) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Conditional, FreshenTable,
    ::testing::Values(
        FreshenCase{"empty 304 keeps everything",
                    {{"Content-Type", "text/plain"}, {"ETag", "\"a\""}},
                    {},
                    {{"Content-Type", "text/plain"}, {"ETag", "\"a\""}}},
        FreshenCase{
            "a field replaced in place, case-insensitive name",
            {{"Content-Type", "text/plain"}, {"Cache-Control", "max-age=5"}, {"ETag", "\"a\""}},
            {{"cache-control", "max-age=60"}},
            {{"Content-Type", "text/plain"}, {"cache-control", "max-age=60"}, {"ETag", "\"a\""}}},
        FreshenCase{
            "a new field appended",
            {{"Content-Type", "text/plain"}},
            {{"Expires", std::string(kT10)}, {"X-Custom", "1"}},
            {{"Content-Type", "text/plain"}, {"Expires", std::string(kT10)}, {"X-Custom", "1"}}},
        FreshenCase{
            "every stored line of the name replaced at the first one's position",
            {{"Link", "</a>"}, {"Content-Type", "text/plain"}, {"Link", "</b>"}, {"ETag", "\"a\""}},
            {{"Link", "</c>"}},
            {{"Link", "</c>"}, {"Content-Type", "text/plain"}, {"ETag", "\"a\""}}},
        FreshenCase{"several 304 lines kept in the 304's order",
                    {{"Cache-Control", "max-age=5"}, {"Content-Type", "text/plain"}},
                    {{"Cache-Control", "public"},
                     {"Date", std::string(kT10)},
                     {"Cache-Control", "max-age=60"}},
                    {{"Cache-Control", "public"},
                     {"Cache-Control", "max-age=60"},
                     {"Content-Type", "text/plain"},
                     {"Date", std::string(kT10)}}},
        FreshenCase{"new names appended in the 304's line order",
                    {{"Content-Type", "text/plain"}},
                    {{"X-A", "1"}, {"X-B", "2"}, {"X-A", "3"}},
                    {{"Content-Type", "text/plain"}, {"X-A", "1"}, {"X-B", "2"}, {"X-A", "3"}}},
        FreshenCase{"framing fields keep their stored values",
                    {{"Content-Length", "5"}, {"Content-Type", "text/plain"}},
                    {{"Content-Length", "0"},
                     {"Transfer-Encoding", "chunked"},
                     {"Content-Type", "text/html"}},
                    {{"Content-Length", "5"}, {"Content-Type", "text/html"}}},
        FreshenCase{"hop-by-hop and per-response fields are not taken",
                    {{"Content-Type", "text/plain"}},
                    {{"Connection", "close, X-Hop"},
                     {"Keep-Alive", "timeout=5"},
                     {"X-Hop", "1"},
                     {"Age", "30"},
                     {"X-Cache", "HIT"},
                     {"Cache-Status", "upstream; hit"},
                     {"Set-Cookie", "a=b"},
                     {"Proxy-Authenticate", "Basic"},
                     {"Upgrade", "h2c"},
                     {"X-Kept", "1"}},
                    {{"Content-Type", "text/plain"}, {"X-Kept", "1"}}},
        FreshenCase{"Content-Range is processed, not updated (a stored 200 has none)",
                    {{"Content-Type", "text/plain"}},
                    {{"Content-Range", "bytes 0-4/5"}},
                    {{"Content-Type", "text/plain"}}},
        FreshenCase{"validators updated",
                    {{"ETag", "W/\"a\""}, {"Last-Modified", std::string(kT0)}},
                    {{"ETag", "W/\"b\""}, {"Last-Modified", std::string(kT1)}},
                    {{"ETag", "W/\"b\""}, {"Last-Modified", std::string(kT1)}}}),
    CaseName{});

// ---- validators_differ (RFC 9111 §4.3.5) ----

TEST(ValidatorsDiffer, EtagsComparedExactlyWhenBothHaveOne) {
  EXPECT_FALSE(validators_differ({"\"a\"", "", ""}, {"\"a\"", "", ""}));
  EXPECT_TRUE(validators_differ({"\"a\"", "", ""}, {"\"b\"", "", ""}));
  EXPECT_TRUE(validators_differ({"\"a\"", "", ""}, {"W/\"a\"", "", ""}));
  // ETags decide: equal tags with different dates are the same representation.
  EXPECT_FALSE(validators_differ({"\"a\"", kT0, ""}, {"\"a\"", kT1, ""}));
  EXPECT_TRUE(validators_differ({"\"a\"", kT0, ""}, {"\"b\"", kT0, ""}));
}

TEST(ValidatorsDiffer, LastModifiedComparedAsDatesWithoutTwoEtags) {
  EXPECT_FALSE(validators_differ({"", kT0, ""}, {"", kT0Rfc850, ""}));
  EXPECT_TRUE(validators_differ({"", kT0, ""}, {"", kT1, ""}));
  EXPECT_TRUE(validators_differ({"\"a\"", kT0, ""}, {"", kT1, ""}));
  EXPECT_FALSE(validators_differ({"", kT0, ""}, {"\"a\"", kT0, ""}));
  // Unparsable dates are compared as sent.
  EXPECT_FALSE(validators_differ({"", "junk", ""}, {"", "junk", ""}));
  EXPECT_TRUE(validators_differ({"", "junk", ""}, {"", "junk2", ""}));
}

TEST(ValidatorsDiffer, OnlyValidatorsBothCarryAreCompared) {
  EXPECT_FALSE(validators_differ({"", "", ""}, {"", "", ""}));
  EXPECT_FALSE(validators_differ({"\"a\"", "", ""}, {"", "", ""}));
  EXPECT_FALSE(validators_differ({"", "", ""}, {"\"a\"", kT0, ""}));
  EXPECT_FALSE(validators_differ({"\"a\"", "", ""}, {"", kT0, ""}));
  // Date is not a validator.
  EXPECT_FALSE(validators_differ({"", "", kT0}, {"", "", kT1}));
}

TEST(IsNotModifiedField, TheFieldsOfRfc9110Section1545) {
  for (const char* name : {"ETag", "etag", "Last-Modified", "Cache-Control", "EXPIRES", "Vary",
                           "Content-Location", "Date"}) {
    EXPECT_TRUE(is_not_modified_field(name)) << name;
  }
  for (const char* name : {"Content-Type", "Content-Length", "Age", "Set-Cookie", "", "ETa"}) {
    EXPECT_FALSE(is_not_modified_field(name)) << name;
  }
}

}  // namespace
}  // namespace cachecar::policy
