// Stored-body compression in the proxy (cache.compression): how a fill's body is stored
// (policy::plan_compression applied with core/gzip), how a freshened coded entry is stored
// again, and the identity representation of a coded entry for clients that do not accept gzip.
// Every decompression is bounded by the caller's limit (cache.max_body_size): a stored or
// upstream body may be a bomb. No I/O.
#pragma once

#include "core/error.hpp"
#include "metrics/metrics.hpp"
#include "policy/compression.hpp"
#include "policy/entry.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::proxy {

// How one fill's body is stored.
struct StoredForm {
  policy::StoredCoding coding = policy::StoredCoding::AsReceived;
  // Coded: the gzip representation's fields (what is stored and what gzip clients get).
  policy::HeaderList fields;
  std::string gzip;      // GzipByCache: the body compressed
  std::string identity;  // GzipFromUpstream: the body decompressed
  std::uint64_t identity_length = 0;
  std::string identity_etag;  // "" = the identity representation has no ETag

  bool coded() const noexcept { return coding != policy::StoredCoding::AsReceived; }
  // The bytes stored, and those a client without gzip gets; `received`: the upstream's body.
  std::string_view stored_body(std::string_view received) const noexcept {
    return coding == policy::StoredCoding::GzipByCache ? std::string_view(gzip) : received;
  }
  std::string_view identity_body(std::string_view received) const noexcept {
    return coding == policy::StoredCoding::GzipFromUpstream ? std::string_view(identity) : received;
  }
};

// The form of a storable response (`headers` and `body` as the upstream sent them). Falls back
// to AsReceived when compressing does not make the body smaller, or an upstream gzip body does
// not decompress within `max_identity_bytes` (corrupt, or a bomb: then stored and relayed as it
// came, never decompressed again). Counts the decompression of an upstream gzip body.
StoredForm code_for_storing(const policy::CompressionConfig& config,
                            std::uint64_t max_identity_bytes, const policy::HeaderList& headers,
                            std::string_view body, metrics::Metrics& metrics);

// The entry for a fill in `form` (policy::encode_entry with the coding record and `tags`).
std::string encode_stored(const StoredForm& form, const policy::Freshness& freshness, int status,
                          std::string_view reason, const policy::HeaderList& headers,
                          std::string_view body, const std::vector<std::string>& strip_fields,
                          const std::vector<std::string>& tags);

// The entry for `stale` freshened by a 304 (RFC 9111 §3.2): `origin_fields` are its fields as
// the origin would send them (policy::origin_fields, then policy::freshen_fields); a coded
// entry stays coded, with the same body.
std::string encode_freshened(const policy::EntryView& stale, const policy::Freshness& freshness,
                             std::string_view reason, const policy::HeaderList& origin_fields,
                             const std::vector<std::string>& strip_fields,
                             const std::vector<std::string>& tags);

// The head (status line and fields, as EntryView::head) of a coded entry's identity
// representation.
std::string identity_head(const policy::EntryView& entry);

// A coded entry's body decompressed: errors when it is corrupt, would exceed `max_bytes`, or is
// not the recorded identity length.
result<std::string> identity_body(const policy::EntryView& entry, std::size_t max_bytes);

}  // namespace cachecar::proxy
