#include "admin/auth.hpp"

#include "core/constant_time.hpp"
#include "core/strings.hpp"

namespace cachecar::admin {

std::ostream& operator<<(std::ostream& os, AuthResult result) {
  switch (result) {
    case AuthResult::Allowed:
      return os << "allowed";
    case AuthResult::Missing:
      return os << "missing";
    case AuthResult::Invalid:
      return os << "invalid";
  }
  return os << "unknown";
}

AuthResult check_bearer(std::string_view authorization, std::string_view token) noexcept {
  if (token.empty()) return AuthResult::Allowed;
  authorization = core::trim(authorization);
  if (authorization.empty()) return AuthResult::Missing;
  const auto space = authorization.find(' ');
  if (space == std::string_view::npos) return AuthResult::Invalid;
  if (!core::iequals(authorization.substr(0, space), "Bearer")) return AuthResult::Invalid;
  const auto credentials = core::trim(authorization.substr(space + 1));
  return core::constant_time_equals(credentials, token) ? AuthResult::Allowed : AuthResult::Invalid;
}

}  // namespace cachecar::admin
