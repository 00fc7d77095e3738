#include "core/units.hpp"

#include <charconv>
#include <limits>

namespace cachecar::core {
namespace {

// Splits "90s" into 90 and "s"; nullopt unless the text starts with digits.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  return std::pair{value, text.substr(static_cast<std::size_t>(end - text.data()))};
}

std::optional<std::uint64_t> checked_multiply(std::uint64_t value, std::uint64_t factor) {
  if (factor != 0 && value > std::numeric_limits<std::uint64_t>::max() / factor)
    return std::nullopt;
  return value * factor;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  auto [value, unit] = *parts;
  std::uint64_t factor_ms = 0;
  if (unit.empty() || unit == "s") {
    factor_ms = 1000;
  } else if (unit == "ms") {
    factor_ms = 1;
  } else if (unit == "m") {
    factor_ms = 60'000;
  } else if (unit == "h") {
    factor_ms = 3'600'000;
  } else if (unit == "d") {
    factor_ms = 86'400'000;
  } else {
    return std::nullopt;
  }
  auto ms = checked_multiply(value, factor_ms);
  if (!ms || *ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  auto [value, unit] = *parts;
  struct Unit {
    std::string_view suffix;
    std::uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", 1ULL << 10},
      {"MiB", 1ULL << 20},
      {"GiB", 1ULL << 30},
      {"KB", 1000},
      {"MB", 1000'000},
      {"GB", 1000'000'000},
  };
  for (const auto& u : kUnits) {
    if (unit == u.suffix) return checked_multiply(value, u.factor);
  }
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace cachecar::core
