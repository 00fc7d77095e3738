#include "admin/json_writer.hpp"

#include <gtest/gtest.h>

namespace cachecar::admin {
namespace {

TEST(JsonWriter, NestedContainersWithSeparators) {
  JsonWriter w;
  w.begin_object();
  w.key("a").value(std::uint64_t{1});
  w.key("b").begin_array();
  w.begin_array().value("k").value(std::uint64_t{7}).end_array();
  w.begin_array().value("j").value(std::uint64_t{2}).end_array();
  w.end_array();
  w.key("c").begin_object().key("x").null().end_object();
  w.key("d").value(true);
  w.key("e").begin_array().end_array();
  w.end_object();
  EXPECT_EQ(w.str(),
            R"({"a": 1, "b": [["k", 7], ["j", 2]], "c": {"x": null}, "d": true, "e": []})");
}

TEST(JsonWriter, NumbersAsPeopleWriteThem) {
  const auto one = [](double v) {
    JsonWriter w;
    w.value(v);
    return w.take();
  };
  EXPECT_EQ(one(5.0 / 7.0), "0.714");
  EXPECT_EQ(one(1.0), "1");
  EXPECT_EQ(one(0.0), "0");
  EXPECT_EQ(one(-0.0001), "0");
  EXPECT_EQ(one(12.3456), "12.346");
  JsonWriter w;
  w.value(std::int64_t{-3});
  EXPECT_EQ(w.str(), "-3");
}

TEST(JsonWriter, EscapesStrings) {
  JsonWriter w;
  w.begin_object().key("k\"").value("a\\b\n\x01").end_object();
  EXPECT_EQ(w.str(), R"({"k\"": "a\\b\n\u0001"})");
}

TEST(JsonWriter, KeepsUtf8AndReplacesBytesThatAreNotUtf8) {
  JsonWriter w;
  // é (2 bytes), € (3), 😀 (4) stay; a lone 0xff, a truncated sequence, an overlong '/', and an
  // encoded surrogate each become U+FFFD, so a key with raw bytes cannot break /metrics/cache.
  w.begin_array()
      .value("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")
      .value("GET:/a\xff")
      .value("\xe2\x82")
      .value("\xc0\xaf")
      .value("\xed\xa0\x80x")
      .end_array();
  EXPECT_EQ(w.str(),
            "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\", \"GET:/a\\ufffd\", "
            "\"\\ufffd\\ufffd\", \"\\ufffd\\ufffd\", \"\\ufffd\\ufffd\\ufffdx\"]");
}

}  // namespace
}  // namespace cachecar::admin
