#include "policy/conditional.hpp"

#include "core/strings.hpp"
#include "policy/cache_control.hpp"
#include "policy/cacheability.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace cachecar::policy {
namespace {

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// entity-tag = [ weak ] opaque-tag; weak = %s"W/"; opaque-tag = DQUOTE *etagc DQUOTE;
// etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3).
struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // with its quotes
};

bool is_etagc(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x7e) || u >= 0x80;
}

// Parses one entity-tag at the start of `text`; on success `text` is left after it.
std::optional<EntityTag> take_entity_tag(std::string_view& text) noexcept {
  EntityTag tag;
  std::string_view rest = text;
  if (rest.substr(0, 2) == "W/") {  // case-sensitive (%s)
    tag.weak = true;
    rest.remove_prefix(2);
  }
  if (rest.empty() || rest.front() != '"') return std::nullopt;
  std::size_t end = 1;
  while (end < rest.size() && rest[end] != '"') {
    if (!is_etagc(rest[end])) return std::nullopt;
    ++end;
  }
  if (end == rest.size()) return std::nullopt;  // unterminated
  tag.opaque = rest.substr(0, end + 1);
  text = rest.substr(end + 1);
  return tag;
}

// A whole field value that must be exactly one entity-tag (ETag, If-Range).
std::optional<EntityTag> parse_entity_tag(std::string_view value) noexcept {
  value = core::trim(value);
  auto tag = take_entity_tag(value);
  if (!tag || !value.empty()) return std::nullopt;
  return tag;
}

// §8.8.3.2: weak comparison ignores W/; strong comparison needs both strong.
bool weak_match(const EntityTag& a, const EntityTag& b) noexcept {
  return a.opaque == b.opaque;
}
bool strong_match(const EntityTag& a, const EntityTag& b) noexcept {
  return !a.weak && !b.weak && a.opaque == b.opaque;
}

// If-None-Match = "*" / #entity-tag (RFC 9110 §13.1.2), against the stored ETag.
bool if_none_match_matches(std::string_view list, std::string_view stored_etag) noexcept {
  if (core::trim(list) == "*") return true;  // any current representation: the stored one
  const auto stored = parse_entity_tag(stored_etag);
  bool matched = false;
  while (!list.empty() && !matched) {
    while (!list.empty() && (is_ows(list.front()) || list.front() == ',')) list.remove_prefix(1);
    if (list.empty()) break;
    auto tag = take_entity_tag(list);
    while (!list.empty() && is_ows(list.front())) list.remove_prefix(1);
    if (tag && (list.empty() || list.front() == ',')) {
      matched = stored && weak_match(*tag, *stored);
      continue;
    }
    // A malformed member: skipped up to the next comma; it matches nothing.
    const auto comma = list.find(',');
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma);
  }
  return matched;
}

std::optional<std::int64_t> date_of(std::string_view value) noexcept {
  value = core::trim(value);
  if (value.empty()) return std::nullopt;
  try {
    return parse_http_date(value);
  } catch (...) {  // it is not declared noexcept; a value it cannot handle is no date
    return std::nullopt;
  }
}

// 1*DIGIT, saturating at the largest value (a position beyond any representation).
std::optional<std::uint64_t> parse_position(std::string_view digits) noexcept {
  if (digits.empty()) return std::nullopt;
  std::uint64_t value = 0;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    value = value > (kMax - d) / 10 ? kMax : value * 10 + d;
  }
  return value;
}

// range-spec = int-range / suffix-range (RFC 9110 §14.1.1); other-range is not bytes.
struct RangeSpec {
  bool suffix = false;
  std::uint64_t first = 0;  // int-range; or the suffix-length
  std::optional<std::uint64_t> last;
};

std::optional<RangeSpec> parse_range_spec(std::string_view spec) noexcept {
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto left = spec.substr(0, dash);
  const auto right = spec.substr(dash + 1);
  RangeSpec out;
  if (left.empty()) {  // suffix-range = "-" suffix-length
    auto length = parse_position(right);
    if (!length) return std::nullopt;
    out.suffix = true;
    out.first = *length;
    return out;
  }
  auto first = parse_position(left);
  if (!first) return std::nullopt;
  out.first = *first;
  if (!right.empty()) {
    out.last = parse_position(right);
    // §14.1.1: an int-range whose last-pos is less than its first-pos is invalid.
    if (!out.last || *out.last < out.first) return std::nullopt;
  }
  return out;
}

struct ByteRanges {
  std::size_t count = 0;
  RangeSpec first;  // the first range-spec
};

// ranges-specifier = range-unit "=" range-set; only the "bytes" unit (case-insensitive,
// §14.1.1). nullopt: a Range to ignore (another unit or invalid syntax).
std::optional<ByteRanges> parse_byte_ranges(std::string_view range) noexcept {
  range = core::trim(range);
  const auto equals = range.find('=');
  if (equals == std::string_view::npos || !core::iequals(range.substr(0, equals), "bytes")) {
    return std::nullopt;
  }
  ByteRanges ranges;
  bool valid = true;
  // range-set = 1#range-spec: OWS around commas, empty elements ignored (§5.6.1).
  core::for_each_list_item(range.substr(equals + 1), [&](std::string_view item) {
    auto spec = parse_range_spec(item);
    if (!spec) valid = false;
    if (valid && ranges.count++ == 0) ranges.first = *spec;
  });
  if (!valid || ranges.count == 0) return std::nullopt;
  return ranges;
}

// §13.1.5: If-Range holds an entity-tag (strong comparison) or an HTTP-date (equal to a strong
// Last-Modified).
bool if_range_holds(std::string_view if_range, const Validators& stored) noexcept {
  if_range = core::trim(if_range);
  if (if_range.empty()) return true;  // no If-Range: nothing to hold
  if (if_range.front() == '"' || if_range.substr(0, 2) == "W/") {
    const auto tag = parse_entity_tag(if_range);
    const auto stored_tag = parse_entity_tag(stored.etag);
    return tag && stored_tag && strong_match(*tag, *stored_tag);
  }
  const auto date = date_of(if_range);
  const auto last_modified = date_of(stored.last_modified);
  if (!date || !last_modified || *date != *last_modified) return false;
  // §13.1.5 step 1 and §8.8.2.2: a cache may treat its stored Last-Modified as strong only
  // when the stored Date is at least one second after it.
  const auto response_date = date_of(stored.date);
  return response_date && *response_date >= *last_modified + 1;
}

}  // namespace

bool not_modified(std::string_view if_none_match, std::string_view if_modified_since,
                  const Validators& stored) noexcept {
  // §13.2.2 step 3: If-None-Match when present; If-Modified-Since only without it (§13.1.3).
  if (!core::trim(if_none_match).empty()) {
    return if_none_match_matches(if_none_match, stored.etag);
  }
  if (core::trim(if_modified_since).empty()) return false;
  // §13.1.3: an invalid HTTP-date (or more than one member) ignores the field.
  const auto since = date_of(if_modified_since);
  if (!since) return false;
  // RFC 9111 §4.3.2: a cache compares with the stored Last-Modified, else the stored Date
  // (the representation was not modified after the response was generated). An invalid
  // Last-Modified is no better than none.
  auto modified = date_of(stored.last_modified);
  if (!modified) modified = date_of(stored.date);
  return modified && *modified <= *since;
}

RangeAnswer evaluate_range(std::string_view range, std::string_view if_range, std::uint64_t length,
                           const Validators& stored) noexcept {
  RangeAnswer answer;
  const auto ranges = parse_byte_ranges(range);
  // §14.2: a server MAY ignore the Range header field (another unit, invalid syntax).
  if (!ranges) return answer;
  // §13.2.2 step 5, §13.1.5: a false If-Range ignores the Range: the whole representation.
  if (!if_range_holds(if_range, stored)) return answer;
  if (ranges->count > 1) {
    answer.kind = RangeKind::Multiple;
    return answer;
  }
  const auto& spec = ranges->first;
  // §14.1.2: satisfiable when first-pos is below the length or a suffix-length is non-zero;
  // nothing of an empty representation can be sent.
  if (length == 0 || (spec.suffix ? spec.first == 0 : spec.first >= length)) {
    answer.kind = RangeKind::Unsatisfiable;
    return answer;
  }
  answer.kind = RangeKind::Single;
  if (spec.suffix) {
    answer.first = spec.first >= length ? 0 : length - spec.first;
    answer.last = length - 1;
  } else {
    answer.first = spec.first;
    // §14.1.2: a last-pos at or beyond the length means the end of the representation.
    answer.last = spec.last && *spec.last < length ? *spec.last : length - 1;
  }
  return answer;
}

bool is_multi_range(std::string_view range) noexcept {
  const auto ranges = parse_byte_ranges(range);
  return ranges && ranges->count > 1;
}

HeaderList freshen_fields(const HeaderList& stored, const HeaderList& not_modified_response) {
  // RFC 9111 §3.2: every field of the 304 replaces the stored ones of that name, except fields
  // excepted from storage (§3.1: hop-by-hop, those named in Connection, is_unstorable_header),
  // Content-Length, and fields processed by the implementation (Content-Range: the stored 200
  // has none); framing stays as stored, it describes the stored body.
  auto updates = [&](std::string_view name) {
    return !is_unstorable_header(name) && !core::iequals(name, "transfer-encoding") &&
           !core::iequals(name, "content-range") &&
           !named_in_connection(not_modified_response, name);
  };
  std::vector<std::string> replaced;  // lower-cased names the 304 updates
  for (const auto& [name, value] : not_modified_response) {
    if (!updates(name)) continue;
    auto lower = core::to_lower(name);
    if (std::find(replaced.begin(), replaced.end(), lower) == replaced.end()) {
      replaced.push_back(std::move(lower));
    }
  }
  auto is_replaced = [&](std::string_view name) {
    return std::any_of(replaced.begin(), replaced.end(),
                       [&](const std::string& r) { return core::iequals(r, name); });
  };
  auto append_lines_of = [&](HeaderList& out, std::string_view name) {
    for (const auto& field : not_modified_response) {
      if (core::iequals(field.first, name)) out.push_back(field);
    }
  };

  HeaderList out;
  out.reserve(stored.size() + not_modified_response.size());
  std::vector<std::string> placed;  // replaced names already written at their first position
  for (const auto& field : stored) {
    if (!is_replaced(field.first)) {
      out.push_back(field);
      continue;
    }
    auto lower = core::to_lower(field.first);
    if (std::find(placed.begin(), placed.end(), lower) != placed.end()) continue;
    append_lines_of(out, lower);
    placed.push_back(std::move(lower));
  }
  // Names the stored response lacks: appended in the 304's line order.
  for (const auto& field : not_modified_response) {
    if (!updates(field.first)) continue;
    const bool was_placed = std::any_of(placed.begin(), placed.end(), [&](const std::string& p) {
      return core::iequals(p, field.first);
    });
    if (!was_placed) out.push_back(field);
  }
  return out;
}

bool validators_differ(const Validators& stored, const Validators& received) noexcept {
  // RFC 9111 §4.3.5: only the validators both responses carry are compared; ETags decide
  // when both have one (exactly as sent: a change of strength is a change).
  const auto stored_etag = core::trim(stored.etag);
  const auto received_etag = core::trim(received.etag);
  if (!stored_etag.empty() && !received_etag.empty()) return stored_etag != received_etag;
  const auto stored_lm = core::trim(stored.last_modified);
  const auto received_lm = core::trim(received.last_modified);
  if (stored_lm.empty() || received_lm.empty()) return false;
  const auto a = date_of(stored_lm);
  const auto b = date_of(received_lm);
  if (a && b) return *a != *b;
  return stored_lm != received_lm;  // not dates: compared as sent
}

bool is_not_modified_field(std::string_view name) noexcept {
  // RFC 9110 §15.4.5: the fields a 304 carries (those a 200 would have sent).
  static constexpr std::array<std::string_view, 7> kFields = {
      "etag", "last-modified", "cache-control", "expires", "vary", "content-location", "date"};
  return std::any_of(kFields.begin(), kFields.end(),
                     [&](std::string_view field) { return core::iequals(field, name); });
}

}  // namespace cachecar::policy
