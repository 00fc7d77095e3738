#include "policy/tags.hpp"

#include "core/strings.hpp"

#include <algorithm>

namespace cachecar::policy {
namespace {

bool is_tag_char(char c) noexcept {
  return c > 0x20 && c < 0x7f && c != ',';
}

bool is_separator(char c) noexcept {
  return c == ',' || c == ' ' || c == '\t';
}

void set_error(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

}  // namespace

bool is_valid_tag(std::string_view tag) noexcept {
  return !tag.empty() && tag.size() <= kMaxTagBytes &&
         std::all_of(tag.begin(), tag.end(), is_tag_char);
}

bool is_tag_field(std::string_view name, const TagOptions& options) noexcept {
  return core::iequals(name, options.header) || core::iequals(name, kSurrogateKeyField);
}

void strip_tag_fields(HeaderList& headers, const TagOptions& options) {
  std::erase_if(headers,
                [&options](const auto& field) { return is_tag_field(field.first, options); });
}

void TagCollector::add(std::string_view tag) {
  tag = core::trim(tag);
  if (tag.empty()) return;
  if (!is_valid_tag(tag)) {
    ++dropped_.invalid;
    return;
  }
  if (std::find(tags_.begin(), tags_.end(), tag) != tags_.end()) return;
  if (tags_.size() >= kMaxTagsPerEntry) {
    ++dropped_.over_limit;
    return;
  }
  tags_.emplace_back(tag);
}

void TagCollector::add_list(std::string_view value) {
  while (!value.empty()) {
    const auto start = std::find_if_not(value.begin(), value.end(), is_separator) - value.begin();
    value.remove_prefix(static_cast<std::size_t>(start));
    const auto end = std::find_if(value.begin(), value.end(), is_separator) - value.begin();
    add(value.substr(0, static_cast<std::size_t>(end)));
    value.remove_prefix(static_cast<std::size_t>(end));
  }
}

void TagCollector::add_fields(const HeaderList& headers, const TagOptions& options) {
  for (const auto& [name, value] : headers) {
    if (is_tag_field(name, options)) add_list(value);
  }
}

std::optional<TagTemplate> TagTemplate::parse(std::string_view text,
                                              const std::vector<std::string>& available_params,
                                              std::string* error) {
  if (text.empty()) {
    set_error(error, "must not be empty");
    return std::nullopt;
  }
  const auto names = template_params(text, error);
  if (!names) return std::nullopt;
  // The literal text (between the {params}) must be tag characters, and not already too long.
  std::size_t literal_bytes = 0;
  bool in_param = false;
  for (char c : text) {
    if (c == '{' || c == '}') {
      in_param = c == '{';
      continue;
    }
    if (in_param) continue;
    ++literal_bytes;
    if (!is_tag_char(c)) {
      set_error(error, "a tag is visible ASCII without spaces or commas; '" + std::string(text) +
                           "' has another character");
      return std::nullopt;
    }
  }
  if (literal_bytes > kMaxTagBytes) {
    set_error(error, "longer than " + std::to_string(kMaxTagBytes) + " bytes");
    return std::nullopt;
  }
  if (!check_template_params(*names, available_params, error)) return std::nullopt;
  TagTemplate result;
  result.text_ = std::string(text);
  return result;
}

std::string TagTemplate::fill(const Params& params) const {
  std::string tag;
  fill_template(tag, text_, params);
  return tag;
}

std::vector<std::string> fill_tags(const std::vector<TagTemplate>& templates,
                                   const Params& params) {
  std::vector<std::string> tags;
  tags.reserve(templates.size());
  for (const auto& tmpl : templates) tags.push_back(tmpl.fill(params));
  return tags;
}

std::string join_tags(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& tag : tags) {
    if (!out.empty()) out += ' ';
    out += tag;
  }
  return out;
}

}  // namespace cachecar::policy
