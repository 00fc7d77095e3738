// The stored form of a cached response: written once on store, replayed on every hit.
// The head is pre-rendered HTTP/1.1 text so a hit writes it without re-serialising headers.
#pragma once

#include "policy/freshness.hpp"
#include "policy/http_view.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

// How a stored body is coded (policy/compression.hpp decides): as the upstream sent it, served
// the same to every client, or gzip that cachecar also serves decompressed to clients that do
// not accept gzip.
enum class StoredCoding : std::uint8_t {
  AsReceived = 0,
  GzipByCache = 1,       // an identity body cachecar compressed
  GzipFromUpstream = 2,  // the upstream's gzip body, as it came
};
std::string_view to_string(StoredCoding coding) noexcept;  // "as-received", "gzip-by-cache", ...
std::ostream& operator<<(std::ostream& os, StoredCoding coding);

// What an entry records about a gzip coding: the identity representation's length and ETag
// ("" = none), which a client without gzip gets.
struct EntryCoding {
  StoredCoding coding = StoredCoding::AsReceived;
  std::uint64_t identity_length = 0;
  std::string_view identity_etag;
};

// A decoded entry: views into the buffer that was decoded (keep the buffer alive).
struct EntryView {
  Freshness freshness;  // decided when it was stored
  int status = 0;
  std::string_view head;  // "HTTP/1.1 200 OK\r\nName: value\r\n..." without the final blank line,
                          // without framing/hop-by-hop/Age/X-Cache/Cache-Status/Set-Cookie fields
  std::string_view body;
  // The tags it was stored with (policy/tags.hpp), separated by single spaces: a revalidation
  // that stores it again keeps them, whether or not its 304 repeats the tag fields.
  std::string_view tags;
  // AsReceived unless the body is stored gzip; then the identity representation's size and
  // ETag, as recorded.
  StoredCoding coding = StoredCoding::AsReceived;
  std::uint64_t identity_length = 0;
  std::string_view identity_etag;
  bool gzip_coded() const noexcept { return coding != StoredCoding::AsReceived; }
};

// Renders an entry. Headers for which is_unstorable_header() is true are dropped, as are
// fields named in the response's Connection header and those in `strip_fields` (lower-case).
// `tags` are recorded as given (valid tags: no spaces or line breaks). `coding`: how `body` is
// coded; `headers` are then those of the gzip representation (policy/compression.hpp).
std::string encode_entry(const Freshness& freshness, int status, std::string_view reason,
                         const HeaderList& headers, std::string_view body,
                         const std::vector<std::string>& strip_fields = {},
                         const std::vector<std::string>& tags = {},
                         const EntryCoding& coding = {});

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
