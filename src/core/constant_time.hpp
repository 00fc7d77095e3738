// Comparison of secrets (tokens) whose timing does not reveal where they differ. Pure.
#pragma once

#include <string_view>

namespace cachecar::core {

// True when `presented` equals `expected`. The time taken depends only on presented.size(),
// never on where the two differ or on `expected`'s length, so timing does not reveal the
// token byte by byte. `expected` must not be empty.
bool constant_time_equals(std::string_view presented, std::string_view expected) noexcept;

}  // namespace cachecar::core
