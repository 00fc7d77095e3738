#include "core/digest.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::core {
namespace {

// The test vectors of FIPS 180-4's examples (NIST CSRC) and of RFC 6234 §8.5.
TEST(Sha256Hex, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Hex, HashesEveryByteIncludingNul) {
  using namespace std::string_literals;
  const auto with_nul = sha256_hex("a\0b"s);
  EXPECT_EQ(with_nul.size(), 64u);
  EXPECT_NE(with_nul, sha256_hex("a"));
  EXPECT_NE(with_nul, sha256_hex("ab"));
}

TEST(Sha256, RawDigestMatchesHex) {
  auto digest = sha256("abc");
  ASSERT_TRUE(digest.has_value());
  EXPECT_EQ((*digest)[0], 0xba);
  EXPECT_EQ((*digest)[31], 0xad);
  EXPECT_EQ(to_hex(digest->data(), digest->size()), sha256_hex("abc"));
}

TEST(ToHex, TwoLowerCaseCharactersPerByte) {
  const std::uint8_t bytes[] = {0x00, 0x0f, 0xa0, 0xff};
  EXPECT_EQ(to_hex(bytes, sizeof bytes), "000fa0ff");
  EXPECT_EQ(to_hex(bytes, 0), "");
}

}  // namespace
}  // namespace cachecar::core
