// Request-body validation for the product API: pure, no I/O.
#pragma once

#include "product_api/catalog.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::product_api {

struct FieldError {
  std::string field;    // "name", "price", ... or "body" for the document itself
  std::string message;  // human readable
};

struct ValidationResult {
  ProductFields fields;
  std::vector<FieldError> errors;  // empty = valid
};

enum class Mode { Create, Update };

// Nullopt when `body` is not JSON at all (-> 400). Otherwise the fields and every field error
// (-> 422): the body must be an object; unknown fields are rejected; name is a string of 1-200
// characters; description a string of at most 2000 characters; price a number > 0;
// stock_quantity an integer >= 0. Create requires name, price and stock_quantity.
std::optional<ValidationResult> validate_product(std::string_view body, Mode mode);

// {"detail": [{"loc": ["body", field], "msg": message, "type": "value_error"}, ...]}
std::string errors_json(const std::vector<FieldError>& errors);

}  // namespace cachecar::product_api
