#include "policy/entry.hpp"

#include "core/reason_phrase.hpp"
#include "core/strings.hpp"
#include "policy/cacheability.hpp"

#include <algorithm>
#include <charconv>

namespace cachecar::policy {
namespace {

// Entry layout (version 3):
//   "CC3 " <request_ms> " " <response_ms> " " <initial_age_ms> " " <lifetime_ms> " "
//   <stale_while_revalidate_ms> " " <stale_if_error_ms> " " <flags> " " <status> " "
//   <tags_len> " " <head_len> " " <body_len> "\n" <tags> <head> <body>
// The numbers are decimal ASCII. A text preamble keeps entries readable with redis-cli; the
// lengths let a hit slice head and body without scanning, and make any truncated or padded
// value fail to decode instead of being served short. Another format must use another magic
// ("CC4 "), so old entries decode as misses instead of as garbage ("CC1 " and "CC2 " ones,
// which had no tags, do now). The tags come first so that head and body stay adjacent.
// A body stored gzip (StoredCoding other than AsReceived) adds its coding record to the
// preamble and the identity representation's ETag before the tags:
//   ... <body_len> " " <coding> " " <identity_length> " " <identity_etag_len> "\n"
//   <identity_etag> <tags> <head> <body>
// so an entry served the same to every client is exactly what it would be without compression.
constexpr std::string_view kMagic = "CC3 ";
constexpr std::string_view kStatusLinePrefix = "HTTP/1.1 ";

bool has_line_break(std::string_view text) noexcept {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

// Parses a decimal number at the front of `text` followed by `terminator`, and consumes both.
template <class Int>
std::optional<Int> take_number(std::string_view& text, char terminator) {
  if (text.empty() || text.front() == '+' || text.front() == ' ') return std::nullopt;
  Int value{};
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  auto [stop, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc{} || stop == begin || stop == end || *stop != terminator) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(stop - begin) + 1);
  return value;
}

// The last preamble number, which a coding record may follow: sets `more` when it does.
std::optional<std::uint64_t> take_last_number(std::string_view& text, bool& more) {
  auto value = take_number<std::uint64_t>(text, '\n');
  if (value) return value;
  value = take_number<std::uint64_t>(text, ' ');
  more = value.has_value();
  return value;
}

bool is_stored_coding(std::uint64_t value) noexcept {
  return value == static_cast<std::uint64_t>(StoredCoding::GzipByCache) ||
         value == static_cast<std::uint64_t>(StoredCoding::GzipFromUpstream);
}

void append_number(std::string& out, std::int64_t value, char terminator) {
  out += std::to_string(value);
  out += terminator;
}

bool is_stripped(const std::vector<std::string>& strip_fields, std::string_view field) {
  return std::any_of(strip_fields.begin(), strip_fields.end(),
                     [&](const std::string& name) { return core::iequals(name, field); });
}

// Calls fn(name, value) for each field line of an entry head (the status line skipped); stops
// when fn returns false.
template <class Fn>
void for_each_head_field(std::string_view head, Fn&& fn) {
  const auto first_crlf = head.find("\r\n");
  if (first_crlf == std::string_view::npos) return;
  head.remove_prefix(first_crlf + 2);
  while (!head.empty()) {
    const auto crlf = head.find("\r\n");
    const std::string_view line = head.substr(0, crlf);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      if (!fn(line.substr(0, colon), core::trim(line.substr(colon + 1)))) return;
    }
    if (crlf == std::string_view::npos) return;
    head.remove_prefix(crlf + 2);
  }
}

}  // namespace

std::string encode_entry(const Freshness& freshness, int status, std::string_view reason,
                         const HeaderList& headers, std::string_view body,
                         const std::vector<std::string>& strip_fields,
                         const std::vector<std::string>& tags, const EntryCoding& coding) {
  if (reason.empty() || has_line_break(reason)) reason = core::reason_phrase(status);
  std::string head(kStatusLinePrefix);
  head += std::to_string(status);
  head += ' ';
  head += reason;
  head += "\r\n";
  for (const auto& [field, value] : headers) {
    // Fields named by the response's own Connection header are hop-by-hop too; those named by
    // no-cache="..." / private="..." must not be stored (RFC 9111 §5.2.2.4, §5.2.2.7).
    if (field.empty() || is_unstorable_header(field) || named_in_connection(headers, field) ||
        is_stripped(strip_fields, field)) {
      continue;
    }
    // Never replay a field that could split the head; our HTTP parser would not produce one.
    if (has_line_break(field) || has_line_break(value) || field.find(':') != std::string::npos) {
      continue;
    }
    head += field;
    head += ": ";
    head += core::trim(value);  // RFC 9110 §5.5: the value excludes surrounding whitespace
    head += "\r\n";
  }

  std::string tag_text;
  for (const auto& tag : tags) {
    if (tag.empty() || tag.find_first_of(" \r\n") != std::string::npos) continue;
    if (!tag_text.empty()) tag_text += ' ';
    tag_text += tag;
  }

  std::string out;
  out.reserve(kMagic.size() + 160 + tag_text.size() + head.size() + body.size());
  out += kMagic;
  append_number(out, freshness.request_ms, ' ');
  append_number(out, freshness.response_ms, ' ');
  append_number(out, freshness.initial_age_ms, ' ');
  append_number(out, freshness.lifetime_ms, ' ');
  append_number(out, freshness.stale_while_revalidate_ms, ' ');
  append_number(out, freshness.stale_if_error_ms, ' ');
  append_number(out, freshness.flags, ' ');
  append_number(out, status, ' ');
  append_number(out, static_cast<std::int64_t>(tag_text.size()), ' ');
  append_number(out, static_cast<std::int64_t>(head.size()), ' ');
  const bool coded = coding.coding != StoredCoding::AsReceived;
  append_number(out, static_cast<std::int64_t>(body.size()), coded ? ' ' : '\n');
  if (coded) {
    const std::string_view etag = has_line_break(coding.identity_etag) ? "" : coding.identity_etag;
    append_number(out, static_cast<std::int64_t>(coding.coding), ' ');
    append_number(out, static_cast<std::int64_t>(coding.identity_length), ' ');
    append_number(out, static_cast<std::int64_t>(etag.size()), '\n');
    out += etag;
  }
  out += tag_text;
  out += head;
  out += body;
  return out;
}

std::optional<EntryView> decode_entry(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return std::nullopt;
  std::string_view rest = bytes.substr(kMagic.size());
  EntryView entry;
  Freshness& f = entry.freshness;
  for (std::int64_t* field : {&f.request_ms, &f.response_ms, &f.initial_age_ms, &f.lifetime_ms,
                              &f.stale_while_revalidate_ms, &f.stale_if_error_ms}) {
    const auto value = take_number<std::int64_t>(rest, ' ');
    if (!value) return std::nullopt;
    *field = *value;
  }
  const auto flags = take_number<std::uint32_t>(rest, ' ');
  if (!flags) return std::nullopt;
  f.flags = *flags;
  const auto status = take_number<int>(rest, ' ');
  if (!status || *status < 100 || *status > 999) return std::nullopt;
  const auto tags_len = take_number<std::uint64_t>(rest, ' ');
  if (!tags_len) return std::nullopt;
  const auto head_len = take_number<std::uint64_t>(rest, ' ');
  if (!head_len) return std::nullopt;
  bool coded = false;
  const auto body_len = take_last_number(rest, coded);
  if (!body_len) return std::nullopt;
  if (coded) {
    const auto coding = take_number<std::uint64_t>(rest, ' ');
    if (!coding || !is_stored_coding(*coding)) return std::nullopt;
    const auto identity_length = take_number<std::uint64_t>(rest, ' ');
    if (!identity_length) return std::nullopt;
    const auto etag_len = take_number<std::uint64_t>(rest, '\n');
    if (!etag_len || *etag_len > rest.size()) return std::nullopt;
    entry.coding = static_cast<StoredCoding>(*coding);
    entry.identity_length = *identity_length;
    entry.identity_etag = rest.substr(0, static_cast<std::size_t>(*etag_len));
    if (has_line_break(entry.identity_etag)) return std::nullopt;
    rest.remove_prefix(entry.identity_etag.size());
  }
  if (*tags_len > rest.size()) return std::nullopt;
  entry.tags = rest.substr(0, static_cast<std::size_t>(*tags_len));
  if (entry.tags.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
  rest.remove_prefix(entry.tags.size());
  if (*head_len > rest.size() || *body_len != rest.size() - *head_len) return std::nullopt;
  const std::string_view head = rest.substr(0, static_cast<std::size_t>(*head_len));
  if (!head.starts_with(kStatusLinePrefix) || !head.ends_with("\r\n")) return std::nullopt;

  entry.status = *status;
  entry.head = head;
  entry.body = rest.substr(head.size());
  return entry;
}

std::string_view to_string(StoredCoding coding) noexcept {
  switch (coding) {
    case StoredCoding::AsReceived:
      return "as-received";
    case StoredCoding::GzipByCache:
      return "gzip-by-cache";
    case StoredCoding::GzipFromUpstream:
      return "gzip-from-upstream";
  }
  return "as-received";
}

std::ostream& operator<<(std::ostream& os, StoredCoding coding) {
  return os << to_string(coding);
}

std::string_view entry_field(std::string_view head, std::string_view name) noexcept {
  std::string_view found;
  for_each_head_field(head, [&](std::string_view field, std::string_view value) {
    if (!core::iequals(field, name)) return true;
    found = value;
    return false;
  });
  return found;
}

EntryHead parse_entry_head(std::string_view head) {
  EntryHead out;
  // "HTTP/1.1 200 OK\r\n": the reason is what follows the status code.
  const std::string_view status_line = head.substr(0, head.find("\r\n"));
  if (status_line.starts_with(kStatusLinePrefix)) {
    const std::string_view after = status_line.substr(kStatusLinePrefix.size());
    const auto space = after.find(' ');
    if (space != std::string_view::npos) out.reason = std::string(after.substr(space + 1));
  }
  for_each_head_field(head, [&](std::string_view field, std::string_view value) {
    out.fields.emplace_back(std::string(field), std::string(value));
    return true;
  });
  return out;
}

}  // namespace cachecar::policy
