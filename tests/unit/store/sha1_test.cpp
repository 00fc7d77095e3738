// sha1_hex names the Lua scripts for EVALSHA, so it must be exactly Redis's SHA-1 hex.
#include "store/redis/redis_store.hpp"

#include <gtest/gtest.h>

namespace cachecar::store::redis {
namespace {

TEST(Sha1Hex, MatchesTheStandardTestVectors) {
  // FIPS 180-2 appendix A and the empty message.
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(Sha1Hex, IsLowerCaseHexOfFortyDigits) {
  const auto sha = sha1_hex(RedisStore::put_script().body);
  ASSERT_EQ(sha.size(), 40u);
  EXPECT_EQ(sha.find_first_not_of("0123456789abcdef"), std::string::npos) << sha;
  EXPECT_EQ(RedisStore::put_script().sha1, sha);
}

}  // namespace
}  // namespace cachecar::store::redis
