// The stored form of a cached response: written once on store, replayed on every hit.
// The head is pre-rendered HTTP/1.1 text so a hit writes it without re-serialising headers.
#pragma once

#include "policy/freshness.hpp"
#include "policy/http_view.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

// A decoded entry: views into the buffer that was decoded (keep the buffer alive).
struct EntryView {
  Freshness freshness;  // decided when it was stored
  int status = 0;
  std::string_view head;  // "HTTP/1.1 200 OK\r\nName: value\r\n..." without the final blank line,
                          // without framing/hop-by-hop/Age/X-Cache/Cache-Status/Set-Cookie fields
  std::string_view body;
};

// Renders an entry. Headers for which is_unstorable_header() is true are dropped, as are
// fields named in the response's Connection header and those in `strip_fields` (lower-case).
std::string encode_entry(const Freshness& freshness, int status, std::string_view reason,
                         const HeaderList& headers, std::string_view body,
                         const std::vector<std::string>& strip_fields = {});

// Nullopt when `bytes` is not a well-formed entry (wrong magic, truncated, bad numbers).
std::optional<EntryView> decode_entry(std::string_view bytes);

// The first value of field `name` (case-insensitive) in an entry's head, "" when absent.
std::string_view entry_field(std::string_view head, std::string_view name) noexcept;
// The reason phrase and every field of an entry's head, in order (to freshen it, §3.2).
struct EntryHead {
  std::string reason;
  HeaderList fields;
};
EntryHead parse_entry_head(std::string_view head);

}  // namespace cachecar::policy
