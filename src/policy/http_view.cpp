#include "policy/http_view.hpp"

#include "core/strings.hpp"

namespace cachecar::policy {

std::string_view find_header(const HeaderList& headers, std::string_view name) {
  for (const auto& [field, value] : headers) {
    if (core::iequals(field, name)) return value;
  }
  return {};
}

bool has_header(const HeaderList& headers, std::string_view name) {
  for (const auto& field : headers) {
    if (core::iequals(field.first, name)) return true;
  }
  return false;
}

}  // namespace cachecar::policy
