// Plain data views of HTTP messages for policy decisions: policy never sees Beast or sockets.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cachecar::policy {

// Header fields in wire order; names keep the upstream's spelling, lookups are case-insensitive.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// First value of a header (case-insensitive name), or empty view when absent.
std::string_view find_header(const HeaderList& headers, std::string_view name);
bool has_header(const HeaderList& headers, std::string_view name);

// The parts of a response that decide whether it may be stored.
struct ResponseView {
  int status = 0;
  const HeaderList* headers = nullptr;  // never null when passed to policy functions
};

}  // namespace cachecar::policy
