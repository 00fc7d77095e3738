// URI normalisation (RFC 3986 §6.2.2) for request targets and Host values, so that a cache key
// names what the origin will resolve. Pure string functions; no Asio or Beast.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace cachecar::policy {

enum class TargetStatus {
  Ok,
  NotOriginForm,    // not "/path[?query]" (absolute-form, authority-form, "*", empty)
  MalformedEscape,  // a '%' not followed by two hex digits (RFC 3986 §2.1)
};
std::ostream& operator<<(std::ostream& os, TargetStatus status);

struct NormalizedTarget {
  TargetStatus status = TargetStatus::Ok;
  std::string target;         // the normalised "/path[?query]" when status is Ok
  std::size_t path_size = 0;  // target[0, path_size) is the path
  bool has_query = false;     // a '?' follows the path (possibly with an empty query)

  bool ok() const noexcept { return status == TargetStatus::Ok; }
  std::string_view path() const noexcept { return std::string_view(target).substr(0, path_size); }
  std::string_view query() const noexcept {
    return has_query ? std::string_view(target).substr(path_size + 1) : std::string_view();
  }
};

// Normalises an origin-form request target (RFC 9112 §3.2.1) per RFC 3986 §6.2.2, in its order:
// percent-encoded unreserved characters are decoded, remaining escapes get upper-case hex digits,
// then dot segments are removed from the path (§5.2.4). Reserved characters keep their form
// ("%2F" stays encoded, '+' and "%2B" stay distinct): RFC 3986 does not make them equivalent and
// origins do not treat them alike. Bytes that may not appear in a URI at all (controls, space,
// non-ASCII, '"', '#', '<', '>', '\', '^', '`', '{', '|', '}') are percent-encoded, so the result
// is a valid URI that an origin decodes to the same bytes. Idempotent.
NormalizedTarget normalize_target(std::string_view target);

// The same for a path outside a request (a Location header's): never fails; a malformed '%' is
// taken as a literal '%' ("%25").
std::string normalize_path(std::string_view path);

// Appends `text` (one query item, or any URI component) in normalised form: unreserved escapes
// decoded, other escapes upper-cased, bytes not allowed in a query encoded. A malformed '%' is
// taken as a literal '%' ("%25"); returns false when there was one.
bool append_normalized_query_part(std::string& out, std::string_view text);

// RFC 3986 §5.2.4 on an absolute path ("/a/./b/../c" -> "/a/c").
std::string remove_dot_segments(std::string_view path);

// What percent_decode does with a '%' that is not followed by two hex digits (RFC 3986 §2.1).
enum class MalformedEscape {
  Keep,    // it stays a literal '%' (cache keys: the origin decides what such a target means)
  Reject,  // the whole text is refused (admin routes, config values: a typo must not pass)
};
std::ostream& operator<<(std::ostream& os, MalformedEscape mode);

// Decodes %XX escapes (hex digits of either case) once. '+' stays '+': these are URI
// components, not form data. Nullopt only with MalformedEscape::Reject and a malformed '%'.
std::optional<std::string> percent_decode(std::string_view text, MalformedEscape mode);

// A Host field value (RFC 9110 §7.2: uri-host [":" port]) in comparable form (RFC 3986 §6.2.2.1,
// §6.2.3): trimmed, lower case, an empty port or the default port of plain HTTP (":80")
// dropped, leading zeros of the port dropped. Nullopt when it is not a valid uri-host/port
// (empty, a space, '/', '@', a percent-encoded reg-name, a port above 65535, ...).
std::optional<std::string> normalize_host(std::string_view host);

}  // namespace cachecar::policy
