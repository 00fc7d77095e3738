#include "policy/http_view.hpp"

#include "core/strings.hpp"

#include <algorithm>
#include <array>

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

bool is_hop_by_hop(std::string_view name) noexcept {
  static constexpr std::array<std::string_view, 9> kHopByHop = {
      "connection",
      "keep-alive",
      "proxy-connection",
      "proxy-authenticate",
      "proxy-authorization",
      "te",
      "trailer",
      "transfer-encoding",
      "upgrade",
  };
  return std::any_of(kHopByHop.begin(), kHopByHop.end(),
                     [&](std::string_view hop) { return core::iequals(hop, name); });
}

bool named_in_connection(std::string_view connection_value, std::string_view name) noexcept {
  bool found = false;
  core::for_each_list_item(connection_value, [&](std::string_view option) {
    if (core::iequals(option, name)) found = true;
  });
  return found;
}

bool named_in_connection(const HeaderList& headers, std::string_view name) noexcept {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& field) {
    return core::iequals(field.first, "connection") && named_in_connection(field.second, name);
  });
}

}  // namespace cachecar::policy
