#include "policy/vary.hpp"

#include "core/digest.hpp"
#include "core/stored_key.hpp"

#include "support/case_name.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace cachecar::policy {
namespace {

using test::CaseName;

using Fields = std::vector<std::string>;

// ---- vary_of ----

struct VaryCase {
  const char* name;
  HeaderList response;
  bool any;
  Fields fields;
};
void PrintTo(const VaryCase& c, std::ostream* os) {
  *os << c.name;
}

class VaryOfTable : public ::testing::TestWithParam<VaryCase> {};

TEST_P(VaryOfTable, Parses) {
  const auto& c = GetParam();
  const auto spec = vary_of(c.response);
  EXPECT_EQ(spec.any, c.any) << c.name;
  EXPECT_EQ(spec.fields, c.fields) << c.name;
  EXPECT_EQ(spec.varies(), c.any || !c.fields.empty()) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Vary, VaryOfTable,
    ::testing::Values(
        VaryCase{"no Vary", {{"Content-Type", "text/plain"}}, false, {}},
        VaryCase{"empty Vary", {{"Vary", ""}}, false, {}},
        VaryCase{"one field, lower-cased", {{"Vary", "Origin"}}, false, {"origin"}},
        VaryCase{"sorted, trimmed, unique over every line",
                 {{"vary", " User-Agent ,Origin"}, {"Content-Type", "x"}, {"VARY", "origin, ,"}},
                 false,
                 {"origin", "user-agent"}},
        VaryCase{"star", {{"Vary", "*"}}, true, {}},
        VaryCase{"star among names",
                 {{"Vary", "Origin"}, {"Vary", "Accept, *"}},
                 true,
                 {"accept", "origin"}},
        // An identity body is the same whatever the client accepts.
        VaryCase{"Accept-Encoding without Content-Encoding",
                 {{"Vary", "Origin, Accept-Encoding"}},
                 false,
                 {"origin"}},
        VaryCase{"Accept-Encoding with Content-Encoding: identity",
                 {{"Vary", "accept-encoding"}, {"Content-Encoding", "Identity"}},
                 false,
                 {}},
        VaryCase{"Accept-Encoding with an encoded body",
                 {{"Vary", "Origin, Accept-Encoding"}, {"Content-Encoding", "gzip"}},
                 false,
                 {"accept-encoding", "origin"}},
        VaryCase{"Accept-Encoding with gzip after identity",
                 {{"Vary", "Accept-Encoding"},
                  {"Content-Encoding", "identity"},
                  {"Content-Encoding", "br"}},
                 false,
                 {"accept-encoding"}}),
    CaseName{});

// ---- normalized_request_field ----

struct NormalizeCase {
  const char* name;
  HeaderList request;
  std::string field;
  std::optional<std::string> expected;
};
void PrintTo(const NormalizeCase& c, std::ostream* os) {
  *os << c.name;
}

class NormalizeTable : public ::testing::TestWithParam<NormalizeCase> {};

TEST_P(NormalizeTable, Normalises) {
  const auto& c = GetParam();
  EXPECT_EQ(normalized_request_field(c.request, c.field), c.expected) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Vary, NormalizeTable,
    ::testing::Values(
        NormalizeCase{"absent", {{"Accept", "text/html"}}, "origin", std::nullopt},
        NormalizeCase{"present but empty", {{"Origin", ""}}, "origin", ""},
        NormalizeCase{"one value, name case-insensitive",
                      {{"Origin", "https://a.example"}},
                      "ORIGIN",
                      "https://a.example"},
        NormalizeCase{"lines combined with a comma (RFC 9110 §5.3)",
                      {{"Accept-Language", "en"}, {"Host", "h"}, {"accept-language", "fr;q=0.5"}},
                      "accept-language",
                      "en, fr;q=0.5"},
        NormalizeCase{"items trimmed, empty items dropped, order kept",
                      {{"Accept-Language", " fr ,  en,,de "}},
                      "accept-language",
                      "fr, en, de"},
        NormalizeCase{"inner whitespace and case kept outside Accept-Encoding",
                      {{"User-Agent", "Mozilla/5.0 (X11;  Linux)"}},
                      "user-agent",
                      "Mozilla/5.0 (X11;  Linux)"},
        NormalizeCase{"only empty items", {{"Accept-Language", " , "}}, "accept-language", ""},
        NormalizeCase{"Accept-Encoding codings lower-cased and sorted",
                      {{"Accept-Encoding", "GZIP, br"}, {"Accept-Encoding", "Deflate"}},
                      "accept-encoding",
                      "br, deflate, gzip"},
        NormalizeCase{"Accept-Encoding weights kept without whitespace",
                      {{"Accept-Encoding", "gzip ; Q=0.5,  br;q=1.0 , identity"}},
                      "accept-encoding",
                      "br;q=1.0, gzip;q=0.5, identity"}),
    CaseName{});

// ---- vary_secondary_key ----

std::string key(const Fields& fields, const HeaderList& request) {
  return vary_secondary_key(fields, request);
}

TEST(VarySecondaryKey, SeparatorPrefixAndBoundedHash) {
  const auto k = key({"origin"}, {{"Origin", std::string(10'000, 'x')}});
  const std::string prefix = std::string(1, core::kSecondaryKeySeparator) + "vary=";
  ASSERT_EQ(k.substr(0, prefix.size()), prefix);
  const auto hash = k.substr(prefix.size());
  EXPECT_EQ(hash.size(), 32u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << hash;
}

TEST(VarySecondaryKey, HashesNameAndValueInFieldOrder) {
  using namespace std::string_literals;
  const std::string prefix = std::string(1, core::kSecondaryKeySeparator) + "vary=";
  const auto expected = "origin\n\x01https://a.example\n"s + "user-agent\n\x00\n"s;
  EXPECT_EQ(key({"origin", "user-agent"}, {{"Origin", "https://a.example"}}),
            prefix + core::sha256_hex(expected).substr(0, 32));
}

TEST(VarySecondaryKey, Table) {
  const Fields origin = {"origin"};
  const Fields lang = {"accept-language"};
  const Fields enc = {"accept-encoding"};
  const Fields two = {"accept-encoding", "origin"};

  // Absent differs from empty; both differ from a value.
  const auto absent = key(origin, {});
  const auto empty = key(origin, {{"Origin", ""}});
  const auto a = key(origin, {{"Origin", "https://a.example"}});
  EXPECT_NE(absent, empty);
  EXPECT_NE(absent, a);
  EXPECT_NE(empty, a);
  EXPECT_EQ(absent, key(origin, {{"Accept", "x"}}));  // other fields do not count

  // Different values, different keys; same value, same key.
  EXPECT_NE(a, key(origin, {{"Origin", "https://b.example"}}));
  EXPECT_EQ(a, key(origin, {{"Host", "h"}, {"Origin", "https://a.example"}}));

  // Whitespace around list items does not make a new variant.
  EXPECT_EQ(key(lang, {{"Accept-Language", "en,fr"}}),
            key(lang, {{"Accept-Language", " en ,  fr "}}));
  EXPECT_EQ(key(lang, {{"Accept-Language", "en, fr"}}),
            key(lang, {{"Accept-Language", "en"}, {"Accept-Language", "fr"}}));
  // List order is significant (preference order, RFC 9110 §12.5.4)...
  EXPECT_NE(key(lang, {{"Accept-Language", "en, fr"}}), key(lang, {{"Accept-Language", "fr, en"}}));
  EXPECT_NE(key(lang, {{"Accept-Language", "en"}, {"Accept-Language", "fr"}}),
            key(lang, {{"Accept-Language", "fr"}, {"Accept-Language", "en"}}));
  // ...except for Accept-Encoding, whose codings carry their own weights (§12.5.3).
  EXPECT_EQ(key(enc, {{"Accept-Encoding", "gzip, br"}}),
            key(enc, {{"Accept-Encoding", "br"}, {"Accept-Encoding", "GZIP"}}));
  EXPECT_NE(key(enc, {{"Accept-Encoding", "gzip"}}), key(enc, {{"Accept-Encoding", "br"}}));
  EXPECT_NE(key(enc, {{"Accept-Encoding", "gzip;q=0.5"}}), key(enc, {{"Accept-Encoding", "gzip"}}));

  // Each field is named: the same value under another field is another key, and values cannot
  // shift from one field to the next.
  EXPECT_NE(key(origin, {{"Origin", "x"}}), key(lang, {{"Accept-Language", "x"}}));
  EXPECT_NE(key(two, {{"Accept-Encoding", "gzip"}}), key(two, {{"Origin", "gzip"}}));
  EXPECT_NE(key(two, {{"Accept-Encoding", "gzip"}, {"Origin", ""}}),
            key(two, {{"Accept-Encoding", "gzip"}}));
  // Field names from the spec are case-insensitive.
  EXPECT_EQ(key({"Origin"}, {{"origin", "x"}}), key(origin, {{"ORIGIN", "x"}}));
}

TEST(VarySecondaryKey, ManyDistinctValuesManyDistinctKeys) {
  std::set<std::string> keys;
  for (int i = 0; i < 1000; ++i) {
    keys.insert(key({"origin"}, {{"Origin", "https://" + std::to_string(i) + ".example"}}));
  }
  EXPECT_EQ(keys.size(), 1000u);
}

}  // namespace
}  // namespace cachecar::policy
