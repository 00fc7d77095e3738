#include "net/run_loop.hpp"

#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace cachecar::net {
namespace {

TEST(RunLoop, HandlersThatThrowDoNotEndTheLoop) {
  boost::asio::io_context context;
  int ran_after = 0;
  boost::asio::post(context, [] { throw std::length_error("field value too large"); });
  boost::asio::post(context, [] { throw 42; });
  boost::asio::post(context, [&] { ++ran_after; });
  int exceptions = 0;
  run_until_done(context, "test worker", [&] { ++exceptions; });
  EXPECT_EQ(exceptions, 2);
  EXPECT_EQ(ran_after, 1);
}

TEST(RunLoop, ReturnsWhenTheWorkIsDone) {
  boost::asio::io_context context;
  int ran = 0;
  boost::asio::post(context, [&] { ++ran; });
  run_until_done(context, "test worker");
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace cachecar::net
