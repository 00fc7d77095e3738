// Compression of stored bodies (cache.compression), the decisions only: which responses are
// kept gzip-compressed, which clients accept gzip (RFC 9110 §12.5.3), and the fields and ETag of
// each representation (§8.4, §8.8.3). The codec is core/gzip; the proxy applies these. Pure.
#pragma once

#include "policy/entry.hpp"
#include "policy/http_view.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

// cache.compression. With `enabled`, a storable identity response of one of `types` whose body
// has at least `min_size_bytes` is stored gzip-compressed, and an upstream gzip body is stored
// as it came; either way cachecar answers Accept-Encoding itself: the stored bytes to clients
// that accept gzip, the body decompressed to the others.
struct CompressionConfig {
  bool enabled = false;
  std::uint64_t min_size_bytes = 1024;
  int level = 6;  // zlib's 1 (fastest) .. 9 (smallest)
  // Lower-case media-type patterns: "type/subtype", "type/*" or "*/*" (is_media_type_pattern).
  std::vector<std::string> types = {"application/json", "text/*", "application/javascript",
                                    "image/svg+xml"};
};

// A pattern of cache.compression.types: type "/" subtype, each a token (RFC 9110 §8.3.1), where
// the subtype may be "*" and "*/*" matches everything; no parameters. Case-insensitive.
bool is_media_type_pattern(std::string_view pattern) noexcept;

// Whether a Content-Type value (parameters such as "; charset=utf-8" ignored, case-insensitive)
// matches one of the lower-case patterns. An empty or malformed value matches nothing.
bool matches_media_type(std::string_view content_type,
                        const std::vector<std::string>& patterns) noexcept;

// The content coding of a response body (RFC 9110 §8.4): Identity without Content-Encoding (or
// with only "identity"), Gzip for exactly one "gzip" or "x-gzip" coding (§8.4.1.3), Other for
// anything else (another coding, or several applied in turn).
enum class BodyCoding { Identity, Gzip, Other };
std::string_view to_string(BodyCoding coding) noexcept;
std::ostream& operator<<(std::ostream& os, BodyCoding coding);
BodyCoding body_coding(const HeaderList& response_headers) noexcept;

// Whether the client gets the gzip representation (RFC 9110 §12.5.3): "gzip" or "x-gzip" with a
// weight above 0, else "*" with one, and not outweighed by an explicit "identity" weight. The
// weight is "q=" and a qvalue (§12.4.2); a member with another parameter or an invalid weight is
// ignored. `accept_encoding`: every Accept-Encoding line combined; nullopt when the request has
// none, which gets identity (as from Varnish and nginx: clients without the field, such as curl,
// often cannot decode gzip).
bool accepts_gzip(std::optional<std::string_view> accept_encoding) noexcept;

// How a fill stores a storable response under `config` (the caller falls back to AsReceived
// when compressing does not make the body smaller, or a gzip body does not decompress within
// cache.max_body_size). Off, Cache-Control: no-transform (RFC 9110 §7.7: a proxy must not change
// the content coding then), another coding, an empty body: AsReceived. An identity body of a
// listed type with at least min_size_bytes: GzipByCache. A gzip body: GzipFromUpstream.
StoredCoding plan_compression(const CompressionConfig& config, const HeaderList& response_headers,
                              std::uint64_t body_bytes) noexcept;

// The ETag of the gzip representation cachecar makes of an identity one (RFC 9110 §8.8.3: each
// representation needs its own): "abc" and W/"abc" both become W/"abc-gzip". Weak, because a
// strong ETag promises the same bytes every time, and another level or zlib version compresses
// the same body differently; suffixed, so that it differs from the identity one even under the
// weak comparison of If-None-Match. "" when `etag` is not an entity-tag.
std::string gzip_etag(std::string_view etag);
// The ETag of the identity representation cachecar makes by decompressing an upstream gzip
// one: "x" and W/"x" both become W/"x-identity", for the same reasons. "" when not an entity-tag.
std::string identity_etag_of_gzip(std::string_view etag);

// The fields cachecar stores for a response it keeps gzip-compressed, which a client that
// accepts gzip gets as they are: Content-Encoding: gzip (replacing any other), Accept-Encoding in
// Vary, and, for a body cachecar compressed (`compressed_by_cache`), the gzip ETag; fields that
// describe the exact content bytes (Content-MD5, Content-Digest, Repr-Digest) are dropped then.
// Other fields, in order, as the origin sent them.
HeaderList gzip_representation_fields(const HeaderList& origin_fields, bool compressed_by_cache);

// The fields of the identity representation, from a gzip representation's: no
// Content-Encoding, `identity_etag` as the ETag (none when empty), no content digests; Vary keeps
// Accept-Encoding (the choice depended on it).
HeaderList identity_representation_fields(const HeaderList& gzip_fields,
                                          std::string_view identity_etag);

// The identity representation's ETag recorded for a response stored as `coding`: the origin's
// own for a body cachecar compressed, the derived one for an upstream gzip body, "" otherwise.
std::string identity_etag_for(StoredCoding coding, const HeaderList& origin_fields);

// The ETag the origin gave the stored response, which a revalidation sends in If-None-Match
// and a 304 or a new response is compared with (RFC 9111 §4.3.1, §4.3.4, §4.3.5).
std::string_view origin_etag(const EntryView& entry) noexcept;

// The stored fields as the origin sent them (for a 304 to freshen, RFC 9111 §3.2): a body
// cachecar compressed loses Content-Encoding and gets its identity ETag back.
HeaderList origin_fields(const EntryView& entry, const HeaderList& stored_fields);

}  // namespace cachecar::policy
