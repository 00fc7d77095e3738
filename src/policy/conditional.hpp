// Conditional requests (RFC 9110 §13) and byte ranges (RFC 9110 §14) evaluated against a stored
// response, and the update of a stored response by a 304 (RFC 9111 §3.2, §4.3.4). Pure.
#pragma once

#include "policy/http_view.hpp"

#include <cstdint>
#include <string_view>

namespace cachecar::policy {

// The validators of a stored (or received) response.
struct Validators {
  std::string_view etag;           // as sent, e.g. W/"abc" or "abc"; "" when none
  std::string_view last_modified;  // an HTTP-date; "" when none
  std::string_view date;           // the Date field; "" when none
};

// The client's preconditions that a cache evaluates for a GET or HEAD (RFC 9110 §13.2.2):
// If-None-Match (weak comparison, §13.1.2) when present, else If-Modified-Since against
// Last-Modified (or, without a valid one, Date; §13.1.3, an invalid date ignores the header).
// An empty view is an absent field. "*" matches any stored response; members of the list that
// are not entity-tags are skipped. True: answer 304 Not Modified.
bool not_modified(std::string_view if_none_match, std::string_view if_modified_since,
                  const Validators& stored) noexcept;

// A request's Range (RFC 9110 §14.2) against a full stored representation of `length` bytes.
enum class RangeKind {
  Whole,          // no Range, a Range to ignore (not bytes, invalid, If-Range failed): send all
  Single,         // one satisfiable range: 206 with Content-Range
  Unsatisfiable,  // 416 with Content-Range: bytes */<length>
  Multiple,       // more than one range: forwarded, not answered from (or stored in) the cache
};
struct RangeAnswer {
  RangeKind kind = RangeKind::Whole;
  std::uint64_t first = 0;  // Single: inclusive byte positions
  std::uint64_t last = 0;
};
// Only "bytes" (case-insensitive); an invalid range-set is ignored (Whole). Several ranges are
// Multiple even when some are unsatisfiable; a single one is clamped to the length.
// If-Range (§13.1.5) must match strongly: an entity-tag equal to a strong stored ETag, or an
// HTTP-date equal to Last-Modified, which must be strong (stored Date at least one second
// later, §8.8.2.2); otherwise the whole representation is sent, whatever the Range holds.
RangeAnswer evaluate_range(std::string_view range, std::string_view if_range, std::uint64_t length,
                           const Validators& stored) noexcept;
// Whether a Range value is a valid bytes range-set of more than one range (such requests
// bypass the cache); an invalid one is ignored instead.
bool is_multi_range(std::string_view range) noexcept;

// The stored fields updated with a 304's fields (RFC 9111 §3.2): every field the 304 carries
// replaces all stored lines of that name (at the first one's position; new names appended, in
// the 304's order), except the framing and hop-by-hop fields (Content-Length,
// Transfer-Encoding, those named in the 304's Connection, ...), is_unstorable_header() fields
// and Content-Range, which keep their stored values. Fields a no-cache="..."/private="..."
// of the 304 names are the caller's to strip (StoreDecision::strip_fields).
HeaderList freshen_fields(const HeaderList& stored, const HeaderList& not_modified_response);

// RFC 9111 §4.3.5: a response to a HEAD/GET whose validators differ from the stored one's
// means the stored response is outdated. ETags decide when both carry one (compared exactly as
// sent); otherwise Last-Modified when both carry one (as dates; as sent if not dates).
bool validators_differ(const Validators& stored, const Validators& received) noexcept;

// Whether a stored field is sent in a 304 answered from the cache (RFC 9110 §15.4.5: ETag,
// Last-Modified, Cache-Control, Expires, Vary, Content-Location, Date).
bool is_not_modified_field(std::string_view name) noexcept;

}  // namespace cachecar::policy
