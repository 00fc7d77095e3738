// Cache keys from request targets, as the proxy builds them. Input lines: the request target
// ("/path?query"), the rule's key_query ("*" = every param, else comma-separated names, an empty
// line = none), the bypass param (default "nocache"), a Host value. The target is normalised
// first (a malformed one is answered 400); normalising is idempotent and leaves no dot
// segments. A key must be canonical (building it again from its own path and query yields it
// unchanged) and must not depend on the bypass param; removing the bypass param must leave no
// bypass flag. A normalised Host normalises to itself.
#include "fuzz_support.hpp"
#include "policy/cache_key.hpp"
#include "policy/uri.hpp"

#include <optional>
#include <string>
#include <vector>

namespace {

using namespace cachecar::policy;

std::optional<std::vector<std::string>> parse_key_query(std::string_view line) {
  if (line == "*") return std::nullopt;
  std::vector<std::string> names;
  while (!line.empty()) {
    const auto comma = line.find(',');
    names.emplace_back(line.substr(0, comma));
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  return names;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto lines = cachecar::fuzz::split_lines(cachecar::fuzz::as_text(data, size), 4);
  if (lines.empty()) return 0;
  const auto key_query = lines.size() > 1 ? parse_key_query(lines[1]) : std::nullopt;
  const std::string_view bypass = lines.size() > 2 ? lines[2] : std::string_view("nocache");
  if (lines.size() > 3) {
    if (const auto host = normalize_host(lines[3])) FUZZ_CHECK(normalize_host(*host) == host);
  }

  const auto raw_split = split_target(lines[0]);
  FUZZ_CHECK(raw_split.path.size() + raw_split.query.size() <= lines[0].size());
  FUZZ_CHECK(raw_split.path.find('?') == std::string_view::npos);

  const auto normalized = normalize_target(lines[0]);
  if (!normalized.ok()) return 0;
  const auto again_normalized = normalize_target(normalized.target);
  FUZZ_CHECK(again_normalized.ok() && again_normalized.target == normalized.target);
  FUZZ_CHECK(remove_dot_segments(normalized.path()) == normalized.path());
  const Target split{normalized.path(), normalized.query()};

  const std::string key = build_cache_key("GET", split.path, split.query, key_query, bypass);
  const std::string prefix = "GET:" + std::string(split.path);
  FUZZ_CHECK(key.starts_with(prefix));
  FUZZ_CHECK(key.size() == prefix.size() || key[prefix.size()] == '?');

  const auto again = split_target(std::string_view(key).substr(4));
  FUZZ_CHECK(again.path == split.path);
  FUZZ_CHECK(build_cache_key("GET", again.path, again.query, key_query, bypass) == key);

  const std::string stripped = remove_query_param(split.query, bypass);
  FUZZ_CHECK(stripped.size() <= split.query.size());
  if (!bypass.empty()) {
    FUZZ_CHECK(!query_flag_set(stripped, bypass));
    FUZZ_CHECK(build_cache_key("GET", split.path, stripped, key_query, bypass) == key);
  }
  return 0;
}
