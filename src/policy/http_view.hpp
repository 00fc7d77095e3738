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

// The connection-level fields of RFC 9110 §7.6.1 (and the obsolete Keep-Alive and
// Proxy-Connection) that a proxy neither forwards nor stores.
bool is_hop_by_hop(std::string_view name) noexcept;

// True when `name` is one of the options of a Connection field value: such a field is
// hop-by-hop too (RFC 9110 §7.6.1).
bool named_in_connection(std::string_view connection_value, std::string_view name) noexcept;
// The same over every Connection line of `headers` (RFC 9110 §5.3: lines combine into one
// list).
bool named_in_connection(const HeaderList& headers, std::string_view name) noexcept;

// The parts of a response that decide whether it may be stored.
struct ResponseView {
  int status = 0;
  const HeaderList* headers = nullptr;  // never null when passed to policy functions
};

}  // namespace cachecar::policy
