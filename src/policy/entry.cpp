#include "policy/entry.hpp"

#include "core/reason_phrase.hpp"
#include "policy/cacheability.hpp"

#include <charconv>

namespace cachecar::policy {
namespace {

// Entry layout (version 1):
//   "CC1 " <stored_at_ms> " " <status> " " <head_len> " " <body_len> "\n" <head> <body>
// The numbers are decimal ASCII. A text preamble keeps entries readable with redis-cli; the
// lengths let a hit slice head and body without scanning, and make any truncated or padded
// value fail to decode instead of being served short. Another format must use another magic
// ("CC2 "), so old entries decode as misses instead of as garbage.
constexpr std::string_view kMagic = "CC1 ";

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

}  // namespace

std::string encode_entry(std::int64_t stored_at_ms, int status, std::string_view reason,
                         const HeaderList& headers, std::string_view body) {
  if (reason.empty() || has_line_break(reason)) reason = core::reason_phrase(status);
  std::string head = "HTTP/1.1 ";
  head += std::to_string(status);
  head += ' ';
  head += reason;
  head += "\r\n";
  for (const auto& [field, value] : headers) {
    // Fields named by the response's own Connection header are hop-by-hop too.
    if (field.empty() || is_unstorable_header(field) || named_in_connection(headers, field)) {
      continue;
    }
    // Never replay a field that could split the head; our HTTP parser would not produce one.
    if (has_line_break(field) || has_line_break(value) || field.find(':') != std::string::npos) {
      continue;
    }
    head += field;
    head += ": ";
    head += value;
    head += "\r\n";
  }

  std::string out;
  out.reserve(kMagic.size() + 64 + head.size() + body.size());
  out += kMagic;
  out += std::to_string(stored_at_ms);
  out += ' ';
  out += std::to_string(status);
  out += ' ';
  out += std::to_string(head.size());
  out += ' ';
  out += std::to_string(body.size());
  out += '\n';
  out += head;
  out += body;
  return out;
}

std::optional<EntryView> decode_entry(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return std::nullopt;
  std::string_view rest = bytes.substr(kMagic.size());
  const auto stored_at_ms = take_number<std::int64_t>(rest, ' ');
  if (!stored_at_ms) return std::nullopt;
  const auto status = take_number<int>(rest, ' ');
  if (!status || *status < 100 || *status > 999) return std::nullopt;
  const auto head_len = take_number<std::uint64_t>(rest, ' ');
  if (!head_len) return std::nullopt;
  const auto body_len = take_number<std::uint64_t>(rest, '\n');
  if (!body_len || *head_len > rest.size() || *body_len != rest.size() - *head_len) {
    return std::nullopt;
  }
  const std::string_view head = rest.substr(0, static_cast<std::size_t>(*head_len));
  if (!head.starts_with("HTTP/1.1 ") || !head.ends_with("\r\n")) return std::nullopt;

  EntryView entry;
  entry.stored_at_ms = *stored_at_ms;
  entry.status = *status;
  entry.head = head;
  entry.body = rest.substr(head.size());
  return entry;
}

std::int64_t age_seconds(std::int64_t stored_at_ms, std::int64_t now_ms) noexcept {
  if (now_ms <= stored_at_ms) return 0;
  // Both are unix-ms timestamps, so the difference cannot overflow in practice; guard anyway.
  const auto diff = static_cast<std::uint64_t>(now_ms) - static_cast<std::uint64_t>(stored_at_ms);
  return static_cast<std::int64_t>(diff / 1000);
}

}  // namespace cachecar::policy
