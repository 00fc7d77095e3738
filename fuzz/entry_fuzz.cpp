// Stored entries. Input: bytes read back from the store, which decode_entry must either reject
// or slice without reading past them. The same input is also read as a response ("200 OK", then
// "Name: value" lines, a blank line, the body) to encode: that must decode back to the same
// status and body, and its head must hold only whole CRLF-terminated lines without the fields
// that are never stored. The same bytes are also read as Cache-Control / CDN-Cache-Control /
// Pragma values and as an HTTP-date: values stay in range and every date formats back to itself.
#include "fuzz_support.hpp"
#include "policy/cache_control.hpp"
#include "policy/cacheability.hpp"
#include "policy/entry.hpp"
#include "policy/freshness.hpp"

#include <charconv>
#include <limits>

namespace {

using namespace cachecar::policy;

void check_decode(std::string_view bytes) {
  const auto entry = decode_entry(bytes);
  if (!entry) return;
  FUZZ_CHECK(entry->status >= 100 && entry->status <= 999);
  FUZZ_CHECK(entry->head.starts_with("HTTP/1.1 ") && entry->head.ends_with("\r\n"));
  FUZZ_CHECK(entry->head.data() >= bytes.data());
  FUZZ_CHECK(entry->head.data() + entry->head.size() == entry->body.data());
  FUZZ_CHECK(entry->body.data() + entry->body.size() == bytes.data() + bytes.size());
  // Whatever numbers a stored entry holds, reusing it never yields a negative age.
  for (const std::int64_t now :
       {std::numeric_limits<std::int64_t>::min(), std::int64_t{0}, entry->freshness.response_ms,
        std::numeric_limits<std::int64_t>::max()}) {
    FUZZ_CHECK(current_age_ms(entry->freshness, now) >= 0);
    const ReuseDecision reuse = decide_reuse(entry->freshness, now, nullptr);
    FUZZ_CHECK(reuse.age_s >= 0);
    FUZZ_CHECK(!(reuse.serve_on_error && entry->freshness.has(kMustRevalidate)));
  }
}

void check_encode(std::string_view bytes) {
  const auto blank = bytes.find("\n\n");
  const std::string_view head_text = bytes.substr(0, blank);
  const std::string_view body =
      blank == std::string_view::npos ? std::string_view() : bytes.substr(blank + 2);
  const auto lines =
      cachecar::fuzz::split_lines(head_text, std::numeric_limits<std::size_t>::max());
  if (lines.empty()) return;
  int status = 0;
  const auto status_line = lines.front();
  auto [end, ec] =
      std::from_chars(status_line.data(), status_line.data() + status_line.size(), status);
  if (ec != std::errc{} || status < 100 || status > 999) return;
  std::string_view reason = status_line.substr(static_cast<std::size_t>(end - status_line.data()));
  if (reason.starts_with(' ')) reason.remove_prefix(1);

  HeaderList headers;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = lines[i].substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    headers.emplace_back(lines[i].substr(0, colon), value);
  }
  Freshness freshness;
  freshness.response_ms = static_cast<std::int64_t>(bytes.size()) * 1'000'000'007;
  freshness.request_ms = -freshness.response_ms;
  freshness.initial_age_ms = static_cast<std::int64_t>(head_text.size());
  freshness.lifetime_ms = static_cast<std::int64_t>(body.size()) - 7;
  freshness.flags = static_cast<std::uint32_t>(lines.size());
  const std::string encoded = encode_entry(freshness, status, reason, headers, body, {"x-strip"});
  const auto entry = decode_entry(encoded);
  FUZZ_CHECK(entry);
  FUZZ_CHECK(entry->status == status && entry->body == body);
  FUZZ_CHECK(entry->freshness.response_ms == freshness.response_ms &&
             entry->freshness.request_ms == freshness.request_ms &&
             entry->freshness.initial_age_ms == freshness.initial_age_ms &&
             entry->freshness.lifetime_ms == freshness.lifetime_ms &&
             entry->freshness.flags == freshness.flags);
  FUZZ_CHECK(entry_field(entry->head, "x-strip").empty());
  // The head splits back into fields that encode to the same head.
  const EntryHead parsed = parse_entry_head(entry->head);
  const std::string reencoded = encode_entry(freshness, status, parsed.reason, parsed.fields, "");
  const auto again = decode_entry(reencoded);
  FUZZ_CHECK(again && again->head == entry->head);

  std::string_view head = entry->head;
  for (bool first = true; !head.empty(); first = false) {
    const auto crlf = head.find("\r\n");
    FUZZ_CHECK(crlf != std::string_view::npos);
    const std::string_view line = head.substr(0, crlf);
    FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos);
    if (!first) {
      const auto colon = line.find(": ");
      FUZZ_CHECK(colon != std::string_view::npos && colon > 0);
      FUZZ_CHECK(!is_unstorable_header(line.substr(0, colon)));
    }
    head.remove_prefix(crlf + 2);
  }
}

void check_in_range(const std::optional<std::int64_t>& seconds) {
  FUZZ_CHECK(!seconds || (*seconds >= 0 && *seconds <= kDeltaSecondsMax));
}

void check_parsers(std::string_view bytes) {
  const std::string value(bytes);
  for (const char* field : {"Cache-Control", "CDN-Cache-Control"}) {
    const auto cc = parse_response_cache_control({{field, value}, {"Expires", value}});
    check_in_range(cc.max_age);
    check_in_range(cc.s_maxage);
    check_in_range(cc.stale_while_revalidate);
    check_in_range(cc.stale_if_error);
    FUZZ_CHECK(!(cc.expires_invalid && cc.expires_unix));
    for (const auto& name : cc.private_fields) FUZZ_CHECK(!name.empty());
  }
  const auto request = parse_request_cache_control(bytes, bytes);
  check_in_range(request.max_age);
  check_in_range(request.min_fresh);
  check_in_range(request.max_stale);
  if (const auto date = parse_http_date(bytes)) {
    FUZZ_CHECK(parse_http_date(format_http_date(*date)) == date);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = cachecar::fuzz::as_text(data, size);
  check_decode(bytes);
  check_encode(bytes);
  check_parsers(bytes);
  return 0;
}
