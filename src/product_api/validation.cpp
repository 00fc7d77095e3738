#include "product_api/validation.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>

namespace cachecar::product_api {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxNameChars = 200;
constexpr std::size_t kMaxDescriptionChars = 2000;

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::optional<double> as_number(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

}  // namespace

std::optional<ValidationResult> validate_product(std::string_view body, Mode mode) {
  boost::system::error_code ec;
  const json::value document = json::parse(body, ec);
  if (ec) return std::nullopt;

  ValidationResult result;
  auto error = [&result](std::string field, std::string message) {
    result.errors.push_back({std::move(field), std::move(message)});
  };
  if (!document.is_object()) {
    error("body", "must be a JSON object");
    return result;
  }
  const auto& object = document.get_object();
  for (const auto& [key, value] : object) {
    const std::string_view name(key.data(), key.size());
    if (name == "name") {
      if (!value.is_string()) {
        error("name", "must be a string");
        continue;
      }
      const std::string_view text(value.get_string().data(), value.get_string().size());
      const auto length = utf8_length(text);
      if (length < 1 || length > kMaxNameChars) {
        error("name", "must be 1 to 200 characters long");
        continue;
      }
      result.fields.name = std::string(text);
    } else if (name == "description") {
      if (!value.is_string()) {
        error("description", "must be a string");
        continue;
      }
      const std::string_view text(value.get_string().data(), value.get_string().size());
      if (utf8_length(text) > kMaxDescriptionChars) {
        error("description", "must be at most 2000 characters long");
        continue;
      }
      result.fields.description = std::string(text);
    } else if (name == "price") {
      const auto price = as_number(value);
      if (!price || !std::isfinite(*price)) {
        error("price", "must be a number");
      } else if (*price <= 0) {
        error("price", "must be greater than 0");
      } else {
        result.fields.price = *price;
      }
    } else if (name == "stock_quantity") {
      if (value.is_int64() && value.get_int64() >= 0) {
        result.fields.stock_quantity = value.get_int64();
      } else if (value.is_int64() || (value.is_double() && value.get_double() < 0)) {
        error("stock_quantity", "must be greater than or equal to 0");
      } else {
        error("stock_quantity", "must be an integer");
      }
    } else {
      error(std::string(name), "unknown field");
    }
  }
  if (mode == Mode::Create) {
    if (!object.contains("name")) error("name", "field required");
    if (!object.contains("price")) error("price", "field required");
    if (!object.contains("stock_quantity")) error("stock_quantity", "field required");
  }
  return result;
}

std::string errors_json(const std::vector<FieldError>& errors) {
  json::array detail;
  for (const auto& e : errors) {
    json::array loc{"body"};
    if (e.field != "body") loc.emplace_back(e.field);
    detail.push_back(json::object{{"loc", loc}, {"msg", e.message}, {"type", "value_error"}});
  }
  return json::serialize(json::object{{"detail", detail}});
}

}  // namespace cachecar::product_api
