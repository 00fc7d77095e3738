#include "store/variant_index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachecar::store {
namespace {

using Fields = std::vector<std::string>;

const std::string kA = " vary=0123456789abcdef0123456789abcdef";
const std::string kB = " vary=fedcba9876543210fedcba9876543210";

TEST(VariantIndex, EncodesTheDocumentedFormat) {
  EXPECT_EQ(encode_variant_index({"accept-encoding", "origin"}, {kA, kB}),
            "CCV1 accept-encoding,origin\n" + kA + "\n" + kB + "\n");
  EXPECT_EQ(encode_variant_index({"origin"}, {}), "CCV1 origin\n");
}

TEST(VariantIndex, RoundTrips) {
  const auto index = encode_variant_index({"accept-encoding", "origin"}, {kA, kB});
  EXPECT_TRUE(is_variant_index(index));
  EXPECT_EQ(variant_index_fields(index), (Fields{"accept-encoding", "origin"}));
  EXPECT_EQ(variant_index_members(index), (Fields{kA, kB}));
  const auto empty = encode_variant_index({"origin"}, {});
  EXPECT_EQ(variant_index_fields(empty), Fields{"origin"});
  EXPECT_TRUE(variant_index_members(empty).empty());
}

// Host and Vary secondary keys both start with the separator; members are kept as given.
TEST(VariantIndex, MembersMayBeAnySecondaryKey) {
  const auto index = encode_variant_index({"x-tenant"}, {" host=h vary=1", " vary=2"});
  EXPECT_EQ(variant_index_members(index), (Fields{" host=h vary=1", " vary=2"}));
}

struct Malformed {
  std::string name;
  std::string value;
};

class MalformedIndex : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedIndex, HasNoFieldsAndNoMembers) {
  EXPECT_EQ(variant_index_fields(GetParam().value), std::nullopt);
  EXPECT_TRUE(variant_index_members(GetParam().value).empty());
}

INSTANTIATE_TEST_SUITE_P(
    Strict, MalformedIndex,
    ::testing::Values(Malformed{"empty", ""}, Malformed{"an entry", "CC1 stored response"},
                      Malformed{"other magic", "CCV2 origin\n"}, Malformed{"magic only", "CCV1 "},
                      Malformed{"no line end", "CCV1 origin"}, Malformed{"no fields", "CCV1 \n"},
                      Malformed{"empty field", "CCV1 a,,b\n"},
                      Malformed{"trailing comma", "CCV1 origin,\n"},
                      Malformed{"upper case field", "CCV1 Origin\n"},
                      Malformed{"space in field", "CCV1 a b\n"},
                      Malformed{"member without line end", "CCV1 origin\n vary=1"},
                      Malformed{"member without separator", "CCV1 origin\nvary=1\n"},
                      Malformed{"empty member", "CCV1 origin\n vary=1\n\n"},
                      Malformed{"separator only", "CCV1 origin\n \n"},
                      Malformed{"carriage return", "CCV1 origin\r\n vary=1\n"}),
    [](const ::testing::TestParamInfo<Malformed>& param_info) {
      std::string name = param_info.param.name;
      for (auto& c : name) {
        if (c == ' ') c = '_';
      }
      return name;
    });

TEST(VariantIndex, AVariantFillMustExtendItsPrimaryKeyWithASecondaryKey) {
  const VariantFill good{"GET:/a host=h", {"origin"}, "GET:/a host=h" + kA, 8};
  EXPECT_EQ(variant_secondary_key(good), kA);
  auto other_primary = good;
  other_primary.variant_key = "GET:/b host=h" + kA;
  auto no_separator = good;
  no_separator.variant_key = good.primary_key + "vary=1";
  auto same_key = good;
  same_key.variant_key = good.primary_key;
  auto line_break = good;
  line_break.variant_key = good.primary_key + " vary=1\n";
  auto no_fields = good;
  no_fields.fields.clear();
  auto bad_field = good;
  bad_field.fields = {"Origin"};
  for (const auto& bad :
       {other_primary, no_separator, same_key, line_break, no_fields, bad_field}) {
    EXPECT_EQ(variant_secondary_key(bad), std::nullopt) << bad.variant_key;
  }
}

}  // namespace
}  // namespace cachecar::store
