#include "policy/entry.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <ostream>
#include <string>

namespace cachecar::policy {
namespace {

const HeaderList kHeaders = {{"Content-Type", "application/json"}, {"ETag", "\"v1\""}};

Freshness at(std::int64_t response_ms) {
  Freshness f;
  f.response_ms = response_ms;
  return f;
}

Freshness every_field_set() {
  Freshness f;
  f.request_ms = 1'700'000'000'000;
  f.response_ms = 1'700'000'000'123;
  f.initial_age_ms = 4'500;
  f.lifetime_ms = 60'000;
  f.stale_while_revalidate_ms = 30'000;
  f.stale_if_error_ms = 86'400'000;
  f.flags = kMustRevalidate | kHasValidator;
  return f;
}

TEST(Entry, RoundTripsHeadAndBody) {
  const std::string bytes = encode_entry(at(1'700'000'000'123), 200, "OK", kHeaders, "{\"id\":42}");
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->freshness.response_ms, 1'700'000'000'123);
  EXPECT_EQ(entry->status, 200);
  EXPECT_EQ(entry->head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"v1\"\r\n");
  EXPECT_EQ(entry->body, "{\"id\":42}");
}

TEST(Entry, RecordsEveryFreshnessField) {
  const Freshness f = every_field_set();
  const auto entry = decode_entry(encode_entry(f, 200, "OK", kHeaders, "x"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->freshness.request_ms, f.request_ms);
  EXPECT_EQ(entry->freshness.response_ms, f.response_ms);
  EXPECT_EQ(entry->freshness.initial_age_ms, f.initial_age_ms);
  EXPECT_EQ(entry->freshness.lifetime_ms, f.lifetime_ms);
  EXPECT_EQ(entry->freshness.stale_while_revalidate_ms, f.stale_while_revalidate_ms);
  EXPECT_EQ(entry->freshness.stale_if_error_ms, f.stale_if_error_ms);
  EXPECT_EQ(entry->freshness.flags, f.flags);
  EXPECT_TRUE(entry->freshness.has(kMustRevalidate));
  EXPECT_FALSE(entry->freshness.has(kNoCache));
}

TEST(Entry, PreambleListsTheFreshnessFieldsInOrder) {
  const std::string bytes = encode_entry(every_field_set(), 200, "OK", {}, "");
  EXPECT_TRUE(
      bytes.starts_with("CC3 1700000000000 1700000000123 4500 60000 30000 86400000 9 200 0 17 0\n"))
      << bytes;
}

TEST(Entry, DropsStripFieldsCaseInsensitively) {
  const HeaderList headers = {{"Content-Type", "text/plain"},
                              {"X-User", "alice"},
                              {"X-Session-Hint", "1"},
                              {"x-user", "bob"},
                              {"X-Kept", "yes"}};
  const std::string bytes =
      encode_entry(at(0), 200, "OK", headers, "", {"x-user", "x-session-hint"});
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Kept: yes\r\n");
}

// RFC 9110 §5.5: a field value has no leading or trailing whitespace; storing it trimmed keeps
// parse_entry_head's fields identical to what encoded them (a freshened head is re-encoded).
TEST(Entry, FieldValuesAreStoredTrimmed) {
  const HeaderList headers = {{"X-Padded", "  a b \t"}, {"X-Blank", " "}};
  const std::string bytes = encode_entry(at(0), 200, "OK", headers, "");
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->head, "HTTP/1.1 200 OK\r\nX-Padded: a b\r\nX-Blank: \r\n");
  const EntryHead head = parse_entry_head(entry->head);
  const std::string again = encode_entry(at(0), 200, head.reason, head.fields, "");
  EXPECT_EQ(decode_entry(again)->head, entry->head);
}

TEST(EntryField, FirstValueCaseInsensitiveNeverTheStatusLine) {
  const std::string head =
      "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nCache-Control: max-age=5\r\netag: \"v2\"\r\n"
      "X-Empty: \r\n";
  EXPECT_EQ(entry_field(head, "etag"), "\"v1\"");
  EXPECT_EQ(entry_field(head, "CACHE-CONTROL"), "max-age=5");
  EXPECT_EQ(entry_field(head, "X-Empty"), "");
  EXPECT_EQ(entry_field(head, "Last-Modified"), "");
  EXPECT_EQ(entry_field(head, "HTTP/1.1 200 OK"), "");
  EXPECT_EQ(entry_field("", "etag"), "");
  EXPECT_EQ(entry_field("HTTP/1.1 200 OK\r\n", "etag"), "");
}

TEST(ParseEntryHead, SplitsReasonAndFieldsInOrder) {
  const HeaderList headers = {{"Content-Type", "application/json"},
                              {"ETag", "\"v1\""},
                              {"Vary", "Origin"},
                              {"Vary", "Accept-Encoding"}};
  const std::string bytes = encode_entry(at(0), 404, "Not Here", headers, "x");
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  const EntryHead head = parse_entry_head(entry->head);
  EXPECT_EQ(head.reason, "Not Here");
  EXPECT_EQ(head.fields, headers);

  // Round trip: what parse_entry_head returns encodes back to the same head.
  const std::string again_bytes = encode_entry(at(0), 404, head.reason, head.fields, "x");
  const auto again = decode_entry(again_bytes);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->head, entry->head);

  EXPECT_EQ(parse_entry_head("HTTP/1.1 200 OK\r\n").reason, "OK");
  EXPECT_TRUE(parse_entry_head("HTTP/1.1 200 OK\r\n").fields.empty());
  EXPECT_EQ(parse_entry_head("HTTP/1.1 200 Multi Word Reason\r\n").reason, "Multi Word Reason");
}

TEST(Entry, HasVersionedTextPreamble) {
  const std::string bytes = encode_entry(at(5), 200, "OK", {}, "body");
  EXPECT_EQ(bytes, "CC3 0 5 0 0 0 0 0 200 0 17 4\nHTTP/1.1 200 OK\r\nbody");
}

TEST(Entry, EmptyBodyAndBinaryBody) {
  auto entry = decode_entry(encode_entry(at(0), 200, "OK", kHeaders, ""));
  ASSERT_TRUE(entry.has_value());
  EXPECT_TRUE(entry->body.empty());

  const std::string binary("\0\r\n\r\nCC1 \xff", 10);
  const std::string bytes = encode_entry(at(0), 200, "OK", kHeaders, binary);
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
    const std::string bytes = encode_entry(at(0), status, "", {}, "");
    const auto entry = decode_entry(bytes);
    ASSERT_TRUE(entry.has_value()) << status;
    EXPECT_EQ(entry->head, line);
  }
}

TEST(Entry, KeepsUpstreamReasonPhrase) {
  const std::string bytes = encode_entry(at(0), 200, "Fine", {}, "");
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
  const std::string bytes = encode_entry(at(0), 200, "OK", headers, "hello");
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Kept: yes\r\n");
}

TEST(Entry, DropsFieldsThatCouldSplitTheHead) {
  const HeaderList headers = {{"X-Bad", "a\r\nInjected: 1"}, {"X-Ok", "fine"}, {"Bad\nName", "x"}};
  const std::string bytes = encode_entry(at(0), 200, "OK\r\nX: y", headers, "");
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->head, "HTTP/1.1 200 OK\r\nX-Ok: fine\r\n");
}

TEST(Entry, NegativeTimesRoundTrip) {
  const auto entry = decode_entry(encode_entry(at(-1500), 200, "OK", {}, "x"));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->freshness.response_ms, -1500);
}

TEST(Entry, RecordsItsTagsBeforeTheHead) {
  const std::vector<std::string> tags = {"product:42", "products"};
  const std::string bytes = encode_entry(at(5), 200, "OK", {}, "body", {}, tags);
  EXPECT_EQ(bytes, "CC3 0 5 0 0 0 0 0 200 19 17 4\nproduct:42 productsHTTP/1.1 200 OK\r\nbody");
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->tags, "product:42 products");
  EXPECT_EQ(entry->head, "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(entry->body, "body");
}

TEST(Entry, LeavesOutTagsThatCouldNotBeReadBack) {
  // Validated tags never hold these; the entry still never records what would split the list.
  const std::vector<std::string> tags = {"a", "", "b c", "d\r\n", "e"};
  const auto entry = decode_entry(encode_entry(at(0), 200, "OK", {}, "", {}, tags));
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->tags, "a e");
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
        GarbageCase{"Empty", ""}, GarbageCase{"MagicOnly", "CC3 "},
        GarbageCase{"WrongMagic", "CC4 1 5 0 0 0 0 0 200 0 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"OldFormatCC1", "CC1 5 200 17 1\nHTTP/1.1 200 OK\r\nx"},
        // Version 2 had no tags: it decodes as a miss, never as an entry without its tags.
        GarbageCase{"OldFormatCC2", "CC2 1 5 0 0 0 0 0 200 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"TagsLengthBeyondBuffer", "CC3 1 5 0 0 0 0 0 200 30 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"TagsHoldALineBreak", "CC3 1 5 0 0 0 0 0 200 3 17 1\na\nbHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"TagsLengthOverlapsTheHead", "CC3 1 5 0 0 0 0 0 200 2 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"LowerCaseMagic", "cc3 1 5 0 0 0 0 0 200 0 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"MissingLengths", "CC3 1 5 0 0 0 0 0 200 0\n"},
        GarbageCase{"MissingBodyLength", "CC3 1 5 0 0 0 0 0 200 0 17\nHTTP/1.1 200 OK\r\n"},
        GarbageCase{"NonNumericTime", "CC3 1 x 0 0 0 0 0 200 0 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"PlusSign", "CC3 1 +5 0 0 0 0 0 200 0 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"DoubleSpace", "CC3 1 5 0 0 0 0 0  200 0 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"StatusTooSmall", "CC3 1 5 0 0 0 0 0 99 0 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"StatusTooLarge", "CC3 1 5 0 0 0 0 0 1000 0 17 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"NegativeHeadLength", "CC3 1 5 0 0 0 0 0 200 0 -1 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"HeadLengthBeyondBuffer", "CC3 1 5 0 0 0 0 0 200 0 19 0\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"HugeHeadLength",
                    "CC3 1 5 0 0 0 0 0 200 0 18446744073709551615 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"OverflowingHeadLength",
                    "CC3 1 5 0 0 0 0 0 200 0 99999999999999999999999 1\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"BodyShorterThanDeclared", "CC3 1 5 0 0 0 0 0 200 0 17 2\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"BodyLongerThanDeclared", "CC3 1 5 0 0 0 0 0 200 0 17 0\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"HugeBodyLength",
                    "CC3 1 5 0 0 0 0 0 200 0 17 18446744073709551615\nHTTP/1.1 200 OK\r\nx"},
        GarbageCase{"MissingNewline", "CC3 1 5 0 0 0 0 0 200 0 17 1"},
        GarbageCase{"HeadNotHttp", "CC3 1 5 0 0 0 0 0 200 0 5 0\nhello"},
        GarbageCase{"HeadCutMidLine", "CC3 1 5 0 0 0 0 0 200 0 16 2\nHTTP/1.1 200 OK\r\nx"}),
    [](const testing::TestParamInfo<GarbageCase>& param_info) { return param_info.param.name; });

TEST(DecodeEntry, EveryTruncationOrExtensionOfAValidEntryIsRejected) {
  const std::string bytes = encode_entry(at(42), 200, "OK", kHeaders, "body");
  ASSERT_TRUE(decode_entry(bytes).has_value());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    // An exact-length copy, so a read past the end is caught by sanitizers.
    const std::string prefix = bytes.substr(0, n);
    EXPECT_FALSE(decode_entry(prefix).has_value()) << "accepted a truncation to " << n << " bytes";
  }
  EXPECT_FALSE(decode_entry(bytes + "x").has_value());
}

}  // namespace
}  // namespace cachecar::policy
