// Reading samples out of a Prometheus text exposition (what the admin API's /metrics answers).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

namespace cachecar::test {

// The value of the sample `series` ("name" or "name{labels}", labels as cachecar writes them),
// or nullopt when absent.
inline std::optional<std::string> metric_sample(const std::string& text,
                                                const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  }
  return std::nullopt;
}

// The sample's value as a number, 0 when absent.
inline double metric_value(const std::string& text, const std::string& series) {
  const auto value = metric_sample(text, series);
  return value ? std::stod(*value) : 0;
}

// Prometheus's promtool on PATH (Debian package prometheus, which scripts/install-deps.sh
// installs), or nullopt.
inline std::optional<std::string> find_promtool() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const auto candidate = std::filesystem::path(dir) / "promtool";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return std::nullopt;
}

}  // namespace cachecar::test
