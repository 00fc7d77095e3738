// Route patterns, rule matching and invalidation templates. Input lines: a route pattern
// ("/api/users/{id}", "/api/posts/*"), an invalidation template ("GET /api/users/{id}"), then
// request paths. A rejected pattern says why; for an accepted one, the captures of a matching
// path put back into the pattern rebuild that path (its prefix, with a wildcard).
#include "fuzz_support.hpp"
#include "policy/rules.hpp"

#include <string>

namespace {

using namespace cachecar::policy;

constexpr std::size_t kMaxLines = 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto lines = cachecar::fuzz::split_lines(cachecar::fuzz::as_text(data, size), kMaxLines);
  if (lines.size() < 2) return 0;

  std::string error;
  auto pattern = RoutePattern::parse(lines[0], &error);
  if (!pattern) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(pattern->text() == lines[0]);

  std::string template_error;
  const auto invalidation =
      InvalidationTemplate::parse(lines[1], pattern->param_names(), &template_error);
  FUZZ_CHECK(invalidation || !template_error.empty());
  // The pattern itself as a template: filling it with a match's captures rebuilds the path.
  std::string self_error;
  const auto self = InvalidationTemplate::parse("GET " + std::string(lines[0]),
                                                pattern->param_names(), &self_error);
  FUZZ_CHECK(self);

  Rule rule;
  rule.name = "GET " + std::string(lines[0]);
  rule.method = "GET";
  rule.pattern = *pattern;
  const RuleSet rules({rule});

  for (std::size_t i = 2; i < lines.size(); ++i) {
    const std::string_view path = lines[i];
    Params params;
    const bool matched = pattern->match(path, &params);
    FUZZ_CHECK(matched == pattern->match(path, nullptr));
    FUZZ_CHECK((rules.match("GET", path, nullptr) != nullptr) == matched);
    FUZZ_CHECK(rules.match("POST", path, nullptr) == nullptr);
    if (!matched) {
      FUZZ_CHECK(params.empty());
      continue;
    }
    FUZZ_CHECK(params.size() == pattern->param_names().size());
    for (std::size_t p = 0; p < params.size(); ++p) {
      FUZZ_CHECK(params[p].first == pattern->param_names()[p]);
      FUZZ_CHECK(!params[p].second.empty() && params[p].second.find('/') == std::string::npos);
    }
    const EraseSpec rebuilt = self->fill(params);
    const std::string expected = "GET:" + std::string(path);
    if (pattern->has_wildcard()) {
      FUZZ_CHECK(rebuilt.kind == EraseSpec::Kind::Prefix && expected.starts_with(rebuilt.key));
    } else {
      FUZZ_CHECK(rebuilt.kind == EraseSpec::Kind::PathAndVariants && rebuilt.key == expected);
    }
    if (invalidation) FUZZ_CHECK(invalidation->fill(params).key.find(':') != std::string::npos);
  }
  return 0;
}
