// Bearer-token check for the admin API's state-changing routes. Pure: no I/O, no Beast.
#pragma once

#include <ostream>
#include <string_view>

namespace cachecar::admin {

enum class AuthResult {
  Allowed,  // no token configured, or the right bearer token
  Missing,  // a token is configured, the request carries no Authorization header
  Invalid,  // wrong scheme, or wrong token
};
std::ostream& operator<<(std::ostream& os, AuthResult result);

// Checks an Authorization header value ("" when absent) against the configured token ("" =
// authentication disabled). Accepts "Bearer <token>", scheme case-insensitive (RFC 9110 11.1).
AuthResult check_bearer(std::string_view authorization, std::string_view token) noexcept;

}  // namespace cachecar::admin
