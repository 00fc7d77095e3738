#include "core/constant_time.hpp"

#include <cstddef>

namespace cachecar::core {

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

}  // namespace cachecar::core
