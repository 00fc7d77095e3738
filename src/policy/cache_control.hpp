// Cache-Control directives (RFC 9111 §5.2), CDN-Cache-Control (RFC 9213) and HTTP-dates
// (RFC 9110 §5.6.7), parsed into plain values. Pure: no clock, no sockets.
#pragma once

#include "policy/http_view.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

// A delta-seconds value too large to represent counts as this (RFC 9111 §1.2.2).
inline constexpr std::int64_t kDeltaSecondsMax = 2147483648;

// The response directives a shared cache acts on. Names are case-insensitive; a directive
// present twice takes the first occurrence (RFC 9111 §4.2.1).
struct ResponseCacheControl {
  // The directives came from a valid CDN-Cache-Control field, which then replaces
  // Cache-Control and Expires for the cache's decisions (RFC 9213 §2.1).
  bool from_cdn_cache_control = false;
  // Seconds. A value that is not a non-negative integer (quoted, negative, with a suffix)
  // yields 0: the response is stale (RFC 9111 §4.2.1, §1.2.2).
  std::optional<std::int64_t> max_age;
  std::optional<std::int64_t> s_maxage;
  bool no_store = false;
  bool no_cache = false;    // unqualified no-cache: revalidate before every reuse
  bool is_private = false;  // unqualified private: not storable in a shared cache
  bool is_public = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  // The qualified forms (no-cache="a, b", private="c"), field names lower-cased: those fields
  // are not stored (RFC 9111 §5.2.2.4, §5.2.2.7).
  std::vector<std::string> no_cache_fields;
  std::vector<std::string> private_fields;
  // RFC 5861 §3, §4, seconds; invalid values are ignored.
  std::optional<std::int64_t> stale_while_revalidate;
  std::optional<std::int64_t> stale_if_error;
  // Expires, as unix seconds; set only when it is not overridden by CDN-Cache-Control.
  // An invalid Expires value (anything but a valid HTTP-date) means already expired:
  // expires_invalid is then true and expires_unix is nullopt.
  std::optional<std::int64_t> expires_unix;
  bool expires_invalid = false;
};

// Every Cache-Control line of `headers` (combined, RFC 9110 §5.3), or the CDN-Cache-Control
// lines when they parse as a valid list of directives. A valued directive present twice keeps
// its first value (RFC 9111 §4.2.1); flags are set wherever they appear, so conflicting
// directives resolve to the most restrictive (no-store over everything, an unqualified
// private or no-cache over a qualified one).
ResponseCacheControl parse_response_cache_control(const HeaderList& headers);

// The request directives of RFC 9111 §5.2.1. `cache_control` is the combined value of every
// Cache-Control line; `pragma` is used only when there is no Cache-Control (§5.4).
struct RequestCacheControl {
  bool no_cache = false;  // also "max-age=0" and "Pragma: no-cache"
  bool no_store = false;
  bool only_if_cached = false;
  std::optional<std::int64_t> max_age;
  std::optional<std::int64_t> min_fresh;
  // max-stale without a value accepts any staleness: kDeltaSecondsMax.
  std::optional<std::int64_t> max_stale;
};
RequestCacheControl parse_request_cache_control(std::string_view cache_control,
                                                std::string_view pragma);

// delta-seconds (RFC 9111 §1.2.2): 1*DIGIT, a value too large to represent capped at
// kDeltaSecondsMax; nullopt for anything else (empty, signed, quoted, with a suffix).
std::optional<std::int64_t> parse_delta_seconds(std::string_view text) noexcept;

// A token (RFC 9110 §5.6.2): one or more tchar; also the form of a field name (§5.1).
bool is_http_token(std::string_view text) noexcept;

// An HTTP-date in any of the three formats of RFC 9110 §5.6.7 (IMF-fixdate, RFC 850,
// asctime), as unix seconds; nullopt when it is not one.
std::optional<std::int64_t> parse_http_date(std::string_view text);
// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string format_http_date(std::int64_t unix_seconds);

}  // namespace cachecar::policy
