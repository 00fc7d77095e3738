#include "core/reason_phrase.hpp"

#include <gtest/gtest.h>

namespace cachecar::core {
namespace {

TEST(ReasonPhrase, IsRfc9110sPhrase) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(204), "No Content");
  EXPECT_EQ(reason_phrase(304), "Not Modified");
  EXPECT_EQ(reason_phrase(400), "Bad Request");
  EXPECT_EQ(reason_phrase(413), "Content Too Large");  // RFC 9110 §15.5.14, not "Payload ..."
  EXPECT_EQ(reason_phrase(422), "Unprocessable Content");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(502), "Bad Gateway");
  EXPECT_EQ(reason_phrase(504), "Gateway Timeout");
}

TEST(ReasonPhrase, IsUnknownForUnregisteredCodes) {
  for (int status : {0, 99, 199, 299, 418, 499, 599, 999, -1}) {
    EXPECT_EQ(reason_phrase(status), "Unknown") << status;
  }
}

}  // namespace
}  // namespace cachecar::core
