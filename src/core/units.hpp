// Parsing and printing of the human units used in configuration: durations and byte sizes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cachecar::core {

// "100ms", "90s", "5m", "24h", or a bare integer number of seconds. Nullopt when malformed
// or negative.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "512", "64KiB", "1MiB", "2GiB" (also KB/MB/GB as powers of 1000). Nullopt when malformed.
std::optional<std::uint64_t> parse_size(std::string_view text);

// Shortest exact rendering: 1500ms -> "1500ms", 90000ms -> "90s", 3600000ms -> "1h".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace cachecar::core
