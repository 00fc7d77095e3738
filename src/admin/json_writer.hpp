// A minimal streaming JSON writer for the admin API's small response bodies. Numbers are
// written the way people read them ("0.714", not Boost.JSON's "7.14E-1").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::admin {

// Usage: JsonWriter w; w.begin_object().key("a").value(1).end_object(); w.str().
// The caller keeps the structure well-formed (keys only inside objects, balanced begin/end).
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  // Rounded to `decimals` places, shortest form ("0.714", "1", "0").
  JsonWriter& value(double number, int decimals = 3);
  JsonWriter& value(bool flag);
  JsonWriter& null();

  const std::string& str() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace cachecar::admin
