#include "core/gzip.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <sstream>
#include <string>

namespace cachecar::core {
namespace {

std::string json_like(std::size_t bytes) {
  std::string out = "[";
  for (int i = 0; out.size() < bytes; ++i) {
    out += "{\"id\": " + std::to_string(i) + ", \"name\": \"Product " + std::to_string(i) + "\"},";
  }
  out.resize(bytes);
  return out;
}

std::string random_bytes(std::size_t bytes, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(bytes, '\0');
  for (auto& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

std::string compressed(std::string_view data, int level = 6) {
  auto out = gzip_compress(data, level);
  EXPECT_TRUE(out.has_value()) << out.error().message();
  return out ? *out : std::string();
}

TEST(Gzip, RoundTripsAtEveryLevel) {
  const std::string body = json_like(64 * 1024);
  for (int level = kMinGzipLevel; level <= kMaxGzipLevel; ++level) {
    const std::string packed = compressed(body, level);
    EXPECT_LT(packed.size(), body.size() / 4) << "level " << level;
    auto unpacked = gzip_decompress(packed, body.size());
    ASSERT_TRUE(unpacked.has_value()) << "level " << level << ": " << unpacked.error().message();
    EXPECT_EQ(*unpacked, body) << "level " << level;
  }
}

TEST(Gzip, OutputIsAGzipMember) {
  const std::string packed = compressed("hello");
  ASSERT_GE(packed.size(), 18u);  // 10-byte header, 8-byte trailer (RFC 1952 §2.3)
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0x8b);
  EXPECT_EQ(packed[2], 8);  // CM = deflate
  // ISIZE: the input size mod 2^32, little-endian, last four bytes.
  EXPECT_EQ(packed.substr(packed.size() - 4), std::string("\x05\x00\x00\x00", 4));
}

TEST(Gzip, SameInputAndLevelGiveTheSameBytes) {
  const std::string body = json_like(10'000);
  EXPECT_EQ(compressed(body, 6), compressed(body, 6));
}

TEST(Gzip, EmptyAndIncompressibleInputsRoundTrip) {
  for (const std::string& body : {std::string(), random_bytes(5000, 7), std::string(1, '\0')}) {
    auto unpacked = gzip_decompress(compressed(body), body.size());
    ASSERT_TRUE(unpacked.has_value()) << unpacked.error().message();
    EXPECT_EQ(*unpacked, body);
  }
}

TEST(Gzip, RejectsLevelsOutsideOneToNine) {
  for (int level : {-1, 0, 10, 100}) {
    auto out = gzip_compress("x", level);
    ASSERT_FALSE(out.has_value()) << level;
    EXPECT_EQ(out.error(), gzip_errc::invalid_level);
  }
}

TEST(Gzip, LimitIsExactlyTheOutputSize) {
  const std::string body = json_like(10'000);
  const std::string packed = compressed(body);
  EXPECT_TRUE(gzip_decompress(packed, body.size()).has_value());
  auto over = gzip_decompress(packed, body.size() - 1);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error(), gzip_errc::too_large);
}

// A small input that expands a thousandfold: the limit stops it, whatever the hint claims.
TEST(Gzip, BombStopsAtTheLimit) {
  const std::string bomb = compressed(std::string(16 << 20, 'a'), 9);
  ASSERT_LT(bomb.size(), 32u * 1024);
  for (std::size_t hint : {std::size_t{0}, std::size_t{1} << 40, std::size_t{16 << 20}}) {
    auto out = gzip_decompress(bomb, 1 << 20, hint);
    ASSERT_FALSE(out.has_value()) << "hint " << hint;
    EXPECT_EQ(out.error(), gzip_errc::too_large) << "hint " << hint;
  }
}

TEST(Gzip, SizeHintIsOnlyAHint) {
  const std::string body = json_like(20'000);
  const std::string packed = compressed(body);
  for (std::size_t hint : {std::size_t{1}, body.size(), body.size() * 10}) {
    auto out = gzip_decompress(packed, body.size() * 2, hint);
    ASSERT_TRUE(out.has_value()) << "hint " << hint;
    EXPECT_EQ(*out, body);
  }
}

TEST(Gzip, ConcatenatedMembersDecodeAsOne) {
  const std::string packed = compressed("hello, ") + compressed("world");
  auto out = gzip_decompress(packed, 100);
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(*out, "hello, world");
}

TEST(Gzip, CorruptInputIsAnErrorValue) {
  const std::string body = json_like(10'000);
  const std::string packed = compressed(body);

  std::string bad_crc = packed;
  bad_crc[bad_crc.size() - 6] ^= 0x55;  // CRC-32 in the trailer
  std::string bad_data = packed;
  bad_data[20] ^= 0x7f;
  std::string bad_magic = packed;
  bad_magic[0] = 'x';
  const std::string trailing = packed + "garbage";

  for (const auto& [name, input] :
       {std::pair{"crc", bad_crc}, std::pair{"data", bad_data}, std::pair{"magic", bad_magic},
        std::pair{"trailing", trailing}, std::pair{"plain text", body}}) {
    auto out = gzip_decompress(input, body.size() * 2);
    EXPECT_FALSE(out.has_value()) << name;
    if (!out) {
      EXPECT_EQ(out.error().category(), gzip_category()) << name;
    }
  }
}

TEST(Gzip, TruncatedInputIsAnErrorValue) {
  const std::string packed = compressed(json_like(10'000));
  for (std::size_t keep : {std::size_t{0}, std::size_t{5}, packed.size() / 2, packed.size() - 1}) {
    auto out = gzip_decompress(packed.substr(0, keep), 1 << 20);
    ASSERT_FALSE(out.has_value()) << keep;
    EXPECT_TRUE(out.error() == gzip_errc::truncated || out.error() == gzip_errc::corrupt) << keep;
  }
  auto empty = gzip_decompress("", 100);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error(), gzip_errc::truncated);
}

TEST(Gzip, ArbitraryBytesNeverThrow) {
  for (unsigned seed = 0; seed < 200; ++seed) {
    std::string input = random_bytes(seed % 64 + 1, seed);
    if (seed % 2 == 0) input.replace(0, 2, "\x1f\x8b");  // past the magic, into the header
    EXPECT_NO_THROW({ (void)gzip_decompress(input, 1 << 16); });
  }
}

TEST(GzipErrc, MessagesNameTheProblem) {
  EXPECT_EQ(make_error_code(gzip_errc::too_large).message(), "decompressed size exceeds the limit");
  std::ostringstream os;
  os << gzip_errc::corrupt;
  EXPECT_EQ(os.str(), "not a valid gzip stream");
}

}  // namespace
}  // namespace cachecar::core
