// Cache tags (surrogate keys): which tags a stored response carries, from the upstream's tag
// fields and its rule's templates, and what a valid tag is. Pure: no I/O, no Beast.
#pragma once

#include "policy/http_view.hpp"
#include "policy/route_pattern.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

// At most this many tags per entry (the rest are dropped and counted), each at most this long.
// The store's own caps (store::kMaxTagsPerEntry, kMaxTagBytes) are not smaller.
inline constexpr std::size_t kMaxTagsPerEntry = 32;
inline constexpr std::size_t kMaxTagBytes = 256;

// Always read besides the configured field (Fastly's and Souin's name).
inline constexpr std::string_view kSurrogateKeyField = "Surrogate-Key";

// cache.tag_header / cache.expose_tags.
struct TagOptions {
  std::string header = "Cache-Tag";  // a field name (RFC 9110 §5.1)
  // false: the tag fields never reach clients; true: a stored response and its hits carry one
  // `header` field listing the entry's tags (other responses keep the upstream's fields).
  bool expose = false;
};

// A tag is 1..kMaxTagBytes visible ASCII characters (0x21..0x7E) other than ',': the separators
// of a tag field (comma, space, tab) can never be part of one.
bool is_valid_tag(std::string_view tag) noexcept;

// True for the configured tag field and Surrogate-Key (case-insensitive).
bool is_tag_field(std::string_view name, const TagOptions& options) noexcept;

// Removes every tag field line from `headers`.
void strip_tag_fields(HeaderList& headers, const TagOptions& options);

// Why a tag did not make it into an entry.
struct DroppedTags {
  std::size_t over_limit = 0;  // valid, but the entry had kMaxTagsPerEntry tags already
  std::size_t invalid = 0;     // not a valid tag (too long, a control or non-ASCII byte)
  std::size_t total() const noexcept { return over_limit + invalid; }
};

// Collects an entry's tags: trimmed, deduplicated (case-sensitive, like Varnish's xkey), in the
// order first seen, at most kMaxTagsPerEntry; what it refuses is counted.
class TagCollector {
 public:
  void add(std::string_view tag);
  // A field value: tags separated by commas and/or whitespace ("a, b c,,d" is a b c d).
  void add_list(std::string_view value);
  // Every line of the tag fields of `headers`.
  void add_fields(const HeaderList& headers, const TagOptions& options);

  const std::vector<std::string>& tags() const noexcept { return tags_; }
  std::vector<std::string> take() noexcept { return std::move(tags_); }
  const DroppedTags& dropped() const noexcept { return dropped_; }

 private:
  std::vector<std::string> tags_;
  DroppedTags dropped_;
};

// "product:{id}" in a rule's `tags` or `invalidate_tags` list: literal tag text and {param}
// references to the rule's path captures, filled with policy's one template mechanism
// (fill_template, route_pattern.hpp).
class TagTemplate {
 public:
  // Nullopt with *error set when the literal text cannot be part of a tag, a brace is
  // unbalanced, or it uses a {param} that `available_params` does not define.
  static std::optional<TagTemplate> parse(std::string_view text,
                                          const std::vector<std::string>& available_params,
                                          std::string* error);

  // The tag for a request's captures; may be an invalid tag when a capture holds a comma or
  // makes it too long (callers check is_valid_tag / TagCollector drops it).
  std::string fill(const Params& params) const;

  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
};

// The rule's tags for one request, filled in order (not yet validated or bounded).
std::vector<std::string> fill_tags(const std::vector<TagTemplate>& templates, const Params& params);

// The tags as one field value: "a b c".
std::string join_tags(const std::vector<std::string>& tags);

}  // namespace cachecar::policy
