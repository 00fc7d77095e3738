#include "policy/entry.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <ostream>
#include <string>

namespace cachecar::policy {
namespace {

const HeaderList kHeaders = {{"Content-Type", "application/json"}, {"ETag", "\"v1\""}};

TEST(Entry, RoundTripsHeadAndBody) {
  const std::string bytes = encode_entry(1'700'000'000'123, 200, "OK", kHeaders, "{\"id\":42}");
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->stored_at_ms, 1'700'000'000'123);
  EXPECT_EQ(entry->status, 200);
  EXPECT_EQ(entry->head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"v1\"\r\n");
  EXPECT_EQ(entry->body, "{\"id\":42}");
}

TEST(Entry, HasVersionedTextPreamble) {
  const std::string bytes = encode_entry(5, 200, "OK", {}, "body");
  EXPECT_EQ(bytes, "CC1 5 200 17 4\nHTTP/1.1 200 OK\r\nbody");
}

TEST(Entry, EmptyBodyAndBinaryBody) {
  auto entry = decode_entry(encode_entry(0, 200, "OK", kHeaders, ""));
  ASSERT_TRUE(entry.has_value());
  EXPECT_TRUE(entry->body.empty());

  const std::string binary("\0\r\n\r\nCC1 \xff", 10);
  const std::string bytes = encode_entry(0, 200, "OK", kHeaders, binary);
  entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->body, binary);
}

TEST(Entry, EmptyReasonUsesStandardPhrase) {
  struct Case {
    int status;
    std::string_view line;
  };
  for (auto [status, line] :
       {Case{200, "HTTP/1.1 200 OK\r\n"}, Case{201, "HTTP/1.1 201 Created\r\n"},
        Case{204, "HTTP/1.1 204 No Content\r\n"}, Case{301, "HTTP/1.1 301 Moved Permanently\r\n"},
        Case{302, "HTTP/1.1 302 Found\r\n"}, Case{304, "HTTP/1.1 304 Not Modified\r\n"},
        Case{400, "HTTP/1.1 400 Bad Request\r\n"}, Case{404, "HTTP/1.1 404 Not Found\r\n"},
        Case{500, "HTTP/1.1 500 Internal Server Error\r\n"},
        Case{599, "HTTP/1.1 599 Unknown\r\n"}}) {
    const std::string bytes = encode_entry(0, status, "", {}, "");
    const auto entry = decode_entry(bytes);
    ASSERT_TRUE(entry.has_value()) << status;
    EXPECT_EQ(entry->head, line);
  }
}

TEST(Entry, KeepsUpstreamReasonPhrase) {
  const std::string bytes = encode_entry(0, 200, "Fine", {}, "");
  EXPECT_EQ(decode_entry(bytes)->head, "HTTP/1.1 200 Fine\r\n");
}

TEST(Entry, DropsUnstorableAndConnectionNamedFields) {
  const HeaderList headers = {{"Content-Type", "text/plain"},
                              {"Connection", "keep-alive, X-Hop"},
                              {"Keep-Alive", "timeout=5"},
                              {"X-Hop", "1"},
                              {"Content-Length", "5"},
                              {"Transfer-Encoding", "chunked"},
                              {"Set-Cookie", "a=b"},
                              {"Age", "3"},
                              {"X-Cache", "HIT"},
                              {"Cache-Status", "cachecar; hit"},
                              {"x-hop", "2"},
                              {"X-Kept", "yes"}};
  const std::string bytes = encode_entry(0, 200, "OK", headers, "hello");
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Kept: yes\r\n");
}

TEST(Entry, DropsFieldsThatCouldSplitTheHead) {
  const HeaderList headers = {{"X-Bad", "a\r\nInjected: 1"}, {"X-Ok", "fine"}, {"Bad\nName", "x"}};
  const std::string bytes = encode_entry(0, 200, "OK\r\nX: y", headers, "");
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->head, "HTTP/1.1 200 OK\r\nX-Ok: fine\r\n");
}

TEST(Entry, NegativeStoredAtRoundTrips) {
  const auto entry = decode_entry(encode_entry(-1500, 200, "OK", {}, "x"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->stored_at_ms, -1500);
}

struct GarbageCase {
  std::string name;
  std::string bytes;
};
// Names the case in test output instead of dumping its bytes.
void PrintTo(const GarbageCase& c, std::ostream* os) {
  *os << c.name;
}

class DecodeEntryGarbageTest : public testing::TestWithParam<GarbageCase> {};

TEST_P(DecodeEntryGarbageTest, Rejects) {
  EXPECT_FALSE(decode_entry(GetParam().bytes).has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Policy, DecodeEntryGarbageTest,
    testing::Values(
        GarbageCase{"Empty", ""}, GarbageCase{"MagicOnly", "CC1 "},
        GarbageCase{"WrongMagic", "CC2 5 200 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"LowerCaseMagic", "cc1 5 200 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"MissingLengths", "CC1 5 200\n"},
        GarbageCase{"MissingBodyLength", "CC1 5 200 17\nHTTP/1.1 200 OK\r\n"},
        GarbageCase{"NonNumericTime", "CC1 x 200 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"PlusSign", "CC1 +5 200 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"DoubleSpace", "CC1 5  200 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"StatusTooSmall", "CC1 5 99 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"StatusTooLarge", "CC1 5 1000 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"NegativeHeadLength", "CC1 5 200 -1 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"HeadLengthBeyondBuffer", "CC1 5 200 19 0\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"HugeHeadLength", "CC1 5 200 18446744073709551615 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"OverflowingHeadLength",
                    "CC1 5 200 99999999999999999999999 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"BodyShorterThanDeclared", "CC1 5 200 17 2\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"BodyLongerThanDeclared", "CC1 5 200 17 0\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"HugeBodyLength", "CC1 5 200 17 18446744073709551615\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"MissingNewline", "CC1 5 200 17 1"},
        GarbageCase{"HeadNotHttp", "CC1 5 200 5 0\nhello"},
        GarbageCase{"HeadCutMidLine", "CC1 5 200 16 2\nHTTP/1.1 200 OK\r\nx"}),
    [](const testing::TestParamInfo<GarbageCase>& param_info) { return param_info.param.name; });

TEST(DecodeEntry, EveryTruncationOrExtensionOfAValidEntryIsRejected) {
  const std::string bytes = encode_entry(42, 200, "OK", kHeaders, "body");
  ASSERT_TRUE(decode_entry(bytes).has_value());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    // An exact-length copy, so a read past the end is caught by sanitizers.
    const std::string prefix = bytes.substr(0, n);
    EXPECT_FALSE(decode_entry(prefix).has_value()) << "accepted a truncation to " << n << " bytes";
  }
  EXPECT_FALSE(decode_entry(bytes + "x").has_value());
}

TEST(AgeSeconds, WholeSecondsNeverNegative) {
  EXPECT_EQ(age_seconds(1000, 1000), 0);
  EXPECT_EQ(age_seconds(1000, 1999), 0);
  EXPECT_EQ(age_seconds(1000, 2000), 1);
  EXPECT_EQ(age_seconds(1000, 62'500), 61);
  EXPECT_EQ(age_seconds(5000, 1000), 0);  // clock went backwards
  EXPECT_EQ(age_seconds(std::numeric_limits<std::int64_t>::min(),
                        std::numeric_limits<std::int64_t>::max()),
            static_cast<std::int64_t>(std::numeric_limits<std::uint64_t>::max() / 1000));
}

}  // namespace
}  // namespace cachecar::policy
