// Route patterns ("/api/users/{id}", "/api/posts/*") and invalidation templates built on them.
// Pure: no I/O, no allocation on the match path beyond filling the caller's Params.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cachecar::policy {

// Values captured by {name} segments, in pattern order.
using Params = std::vector<std::pair<std::string, std::string>>;

// A path pattern: literal segments, `{name}` = exactly one non-empty path segment, and an
// optional trailing `*` = any remainder (including empty). Matching ignores the query string.
class RoutePattern {
 public:
  // Nullopt with *error set ("segment 2: unclosed '{'") when the text is not a valid pattern.
  // Valid: starts with '/', `{name}` spans a whole segment, names are [A-Za-z0-9_]+ and unique,
  // `*` only as the very last character.
  static std::optional<RoutePattern> parse(std::string_view text, std::string* error);

  // True when path matches; on success *params (if given) is replaced by the captures.
  bool match(std::string_view path, Params* params) const;

  const std::string& text() const noexcept { return text_; }
  const std::vector<std::string>& param_names() const noexcept { return param_names_; }
  bool has_wildcard() const noexcept { return wildcard_; }

 private:
  struct Segment {
    std::string literal;  // used when !is_param
    bool is_param = false;
  };
  std::string text_;
  std::vector<Segment> segments_;  // split on '/', after the leading '/'
  std::vector<std::string> param_names_;
  bool wildcard_ = false;
  std::string wildcard_prefix_;  // literal text before the '*' in its segment, e.g. "v" in "/a/v*"
};

// What one invalidation template resolves to for one write request.
struct EraseSpec {
  enum class Kind {
    PathAndVariants,  // the key and every query variant of it: "GET:/p" and "GET:/p?..."
    Prefix,           // every key starting with `key`
    Tag,              // every entry stored with the tag `key` (a rule's invalidate_tags)
  };
  Kind kind = Kind::PathAndVariants;
  std::string key;  // a logical cache key (no store prefix), e.g. "GET:/api/users/42"; or a tag
};

// The one template mechanism of rules (`invalidate` and tag templates): `{name}` names a capture
// of the rule's match pattern.
// The names `text` references, in order; nullopt with *error set when a brace is unbalanced or
// a name is not [A-Za-z0-9_]+.
std::optional<std::vector<std::string>> template_params(std::string_view text, std::string* error);
// False with *error set naming the first of `names` that `available` (the rule's captures)
// lacks.
bool check_template_params(const std::vector<std::string>& names,
                           const std::vector<std::string>& available, std::string* error);
// Appends `text` with every {name} replaced by the capture of that name (precondition:
// template_params accepted `text`).
void fill_template(std::string& out, std::string_view text, const Params& params);

// "GET /api/users/{id}" or "GET /api/posts/*" in a rule's `invalidate` list.
class InvalidationTemplate {
 public:
  // Nullopt with *error set when malformed, or when it uses a {param} that `available_params`
  // (the params of the rule's own match pattern) does not define.
  static std::optional<InvalidationTemplate> parse(std::string_view text,
                                                   const std::vector<std::string>& available_params,
                                                   std::string* error);

  // Fills {params} from the write request's captures. A trailing `*` yields a Prefix spec.
  EraseSpec fill(const Params& params) const;

  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
  std::string method_;
  std::string path_template_;  // without the trailing '*'
  bool prefix_ = false;
};

}  // namespace cachecar::policy
