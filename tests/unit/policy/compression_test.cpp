#include "policy/compression.hpp"

#include "support/case_name.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace cachecar::policy {
namespace {

using test::CaseName;

// ---- accepts_gzip (RFC 9110 §12.5.3) ----

struct AcceptCase {
  const char* name;
  std::optional<std::string_view> accept_encoding;
  bool gzip;
};
void PrintTo(const AcceptCase& c, std::ostream* os) {
  *os << c.name;
}

class AcceptsGzipTable : public ::testing::TestWithParam<AcceptCase> {};

TEST_P(AcceptsGzipTable, Decides) {
  const auto& c = GetParam();
  EXPECT_EQ(accepts_gzip(c.accept_encoding), c.gzip) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    AcceptEncoding, AcceptsGzipTable,
    ::testing::Values(AcceptCase{"no field", std::nullopt, false},
                      AcceptCase{"empty field", "", false}, AcceptCase{"gzip", "gzip", true},
                      AcceptCase{"browser list", "gzip, deflate, br, zstd", true},
                      AcceptCase{"case-insensitive coding", "GZip", true},
                      AcceptCase{"x-gzip", "x-gzip", true},
                      AcceptCase{"others only", "deflate, br", false},
                      AcceptCase{"gzip q=0", "gzip;q=0", false},
                      AcceptCase{"gzip q=0.000", "gzip;q=0.000", false},
                      AcceptCase{"gzip q=0.001", "gzip;q=0.001", true},
                      AcceptCase{"gzip q=1.000", "gzip;q=1.000", true},
                      AcceptCase{"whitespace and upper-case Q", "br , gzip ; Q=0.5", true},
                      AcceptCase{"star", "*", true}, AcceptCase{"star q=0", "*;q=0", false},
                      AcceptCase{"gzip q=0 beats star", "gzip;q=0, *", false},
                      AcceptCase{"gzip named beats star q=0", "*;q=0, gzip", true},
                      AcceptCase{"identity q=0 alone", "identity;q=0", false},
                      AcceptCase{"identity q=0 with gzip", "gzip, identity;q=0", true},
                      AcceptCase{"identity preferred", "gzip;q=0.5, identity;q=0.8", false},
                      AcceptCase{"gzip preferred", "gzip;q=1.0, identity;q=0.5", true},
                      AcceptCase{"a tie goes to gzip", "gzip;q=0.5, identity;q=0.5", true},
                      AcceptCase{"star weights identity too", "gzip;q=0.3, *;q=0.5", false},
                      AcceptCase{"highest of repeated members", "gzip;q=0, gzip;q=0.4", true},
                      AcceptCase{"weighted gzip after another coding", "br, gzip;q=0.2", true},
                      AcceptCase{"invalid weight ignored", "gzip;q=1.5", false},
                      AcceptCase{"weight too precise ignored", "gzip;q=0.0001", false},
                      AcceptCase{"empty weight ignored", "gzip;q=", false},
                      AcceptCase{"other parameter ignored", "gzip;level=1", false},
                      AcceptCase{"invalid member skipped", "\"gzip\", gzip", true},
                      AcceptCase{"substring is not gzip", "gzipx, xgzip", false}),
    CaseName{});

// ---- matches_media_type, is_media_type_pattern ----

const std::vector<std::string> kDefaultTypes = CompressionConfig{}.types;

struct TypeCase {
  const char* name;
  std::string_view content_type;
  bool matches;
};
void PrintTo(const TypeCase& c, std::ostream* os) {
  *os << c.name;
}

class MediaTypeTable : public ::testing::TestWithParam<TypeCase> {};

TEST_P(MediaTypeTable, MatchesTheDefaultTypes) {
  const auto& c = GetParam();
  EXPECT_EQ(matches_media_type(c.content_type, kDefaultTypes), c.matches) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    ContentType, MediaTypeTable,
    ::testing::Values(TypeCase{"json", "application/json", true},
                      TypeCase{"json with charset", "application/json; charset=utf-8", true},
                      TypeCase{"json without space before parameter",
                               "application/json;charset=utf-8", true},
                      TypeCase{"upper case", "Application/JSON", true},
                      TypeCase{"surrounding whitespace", "  application/json  ", true},
                      TypeCase{"text wildcard html", "text/html", true},
                      TypeCase{"text wildcard csv", "text/csv; header=present", true},
                      TypeCase{"javascript", "application/javascript", true},
                      TypeCase{"svg", "image/svg+xml", true}, TypeCase{"png", "image/png", false},
                      TypeCase{"json suffix is another type", "application/problem+json", false},
                      TypeCase{"prefix is not a match", "application/jsonx", false},
                      TypeCase{"empty", "", false}, TypeCase{"no subtype", "text", false},
                      TypeCase{"empty subtype", "text/", false},
                      TypeCase{"spaces inside", "text / html", false}),
    CaseName{});

TEST(MediaType, StarStarMatchesEveryValidType) {
  const std::vector<std::string> all = {"*/*"};
  EXPECT_TRUE(matches_media_type("image/png", all));
  EXPECT_TRUE(matches_media_type("application/octet-stream", all));
  EXPECT_FALSE(matches_media_type("garbage", all));
}

TEST(MediaType, Patterns) {
  for (std::string_view good : {"application/json", "text/*", "*/*", "image/svg+xml",
                                "application/vnd.api+json", "TEXT/HTML"}) {
    EXPECT_TRUE(is_media_type_pattern(good)) << good;
  }
  for (std::string_view bad : {"", "json", "text/", "/json", "*/json", "text/ht*ml", "te*t/html",
                               "text/html; charset=utf-8", "text/html ", "text/html/x", "*"}) {
    EXPECT_FALSE(is_media_type_pattern(bad)) << bad;
  }
}

// ---- body_coding ----

TEST(BodyCoding, FromContentEncoding) {
  EXPECT_EQ(body_coding({}), BodyCoding::Identity);
  EXPECT_EQ(body_coding({{"Content-Encoding", "identity"}}), BodyCoding::Identity);
  EXPECT_EQ(body_coding({{"Content-Encoding", ""}}), BodyCoding::Identity);
  EXPECT_EQ(body_coding({{"content-encoding", "GZIP"}}), BodyCoding::Gzip);
  EXPECT_EQ(body_coding({{"Content-Encoding", "x-gzip"}}), BodyCoding::Gzip);
  EXPECT_EQ(body_coding({{"Content-Encoding", "identity, gzip"}}), BodyCoding::Gzip);
  EXPECT_EQ(body_coding({{"Content-Encoding", "br"}}), BodyCoding::Other);
  EXPECT_EQ(body_coding({{"Content-Encoding", "gzip, gzip"}}), BodyCoding::Other);
  EXPECT_EQ(body_coding({{"Content-Encoding", "gzip"}, {"Content-Encoding", "br"}}),
            BodyCoding::Other);
  std::ostringstream os;
  os << BodyCoding::Gzip;
  EXPECT_EQ(os.str(), "gzip");
}

// ---- plan_compression ----

CompressionConfig enabled() {
  CompressionConfig config;
  config.enabled = true;
  return config;
}

const HeaderList kJson = {{"Content-Type", "application/json"}};

TEST(PlanCompression, ListedIdentityBodyAtOrAboveMinSizeIsCompressed) {
  EXPECT_EQ(plan_compression(enabled(), kJson, 1024), StoredCoding::GzipByCache);
  EXPECT_EQ(plan_compression(enabled(), kJson, 1 << 20), StoredCoding::GzipByCache);
}

TEST(PlanCompression, FlipOneThingAndItIsStoredAsReceived) {
  EXPECT_EQ(plan_compression(CompressionConfig{}, kJson, 4096), StoredCoding::AsReceived)
      << "disabled";
  EXPECT_EQ(plan_compression(enabled(), kJson, 1023), StoredCoding::AsReceived) << "below min_size";
  EXPECT_EQ(plan_compression(enabled(), {{"Content-Type", "image/png"}}, 4096),
            StoredCoding::AsReceived)
      << "unlisted type";
  EXPECT_EQ(plan_compression(enabled(), {}, 4096), StoredCoding::AsReceived) << "no type";
  EXPECT_EQ(plan_compression(enabled(),
                             {{"Content-Type", "application/json"},
                              {"Cache-Control", "max-age=60, No-Transform"}},
                             4096),
            StoredCoding::AsReceived)
      << "no-transform";
  EXPECT_EQ(plan_compression(enabled(), {{"Content-Type", "text/html"}, {"Content-Encoding", "br"}},
                             4096),
            StoredCoding::AsReceived)
      << "another coding";
  auto zero = enabled();
  zero.min_size_bytes = 0;
  EXPECT_EQ(plan_compression(zero, kJson, 0), StoredCoding::AsReceived) << "empty body";
  EXPECT_EQ(plan_compression(zero, kJson, 1), StoredCoding::GzipByCache) << "min_size 0";
}

TEST(PlanCompression, UpstreamGzipIsKeptWhateverItsTypeAndSize) {
  const HeaderList gzip = {{"Content-Type", "image/png"}, {"Content-Encoding", "gzip"}};
  EXPECT_EQ(plan_compression(enabled(), gzip, 10), StoredCoding::GzipFromUpstream);
  EXPECT_EQ(plan_compression(CompressionConfig{}, gzip, 10), StoredCoding::AsReceived);
}

// ---- ETags (RFC 9110 §8.8.3) ----

TEST(CompressionEtag, GzipRepresentationGetsADistinctWeakTag) {
  EXPECT_EQ(gzip_etag("\"abc\""), "W/\"abc-gzip\"");
  EXPECT_EQ(gzip_etag("W/\"abc\""), "W/\"abc-gzip\"");
  EXPECT_EQ(gzip_etag(" \"abc\" "), "W/\"abc-gzip\"");
  EXPECT_EQ(gzip_etag("\"\""), "W/\"-gzip\"");
  for (std::string_view bad : {"", "abc", "\"abc", "w/\"abc\"", "\"a\"b\""}) {
    EXPECT_EQ(gzip_etag(bad), "") << bad;
  }
}

TEST(CompressionEtag, IdentityOfAnUpstreamGzipGetsADistinctWeakTag) {
  EXPECT_EQ(identity_etag_of_gzip("\"x\""), "W/\"x-identity\"");
  EXPECT_EQ(identity_etag_of_gzip("W/\"x\""), "W/\"x-identity\"");
  EXPECT_EQ(identity_etag_of_gzip("x"), "");
}

TEST(CompressionEtag, RecordedIdentityTag) {
  const HeaderList origin = {{"ETag", "\"abc\""}};
  EXPECT_EQ(identity_etag_for(StoredCoding::GzipByCache, origin), "\"abc\"");
  EXPECT_EQ(identity_etag_for(StoredCoding::GzipFromUpstream, origin), "W/\"abc-identity\"");
  EXPECT_EQ(identity_etag_for(StoredCoding::AsReceived, origin), "");
  EXPECT_EQ(identity_etag_for(StoredCoding::GzipByCache, {}), "");
}

// ---- representation fields ----

TEST(RepresentationFields, CompressedByCache) {
  const HeaderList origin = {{"Content-Type", "application/json"},
                             {"ETag", "\"abc\""},
                             {"Content-Digest", "sha-256=:x:"},
                             {"Cache-Control", "max-age=60"}};
  const HeaderList expected = {{"Content-Type", "application/json"},
                               {"ETag", "W/\"abc-gzip\""},
                               {"Cache-Control", "max-age=60"},
                               {"Vary", "Accept-Encoding"},
                               {"Content-Encoding", "gzip"}};
  const auto gzip = gzip_representation_fields(origin, /*compressed_by_cache=*/true);
  EXPECT_EQ(gzip, expected);
  const HeaderList identity = {{"Content-Type", "application/json"},
                               {"ETag", "\"abc\""},
                               {"Cache-Control", "max-age=60"},
                               {"Vary", "Accept-Encoding"}};
  EXPECT_EQ(identity_representation_fields(gzip, "\"abc\""), identity);
}

TEST(RepresentationFields, VaryGainsAcceptEncodingOnce) {
  const auto added = gzip_representation_fields({{"Vary", "Origin"}, {"Vary", "Accept"}}, true);
  const HeaderList expected = {
      {"Vary", "Origin, Accept-Encoding"}, {"Vary", "Accept"}, {"Content-Encoding", "gzip"}};
  EXPECT_EQ(added, expected);
  const auto kept = gzip_representation_fields({{"Vary", "accept-encoding, Origin"}}, true);
  EXPECT_EQ(kept, (HeaderList{{"Vary", "accept-encoding, Origin"}, {"Content-Encoding", "gzip"}}));
  const auto empty = gzip_representation_fields({{"Vary", ""}}, true);
  EXPECT_EQ(empty, (HeaderList{{"Vary", "Accept-Encoding"}, {"Content-Encoding", "gzip"}}));
}

TEST(RepresentationFields, UpstreamGzipKeepsItsTagAndDigests) {
  const HeaderList origin = {{"ETag", "\"x\""},
                             {"Content-Encoding", "x-gzip"},
                             {"Content-Digest", "sha-256=:y:"},
                             {"Vary", "Accept-Encoding"}};
  const auto gzip = gzip_representation_fields(origin, /*compressed_by_cache=*/false);
  const HeaderList expected = {{"ETag", "\"x\""},
                               {"Content-Digest", "sha-256=:y:"},
                               {"Vary", "Accept-Encoding"},
                               {"Content-Encoding", "gzip"}};
  EXPECT_EQ(gzip, expected);
  const auto identity = identity_representation_fields(gzip, identity_etag_of_gzip("\"x\""));
  EXPECT_EQ(identity, (HeaderList{{"ETag", "W/\"x-identity\""}, {"Vary", "Accept-Encoding"}}));
}

TEST(RepresentationFields, InvalidOriginTagIsLeftOutOfTheGzipOneAndRestored) {
  const auto gzip = gzip_representation_fields({{"ETag", "abc"}}, true);
  EXPECT_EQ(gzip, (HeaderList{{"Vary", "Accept-Encoding"}, {"Content-Encoding", "gzip"}}));
  EXPECT_EQ(identity_representation_fields(gzip, "abc"),
            (HeaderList{{"Vary", "Accept-Encoding"}, {"ETag", "abc"}}));
  EXPECT_EQ(identity_representation_fields(gzip, ""), (HeaderList{{"Vary", "Accept-Encoding"}}));
}

// ---- the coding record of an entry (policy/entry.hpp) ----

TEST(EntryCodingRecord, RoundTripsBesideTagsHeadAndBody) {
  const HeaderList fields = gzip_representation_fields(
      {{"Content-Type", "application/json"}, {"ETag", "\"abc\""}}, /*compressed_by_cache=*/true);
  const EntryCoding coding{StoredCoding::GzipByCache, 70'000, "\"abc\""};
  const std::string bytes =
      encode_entry(Freshness{}, 200, "OK", fields, "\x1f\x8bgz", {}, {"t1", "t2"}, coding);
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->coding, StoredCoding::GzipByCache);
  EXPECT_TRUE(entry->gzip_coded());
  EXPECT_EQ(entry->identity_length, 70'000u);
  EXPECT_EQ(entry->identity_etag, "\"abc\"");
  EXPECT_EQ(entry->tags, "t1 t2");
  EXPECT_EQ(entry->body, "\x1f\x8bgz");
  EXPECT_EQ(entry_field(entry->head, "etag"), "W/\"abc-gzip\"");
  EXPECT_EQ(entry_field(entry->head, "content-encoding"), "gzip");
  EXPECT_EQ(origin_etag(*entry), "\"abc\"");
  // Every byte counts: a record cut short or padded is not an entry.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_entry(std::string_view(bytes).substr(0, n)).has_value()) << n;
  }
  EXPECT_FALSE(decode_entry(bytes + "x").has_value());
}

TEST(EntryCodingRecord, AnEntryServedAlikeToEveryClientHasNone) {
  const std::string plain = encode_entry(Freshness{}, 200, "OK", {{"ETag", "\"v\""}}, "body");
  const std::string as_received =
      encode_entry(Freshness{}, 200, "OK", {{"ETag", "\"v\""}}, "body", {}, {}, EntryCoding{});
  EXPECT_EQ(plain, as_received);
  const auto entry = decode_entry(plain);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->coding, StoredCoding::AsReceived);
  EXPECT_FALSE(entry->gzip_coded());
  EXPECT_EQ(origin_etag(*entry), "\"v\"");
}

TEST(EntryCodingRecord, UnknownCodingOrLineBreakInTheTagIsRejected) {
  const std::string good =
      encode_entry(Freshness{}, 200, "OK", {}, "b", {}, {},
                   EntryCoding{StoredCoding::GzipFromUpstream, 5, "W/\"x-identity\""});
  ASSERT_TRUE(decode_entry(good).has_value());
  const auto record = good.find(" 2 5 ");
  ASSERT_NE(record, std::string::npos) << good;
  std::string unknown = good;
  unknown[record + 1] = '7';
  EXPECT_FALSE(decode_entry(unknown).has_value());
  std::string as_received = good;
  as_received[record + 1] = '0';  // AsReceived never carries a record
  EXPECT_FALSE(decode_entry(as_received).has_value());
  // A tag that could split a head is not recorded at all.
  const auto split =
      decode_entry(encode_entry(Freshness{}, 200, "OK", {}, "b", {}, {},
                                EntryCoding{StoredCoding::GzipByCache, 1, "\"a\r\nX: y\""}));
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->identity_etag, "");
}

TEST(EntryCodingRecord, OriginFieldsUndoWhatCompressionAdded) {
  const HeaderList origin = {{"Content-Type", "text/html"}, {"ETag", "W/\"o\""}};
  const auto stored = gzip_representation_fields(origin, true);
  const std::string bytes = encode_entry(Freshness{}, 200, "OK", stored, "gz", {}, {},
                                         EntryCoding{StoredCoding::GzipByCache, 9, "W/\"o\""});
  const auto entry = decode_entry(bytes);
  ASSERT_TRUE(entry.has_value());
  const HeaderList back = origin_fields(*entry, parse_entry_head(entry->head).fields);
  EXPECT_EQ(back,
            (HeaderList{
                {"Content-Type", "text/html"}, {"ETag", "W/\"o\""}, {"Vary", "Accept-Encoding"}}));
  // An upstream gzip entry already holds the origin's fields.
  const std::string upstream = encode_entry(Freshness{}, 200, "OK", stored, "gz", {}, {},
                                            EntryCoding{StoredCoding::GzipFromUpstream, 9, ""});
  const auto kept = decode_entry(upstream);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(origin_fields(*kept, parse_entry_head(kept->head).fields),
            parse_entry_head(kept->head).fields);
  EXPECT_EQ(origin_etag(*kept), "W/\"o-gzip\"");
}

TEST(StoredCodingText, Names) {
  std::ostringstream os;
  os << StoredCoding::GzipFromUpstream << ' ' << StoredCoding::AsReceived;
  EXPECT_EQ(os.str(), "gzip-from-upstream as-received");
}

}  // namespace
}  // namespace cachecar::policy
