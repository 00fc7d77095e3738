#include "config/env_expand.hpp"

namespace cachecar::config {
namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

}  // namespace

std::string expand_env_references(std::string_view text, std::string_view source,
                                  const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  int line = 1;
  char quote = 0;           // inside '...' or "..." on this line
  bool in_comment = false;  // after a '#' that starts a YAML comment
  auto fail = [&](const std::string& message) {
    throw ConfigError(std::string(source) + ":" + std::to_string(line) + ": " + message);
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      quote = 0;
      in_comment = false;
      out.push_back(c);
      continue;
    }
    if (in_comment) {
      out.push_back(c);
      continue;
    }
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#' &&
               (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n')) {
      in_comment = true;
      out.push_back(c);
      continue;
    }
    if (c == '$' && text.substr(i, 3) == "$${") {
      out.append("${");
      i += 2;
      continue;
    }
    if (c != '$' || text.substr(i, 2) != "${") {
      out.push_back(c);
      continue;
    }
    const auto close = text.find('}', i + 2);
    const auto newline = text.find('\n', i + 2);
    if (close == std::string_view::npos || close > newline) {
      fail("unterminated ${...} reference");
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    std::size_t name_end = 0;
    while (name_end < inner.size() && is_name_char(inner[name_end])) ++name_end;
    const std::string_view name = inner.substr(0, name_end);
    if (name.empty() || !is_name_start(name.front())) {
      fail("invalid environment reference '${" + std::string(inner) + "}'");
    }
    std::string_view rest = inner.substr(name_end);
    std::optional<std::string_view> fallback;
    if (rest.starts_with(":-")) {
      fallback = rest.substr(2);
    } else if (!rest.empty()) {
      fail("invalid environment reference '${" + std::string(inner) +
           "}' (use ${NAME} or ${NAME:-default})");
    }
    if (auto value = env(name)) {
      out.append(*value);
    } else if (fallback) {
      out.append(*fallback);
    } else {
      fail("environment variable " + std::string(name) + " is not set and ${" + std::string(name) +
           "} has no default (use ${" + std::string(name) + ":-value})");
    }
    i = close;
  }
  return out;
}

}  // namespace cachecar::config
