#include "admin/auth.hpp"

#include "core/strings.hpp"

namespace cachecar::admin {

bool constant_time_equals(std::string_view presented, std::string_view expected) noexcept {
  if (expected.empty()) return presented.empty();
  // Every byte of `presented` is compared (against `expected` repeated), and differences are
  // OR-ed together without branching on them.
  std::size_t diff = presented.size() ^ expected.size();
  for (std::size_t i = 0; i < presented.size(); ++i) {
    diff |= static_cast<unsigned char>(presented[i]) ^
            static_cast<unsigned char>(expected[i % expected.size()]);
  }
  return diff == 0;
}

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
  return constant_time_equals(credentials, token) ? AuthResult::Allowed : AuthResult::Invalid;
}

}  // namespace cachecar::admin
