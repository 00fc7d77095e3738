#include "policy/route_pattern.hpp"

#include <algorithm>

namespace cachecar::policy {
namespace {

bool is_param_name_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_method_char(char c) noexcept {
  return c >= 'A' && c <= 'Z';
}

void set_error(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

// Characters that can never appear in a request path as matched (the query and fragment are
// split off before matching), so a pattern containing them could never match anything.
bool is_forbidden_path_char(char c) noexcept {
  return c == '?' || c == '#' || c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 0x20 ||
         c == 0x7f;
}

}  // namespace

// Long on purpose: one pass over the pattern, each refusal with its own message beside the
// check that finds it.
std::optional<RoutePattern> RoutePattern::parse(std::string_view text, std::string* error) {
  if (text.empty() || text.front() != '/') {
    set_error(error, "must start with '/'");
    return std::nullopt;
  }
  for (char c : text) {
    if (is_forbidden_path_char(c)) {
      set_error(error,
                "contains a character not allowed in a path pattern ('?', '#', space or "
                "control character)");
      return std::nullopt;
    }
  }
  const auto star = text.find('*');
  if (star != std::string_view::npos && star != text.size() - 1) {
    set_error(error, "'*' is only allowed as the very last character");
    return std::nullopt;
  }

  RoutePattern pattern;
  pattern.text_ = std::string(text);
  std::string_view rest = text.substr(1);
  for (std::size_t index = 1;; ++index) {
    const auto slash = rest.find('/');
    const bool last = slash == std::string_view::npos;
    const std::string_view segment = last ? rest : rest.substr(0, slash);
    const std::string where = "segment " + std::to_string(index) + ": ";

    const auto open = segment.find('{');
    const auto close = segment.find('}');
    if (last && star != std::string_view::npos) {
      // The wildcard segment: literal prefix then '*'.
      if (open != std::string_view::npos || close != std::string_view::npos) {
        set_error(error, where + "'{param}' cannot be combined with '*' in one segment");
        return std::nullopt;
      }
      pattern.wildcard_ = true;
      pattern.wildcard_prefix_ = std::string(segment.substr(0, segment.size() - 1));
      break;
    }
    if (open == std::string_view::npos && close == std::string_view::npos) {
      pattern.segments_.push_back(Segment{std::string(segment), false});
    } else {
      if (open == std::string_view::npos || (close != std::string_view::npos && close < open)) {
        set_error(error, where + "unmatched '}'");
        return std::nullopt;
      }
      if (close == std::string_view::npos) {
        set_error(error, where + "unclosed '{'");
        return std::nullopt;
      }
      if (segment.find('}', close + 1) != std::string_view::npos) {
        set_error(error, where + "unmatched '}'");
        return std::nullopt;
      }
      if (segment.find('{', open + 1) != std::string_view::npos) {
        set_error(error, where + "only one '{param}' per segment");
        return std::nullopt;
      }
      if (open != 0 || close != segment.size() - 1) {
        set_error(error,
                  where + "'{param}' must span the whole segment (no literal text beside it)");
        return std::nullopt;
      }
      const std::string_view name = segment.substr(1, segment.size() - 2);
      if (name.empty()) {
        set_error(error, where + "empty parameter name '{}'");
        return std::nullopt;
      }
      if (!std::all_of(name.begin(), name.end(), is_param_name_char)) {
        set_error(error, where + "invalid parameter name '" + std::string(name) +
                             "' (use letters, digits and '_')");
        return std::nullopt;
      }
      if (std::find(pattern.param_names_.begin(), pattern.param_names_.end(), name) !=
          pattern.param_names_.end()) {
        set_error(error, where + "duplicate parameter name '" + std::string(name) + "'");
        return std::nullopt;
      }
      pattern.param_names_.emplace_back(name);
      pattern.segments_.push_back(Segment{std::string(name), true});
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  return pattern;
}

// Matches segment by segment without allocating; captures are written only once the whole
// path is known to match, so a failed match leaves *params untouched.
bool RoutePattern::match(std::string_view path, Params* params) const {
  if (path.empty() || path.front() != '/') return false;
  const std::string_view body = path.substr(1);
  for (int pass = 0; pass < 2; ++pass) {
    const bool capture = pass == 1;
    if (capture) {
      if (params == nullptr) return true;
      params->clear();
    }
    std::string_view rest = body;
    for (std::size_t i = 0; i < segments_.size(); ++i) {
      const bool last = !wildcard_ && i + 1 == segments_.size();
      const auto slash = rest.find('/');
      std::string_view segment;
      if (last) {
        if (slash != std::string_view::npos) return false;
        segment = rest;
        rest = {};
      } else {
        if (slash == std::string_view::npos) return false;
        segment = rest.substr(0, slash);
        rest.remove_prefix(slash + 1);
      }
      const auto& expected = segments_[i];
      if (expected.is_param) {
        if (segment.empty()) return false;
        if (capture) params->emplace_back(expected.literal, std::string(segment));
      } else if (segment != expected.literal) {
        return false;
      }
    }
    if (wildcard_ && !rest.starts_with(wildcard_prefix_)) return false;
  }
  return true;
}

std::optional<std::vector<std::string>> template_params(std::string_view text, std::string* error) {
  std::vector<std::string> names;
  while (!text.empty()) {
    const auto open = text.find_first_of("{}");
    if (open == std::string_view::npos) break;
    if (text[open] == '}') {
      set_error(error, "'}' without a '{' before it");
      return std::nullopt;
    }
    const auto close = text.find_first_of("{}", open + 1);
    if (close == std::string_view::npos || text[close] == '{') {
      set_error(error, "unclosed '{'");
      return std::nullopt;
    }
    const auto name = text.substr(open + 1, close - open - 1);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_param_name_char)) {
      set_error(error, "{" + std::string(name) + "}: a param name is letters, digits and '_'");
      return std::nullopt;
    }
    names.emplace_back(name);
    text.remove_prefix(close + 1);
  }
  return names;
}

bool check_template_params(const std::vector<std::string>& names,
                           const std::vector<std::string>& available, std::string* error) {
  for (const auto& name : names) {
    if (std::find(available.begin(), available.end(), name) != available.end()) continue;
    std::string defined;
    for (const auto& param : available)
      defined += (defined.empty() ? "" : ", ") + ("{" + param + "}");
    set_error(error, "uses {" + name + "}, which the rule's match pattern does not define (" +
                         (defined.empty() ? "it defines no params" : "it defines " + defined) +
                         ")");
    return false;
  }
  return true;
}

void fill_template(std::string& out, std::string_view text, const Params& params) {
  while (!text.empty()) {
    const auto open = text.find('{');
    if (open == std::string_view::npos) {
      out += text;
      break;
    }
    out += text.substr(0, open);
    const auto close = text.find('}', open);
    const std::string_view name = text.substr(open + 1, close - open - 1);
    for (const auto& [param, value] : params) {
      if (param == name) {
        out += value;
        break;
      }
    }
    text.remove_prefix(close + 1);
  }
}

std::optional<InvalidationTemplate> InvalidationTemplate::parse(
    std::string_view text, const std::vector<std::string>& available_params, std::string* error) {
  const auto space = text.find(' ');
  if (space == std::string_view::npos || space == 0) {
    set_error(error, "expected \"METHOD /path\", e.g. \"GET /api/users/{id}\"");
    return std::nullopt;
  }
  const std::string_view method = text.substr(0, space);
  const std::string_view path = text.substr(space + 1);
  if (!std::all_of(method.begin(), method.end(), is_method_char)) {
    set_error(error, "method '" + std::string(method) + "' must be upper-case letters");
    return std::nullopt;
  }
  if (path.empty() || path.front() != '/') {
    set_error(error, "expected exactly one space between the method and a path starting with '/'");
    return std::nullopt;
  }
  std::string pattern_error;
  auto pattern = RoutePattern::parse(path, &pattern_error);
  if (!pattern) {
    set_error(error, "path " + pattern_error);
    return std::nullopt;
  }
  if (!check_template_params(pattern->param_names(), available_params, error)) {
    return std::nullopt;
  }
  InvalidationTemplate result;
  result.text_ = std::string(text);
  result.method_ = std::string(method);
  result.prefix_ = pattern->has_wildcard();
  result.path_template_ = std::string(result.prefix_ ? path.substr(0, path.size() - 1) : path);
  return result;
}

// path_template_ was validated by RoutePattern::parse, so every '{' opens a whole-segment
// {name} whose name is in the rule's captures.
EraseSpec InvalidationTemplate::fill(const Params& params) const {
  EraseSpec spec;
  spec.kind = prefix_ ? EraseSpec::Kind::Prefix : EraseSpec::Kind::PathAndVariants;
  spec.key.reserve(method_.size() + 1 + path_template_.size() + 16);
  spec.key += method_;
  spec.key += ':';
  fill_template(spec.key, path_template_, params);
  return spec;
}

}  // namespace cachecar::policy
