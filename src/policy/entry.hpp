// The stored form of a cached response: written once on store, replayed on every hit.
// The head is pre-rendered HTTP/1.1 text so a hit writes it without re-serialising headers.
#pragma once

#include "policy/http_view.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cachecar::policy {

// A decoded entry: views into the buffer that was decoded (keep the buffer alive).
struct EntryView {
  std::int64_t stored_at_ms = 0;  // unix ms when the response was generated (upstream Age applied)
  int status = 0;
  std::string_view head;  // "HTTP/1.1 200 OK\r\nName: value\r\n..." without the final blank line,
                          // without framing/hop-by-hop/Age/X-Cache/Cache-Status/Set-Cookie fields
  std::string_view body;
};

// Renders an entry. Headers for which is_unstorable_header() is true are dropped, as are
// fields named in the response's Connection header.
std::string encode_entry(std::int64_t stored_at_ms, int status, std::string_view reason,
                         const HeaderList& headers, std::string_view body);

// Nullopt when `bytes` is not a well-formed entry (wrong magic, truncated, bad numbers).
std::optional<EntryView> decode_entry(std::string_view bytes);

// Age in whole seconds (never negative) for an entry stored at stored_at_ms, seen at now_ms.
std::int64_t age_seconds(std::int64_t stored_at_ms, std::int64_t now_ms) noexcept;

}  // namespace cachecar::policy
