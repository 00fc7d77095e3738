#include "policy/cache_control.hpp"

#include "core/strings.hpp"

#include <array>
#include <cstdio>

namespace cachecar::policy {
namespace {

// tchar of RFC 9110 §5.6.2.
bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return kSpecials.find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) noexcept {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

// One cache directive (RFC 9111 §5.2): a token name, optionally "=" and an argument in token or
// quoted-string form (RFC 9110 §5.6.4; the quoted form is returned unescaped).
struct Directive {
  std::string_view name;
  std::string argument;  // unescaped
  bool has_argument = false;
  bool quoted = false;
};

// Calls fn(directive) for each directive of a Cache-Control-style value. Unlike
// core::for_each_list_item this honours quoted-strings, so `private="a, no-store"` is one
// directive named "private" and the quoted text is never mistaken for a directive. Returns
// false when the value is not a well-formed list of directives (a name that is not a token,
// an unterminated quoted-string, text after one); the well-formed items are still reported.
// Empty list elements are allowed (RFC 9110 §5.6.1).
template <class Fn>
bool for_each_directive(std::string_view value, Fn&& fn) {
  bool valid = true;
  std::size_t i = 0;
  while (i <= value.size()) {
    // One list element: up to the next comma outside a quoted-string.
    std::size_t end = i;
    bool quoted = false;
    bool terminated = true;
    for (; end < value.size(); ++end) {
      const char c = value[end];
      if (quoted) {
        if (c == '\\') {
          ++end;  // quoted-pair: skip the escaped character
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        break;
      }
    }
    if (quoted) terminated = false;
    if (end > value.size()) end = value.size();  // a trailing backslash inside quotes
    const std::string_view item = core::trim(value.substr(i, end - i));
    i = end + 1;
    if (item.empty()) continue;
    if (!terminated) {
      valid = false;
      continue;
    }

    Directive directive;
    const auto equals = item.find('=');
    directive.name = core::trim(item.substr(0, equals));
    if (!is_token(directive.name)) {
      valid = false;
      continue;
    }
    if (equals != std::string_view::npos) {
      directive.has_argument = true;
      const std::string_view raw = core::trim(item.substr(equals + 1));
      if (raw.starts_with('"')) {
        directive.quoted = true;
        std::size_t k = 1;
        bool closed = false;
        for (; k < raw.size(); ++k) {
          if (raw[k] == '\\' && k + 1 < raw.size()) {
            directive.argument += raw[++k];
          } else if (raw[k] == '"') {
            closed = true;
            break;
          } else {
            directive.argument += raw[k];
          }
        }
        if (!closed || k + 1 != raw.size()) {  // text after the closing quote
          valid = false;
          continue;
        }
      } else {
        if (!raw.empty() && !is_token(raw)) valid = false;
        directive.argument = std::string(raw);
      }
    }
    fn(directive);
  }
  return valid;
}

// The token form is required for these arguments (RFC 9111 §5.2.2.1, §5.2.2.10: a sender MUST
// NOT generate the quoted form); a quoted, negative, suffixed or empty value is treated as
// invalid rather than guessed at.
std::optional<std::int64_t> directive_seconds(const Directive& directive) noexcept {
  if (!directive.has_argument || directive.quoted) return std::nullopt;
  return parse_delta_seconds(directive.argument);
}

// The field names of a qualified no-cache="..." / private="..." (RFC 9111 §5.2.2.4, §5.2.2.7),
// lower-cased and without duplicates.
void append_field_names(std::vector<std::string>& names, std::string_view list) {
  core::for_each_list_item(list, [&](std::string_view name) {
    std::string lower = core::to_lower(name);
    for (const auto& existing : names) {
      if (existing == lower) return;
    }
    names.push_back(std::move(lower));
  });
}

// Applies one response directive. A valued directive present twice keeps its first value
// (RFC 9111 §4.2.1: "either the first occurrence should be used or the response should be
// considered stale"); a flag present anywhere is set, so the most restrictive reading wins.
void apply_response_directive(ResponseCacheControl& cc, const Directive& d) {
  const std::string_view name = d.name;
  auto first_seconds = [&](std::optional<std::int64_t>& slot, bool invalid_is_stale) {
    if (slot) return;
    const auto seconds = directive_seconds(d);
    if (seconds) {
      slot = seconds;
    } else if (invalid_is_stale) {
      // RFC 9111 §4.2.1, §1.2.2: an invalid max-age / s-maxage makes the response stale.
      slot = 0;
    }
  };
  if (core::iequals(name, "max-age")) {
    first_seconds(cc.max_age, true);
  } else if (core::iequals(name, "s-maxage")) {
    first_seconds(cc.s_maxage, true);
  } else if (core::iequals(name, "stale-while-revalidate")) {
    first_seconds(cc.stale_while_revalidate, false);  // RFC 5861 §3: invalid is ignored
  } else if (core::iequals(name, "stale-if-error")) {
    first_seconds(cc.stale_if_error, false);  // RFC 5861 §4
  } else if (core::iequals(name, "no-store")) {
    cc.no_store = true;
  } else if (core::iequals(name, "no-cache")) {
    // RFC 9111 §5.2.2.4: qualified, only the named fields need validation (cachecar does not
    // store them); unqualified, the whole response does.
    if (d.has_argument && !d.argument.empty()) {
      append_field_names(cc.no_cache_fields, d.argument);
    } else {
      cc.no_cache = true;
    }
  } else if (core::iequals(name, "private")) {
    // RFC 9111 §5.2.2.7: qualified, only the named fields are private.
    if (d.has_argument && !d.argument.empty()) {
      append_field_names(cc.private_fields, d.argument);
    } else {
      cc.is_private = true;
    }
  } else if (core::iequals(name, "public")) {
    cc.is_public = true;
  } else if (core::iequals(name, "must-revalidate")) {
    cc.must_revalidate = true;
  } else if (core::iequals(name, "proxy-revalidate")) {
    cc.proxy_revalidate = true;
  }
  // Unknown directives are ignored (RFC 9111 §5.2.3).
}

// Parses every line named `field`; false when any line is not a well-formed directive list or
// every line is empty.
bool parse_lines(const HeaderList& headers, std::string_view field, ResponseCacheControl& cc) {
  bool valid = true;
  bool any_directive = false;
  for (const auto& [name, value] : headers) {
    if (!core::iequals(name, field)) continue;
    valid = for_each_directive(value,
                               [&](const Directive& d) {
                                 any_directive = true;
                                 apply_response_directive(cc, d);
                               }) &&
            valid;
  }
  return valid && any_directive;
}

// Calendar arithmetic without the C library (no TZ, no locale): days since 1970-01-01 of a
// proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};
Civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Civil{static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

bool is_leap(std::int64_t y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Names are case-sensitive (RFC 9110 §5.6.7: %s"Mon").
constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDayNames = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

template <std::size_t N>
bool is_one_of(std::string_view text, const std::array<std::string_view, N>& names) noexcept {
  for (const auto name : names) {
    if (text == name) return true;
  }
  return false;
}

unsigned month_number(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kMonthNames.size(); ++i) {
    if (text == kMonthNames[i]) return static_cast<unsigned>(i + 1);
  }
  return 0;
}

// Exactly `text.size()` digits; -1 when not.
int digits(std::string_view text) noexcept {
  if (text.empty()) return -1;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "HH:MM:SS" (RFC 9110 §5.6.7 time-of-day; a leap second 60 is allowed and counts as the
// first second of the next minute).
std::optional<std::int64_t> time_of_day(std::string_view text) noexcept {
  if (text.size() != 8 || text[2] != ':' || text[5] != ':') return std::nullopt;
  const int h = digits(text.substr(0, 2));
  const int m = digits(text.substr(3, 2));
  const int s = digits(text.substr(6, 2));
  if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 60) return std::nullopt;
  return std::int64_t{h} * 3600 + m * 60 + s;
}

std::optional<std::int64_t> to_unix(std::int64_t year, unsigned month, int day,
                                    std::optional<std::int64_t> seconds) noexcept {
  if (month == 0 || day < 1 || static_cast<unsigned>(day) > days_in_month(year, month) ||
      !seconds) {
    return std::nullopt;
  }
  return days_from_civil(year, month, static_cast<unsigned>(day)) * 86400 + *seconds;
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::int64_t> parse_imf_fixdate(std::string_view t) noexcept {
  if (t.size() != 29 || t.substr(3, 2) != ", " || t[7] != ' ' || t[11] != ' ' || t[16] != ' ' ||
      t[25] != ' ' || t.substr(26) != "GMT" || !is_one_of(t.substr(0, 3), kDayNames)) {
    return std::nullopt;
  }
  const int year = digits(t.substr(12, 4));
  if (year < 0) return std::nullopt;
  return to_unix(year, month_number(t.substr(8, 3)), digits(t.substr(5, 2)),
                 time_of_day(t.substr(17, 8)));
}

// Obsolete RFC 850 form: "Sunday, 06-Nov-94 08:49:37 GMT". Its two-digit year is read as
// 2000-2069 for 00-69 and 1970-1999 for 70-99: a fixed pivot instead of RFC 9110 §5.6.7's
// "more than 50 years in the future" rule, so the result does not depend on the clock (the two
// agree until 2019 + 50 years have passed for 69, i.e. for every date a server sends today).
std::optional<std::int64_t> parse_rfc850(std::string_view t) noexcept {
  const auto comma = t.find(", ");
  if (comma == std::string_view::npos || !is_one_of(t.substr(0, comma), kLongDayNames)) {
    return std::nullopt;
  }
  t.remove_prefix(comma + 2);
  // "06-Nov-94 08:49:37 GMT"
  if (t.size() != 22 || t[2] != '-' || t[6] != '-' || t[9] != ' ' || t[18] != ' ' ||
      t.substr(19) != "GMT") {
    return std::nullopt;
  }
  const int yy = digits(t.substr(7, 2));
  if (yy < 0) return std::nullopt;
  const int year = yy < 70 ? 2000 + yy : 1900 + yy;
  return to_unix(year, month_number(t.substr(3, 3)), digits(t.substr(0, 2)),
                 time_of_day(t.substr(10, 8)));
}

// asctime form: "Sun Nov  6 08:49:37 1994" (the day is a space-padded 2-character field).
std::optional<std::int64_t> parse_asctime(std::string_view t) noexcept {
  if (t.size() != 24 || t[3] != ' ' || t[7] != ' ' || t[10] != ' ' || t[19] != ' ' ||
      !is_one_of(t.substr(0, 3), kDayNames)) {
    return std::nullopt;
  }
  const std::string_view day_text = t.substr(8, 2);
  const int day = day_text[0] == ' ' ? digits(day_text.substr(1)) : digits(day_text);
  const int year = digits(t.substr(20, 4));
  if (year < 0) return std::nullopt;
  return to_unix(year, month_number(t.substr(4, 3)), day, time_of_day(t.substr(11, 8)));
}

}  // namespace

bool is_http_token(std::string_view text) noexcept {
  return is_token(text);
}

ResponseCacheControl parse_response_cache_control(const HeaderList& headers) {
  // RFC 9213 §2.1: a valid CDN-Cache-Control replaces Cache-Control and Expires for this cache;
  // an empty or unparsable one is ignored as if absent.
  ResponseCacheControl cdn;
  if (has_header(headers, "cdn-cache-control") && parse_lines(headers, "cdn-cache-control", cdn)) {
    cdn.from_cdn_cache_control = true;
    return cdn;
  }

  ResponseCacheControl cc;
  parse_lines(headers, "cache-control", cc);  // malformed items are skipped
  // RFC 9111 §5.3: an invalid Expires (including "0") means already expired; with several
  // lines, the first counts (§4.2.1).
  for (const auto& [name, value] : headers) {
    if (!core::iequals(name, "expires")) continue;
    cc.expires_unix = parse_http_date(value);
    cc.expires_invalid = !cc.expires_unix.has_value();
    break;
  }
  return cc;
}

RequestCacheControl parse_request_cache_control(std::string_view cache_control,
                                                std::string_view pragma) {
  RequestCacheControl cc;
  cache_control = core::trim(cache_control);
  if (cache_control.empty()) {
    // RFC 9111 §5.4: Pragma: no-cache counts as Cache-Control: no-cache only when the request
    // has no Cache-Control.
    core::for_each_list_item(pragma, [&](std::string_view item) {
      if (core::iequals(item, "no-cache")) cc.no_cache = true;
    });
    return cc;
  }
  // RFC 9111 §5.2.1; a valued directive present twice keeps its first value, an invalid value
  // is ignored.
  for_each_directive(cache_control, [&](const Directive& d) {
    const std::string_view name = d.name;
    if (core::iequals(name, "no-cache")) {
      cc.no_cache = true;
    } else if (core::iequals(name, "no-store")) {
      cc.no_store = true;
    } else if (core::iequals(name, "only-if-cached")) {
      cc.only_if_cached = true;
    } else if (core::iequals(name, "max-age")) {
      if (!cc.max_age) cc.max_age = directive_seconds(d);
      // §5.2.1.1: max-age=0 asks for a response validated now, as no-cache does.
      if (cc.max_age == 0) cc.no_cache = true;
    } else if (core::iequals(name, "min-fresh")) {
      if (!cc.min_fresh) cc.min_fresh = directive_seconds(d);
    } else if (core::iequals(name, "max-stale")) {
      // §5.2.1.2: without a value, a stale response of any staleness is acceptable.
      if (!cc.max_stale) cc.max_stale = d.has_argument ? directive_seconds(d) : kDeltaSecondsMax;
    }
  });
  return cc;
}

std::optional<std::int64_t> parse_delta_seconds(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (value < kDeltaSecondsMax) value = value * 10 + (c - '0');
  }
  return value < kDeltaSecondsMax ? value : kDeltaSecondsMax;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  text = core::trim(text);
  // RFC 9110 §5.6.7: recipients accept all three formats; the fixed-length forms are told apart
  // by the character after the day name.
  if (text.size() == 29 && text[3] == ',') return parse_imf_fixdate(text);
  if (text.size() == 24 && text[3] == ' ') return parse_asctime(text);
  return parse_rfc850(text);
}

std::string format_http_date(std::int64_t unix_seconds) {
  std::int64_t days = unix_seconds / 86400;
  std::int64_t secs = unix_seconds % 86400;
  if (secs < 0) {  // floor division for dates before 1970
    secs += 86400;
    --days;
  }
  const Civil civil = civil_from_days(days);
  // 1970-01-01 was a Thursday (index 3 of kDayNames).
  const auto weekday = static_cast<std::size_t>(((days % 7) + 7 + 3) % 7);
  char buffer[64];
  const int n = std::snprintf(
      buffer, sizeof buffer, "%.3s, %02u %.3s %04lld %02d:%02d:%02d GMT", kDayNames[weekday].data(),
      civil.day, kMonthNames[civil.month - 1].data(), static_cast<long long>(civil.year),
      static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace cachecar::policy
