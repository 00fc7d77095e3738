#include "policy/cacheability.hpp"

#include "core/strings.hpp"
#include "policy/cache_control.hpp"
#include "policy/vary.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace cachecar::policy {
namespace {

using std::chrono::milliseconds;

std::int64_t ms_of(milliseconds d) noexcept {
  return std::max<std::int64_t>(0, d.count());
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return core::iequals(n, name); });
}

// An HTTP-date field as unix ms; nullopt when absent or invalid.
std::optional<std::int64_t> date_field_ms(const HeaderList& headers, std::string_view name) {
  for (const auto& [field, value] : headers) {
    if (!core::iequals(field, name)) continue;
    const auto seconds = parse_http_date(value);
    if (!seconds) return std::nullopt;
    return *seconds * 1000;
  }
  return std::nullopt;
}

// The Age field in seconds: a non-negative integer (RFC 9111 §5.1); anything else counts as 0,
// a value too large to represent as 2^31 (§1.2.2).
std::int64_t age_field_seconds(const HeaderList& headers) {
  return parse_delta_seconds(core::trim(find_header(headers, "age"))).value_or(0);
}

// RFC 9111 §4.2.3:
//   apparent_age = max(0, response_time - date_value);
//   response_delay = response_time - request_time;
//   corrected_age_value = age_value + response_delay;
//   corrected_initial_age = max(apparent_age, corrected_age_value).
// Without a valid Date the apparent age is 0 (the response is taken as generated on arrival).
std::int64_t corrected_initial_age_ms(const HeaderList& headers, const StoreContext& context,
                                      std::optional<std::int64_t> date_ms) {
  const std::int64_t apparent_age =
      date_ms ? std::max<std::int64_t>(0, context.response_ms - *date_ms) : 0;
  const std::int64_t response_delay =
      std::max<std::int64_t>(0, context.response_ms - context.request_ms);
  const std::int64_t corrected_age_value = age_field_seconds(headers) * 1000 + response_delay;
  return std::max(apparent_age, corrected_age_value);
}

// Without explicit freshness only these may be stored, by heuristic or configured lifetime
// (RFC 9110 §15.1 "heuristically cacheable", RFC 9111 §4.2.2).
bool heuristically_cacheable(int status) noexcept {
  static constexpr std::array<int, 11> kStatuses = {200, 203, 204, 300, 301, 308,
                                                    404, 405, 410, 414, 501};
  return std::find(kStatuses.begin(), kStatuses.end(), status) != kStatuses.end();
}

// RFC 9111 §4.2.1: s-maxage (shared caches), else max-age, else Expires - Date; nullopt when
// the response has none of them. An invalid Expires means already expired (§5.3).
std::optional<std::int64_t> explicit_lifetime_ms(const ResponseCacheControl& cc,
                                                 std::optional<std::int64_t> date_ms,
                                                 std::int64_t response_ms) {
  if (cc.s_maxage) return *cc.s_maxage * 1000;
  if (cc.max_age) return *cc.max_age * 1000;
  if (cc.expires_invalid) return 0;
  if (cc.expires_unix) {
    // §4.2.1: without a Date, the time the response was received stands in for it.
    return std::max<std::int64_t>(0, *cc.expires_unix * 1000 - date_ms.value_or(response_ms));
  }
  return std::nullopt;
}

// How an upstream-mode rule gives a lifetime to a response without explicit freshness:
// RFC 9111 §4.2.2's typical heuristic (10 % of the time since Last-Modified), capped by the
// rule's ttl when it has one; else the ttl; nullopt when neither applies.
std::optional<std::int64_t> fallback_lifetime_ms(const Rule& rule, const HeaderList& headers,
                                                 std::optional<std::int64_t> date_ms,
                                                 std::int64_t response_ms) {
  const std::optional<std::int64_t> ttl_ms = rule.ttl && rule.ttl->count() > 0
                                                 ? std::optional<std::int64_t>(rule.ttl->count())
                                                 : std::nullopt;
  if (rule.heuristic) {
    if (const auto last_modified = date_field_ms(headers, "last-modified")) {
      const std::int64_t since = date_ms.value_or(response_ms) - *last_modified;
      std::int64_t lifetime = std::max<std::int64_t>(0, since / 10);
      if (ttl_ms) lifetime = std::min(lifetime, *ttl_ms);
      return lifetime;
    }
  }
  return ttl_ms;
}

StoreDecision refuse(NotStored reason) {
  StoreDecision decision;
  decision.reason = reason;
  return decision;
}

}  // namespace

std::string_view detail_text(NotStored reason) noexcept {
  switch (reason) {
    case NotStored::None:
      return "stored";
    case NotStored::Status:
      return "status";
    case NotStored::SetCookie:
      return "set-cookie";
    case NotStored::NoStore:
      return "no-store";
    case NotStored::Private:
      return "private";
    case NotStored::Vary:
      return "vary";
    case NotStored::TooLarge:
      return "too-large";
    case NotStored::Authorization:
      return "authorization";
    case NotStored::NoFreshness:
      return "no-freshness";
    case NotStored::Range:
      return "range";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, NotStored reason) {
  return os << detail_text(reason);
}

std::chrono::milliseconds rule_lifetime(const Rule& rule, const CacheLimits& limits) noexcept {
  return std::min(rule.ttl.value_or(limits.default_ttl), limits.max_ttl);
}

StoreDecision decide_store(const ResponseView& response, const StoreContext& context) {
  const HeaderList& headers = *response.headers;
  const Rule& rule = *context.rule;
  const CacheLimits& limits = *context.limits;
  const bool upstream_mode = rule.freshness == FreshnessMode::Upstream;
  const ResponseCacheControl cc = parse_response_cache_control(headers);
  const std::optional<std::int64_t> date_ms = date_field_ms(headers, "date");

  // RFC 9111 §3.5: a response to a request with Authorization may be stored by a shared cache
  // only when public, s-maxage or must-revalidate allows it (a rule can allow it outright).
  const bool shared_with_authorization = cc.is_public || cc.s_maxage || cc.must_revalidate;
  if (context.request_has_authorization && !rule.cache_authorized &&
      !(upstream_mode && shared_with_authorization)) {
    return refuse(NotStored::Authorization);
  }

  std::optional<std::int64_t> explicit_ms;
  if (upstream_mode) {
    // RFC 9111 §3: a final status the cache understands; a 206 is never stored (ranges are
    // answered from a stored 200), nor a 304 (it only freshens, §4.3.4).
    if (response.status == 206) return refuse(NotStored::Range);
    if (response.status < 200 || response.status > 599 || response.status == 304) {
      return refuse(NotStored::Status);
    }
    explicit_ms = explicit_lifetime_ms(cc, date_ms, context.response_ms);
    // §3, §4.2.2: without explicit freshness, only heuristically cacheable statuses.
    if (!explicit_ms && !heuristically_cacheable(response.status)) {
      return refuse(NotStored::Status);
    }
  } else if (response.status != 200) {
    return refuse(NotStored::Status);
  }
  if (context.body_bytes > limits.max_body_bytes) return refuse(NotStored::TooLarge);
  if (!rule.cache_private) {
    // Set-Cookie is never stored (is_unstorable_header); a response carrying one is not stored
    // at all unless its only privacy is private="Set-Cookie" (§5.2.2.7), which says exactly that
    // the rest may be shared.
    if (has_header(headers, "set-cookie") && !contains(cc.private_fields, "set-cookie")) {
      return refuse(NotStored::SetCookie);
    }
    if (cc.no_store) return refuse(NotStored::NoStore);    // §5.2.2.5
    if (cc.is_private) return refuse(NotStored::Private);  // §5.2.2.7
  }
  if (context.client_no_store) return refuse(NotStored::NoStore);  // §5.2.1.5
  // Vary: * never matches a later request (RFC 9111 §4.1); other Vary fields select variants.
  if (vary_of(headers).any) return refuse(NotStored::Vary);

  StoreDecision decision;
  Freshness& f = decision.freshness;
  f.request_ms = context.request_ms;
  f.response_ms = context.response_ms;
  f.initial_age_ms = corrected_initial_age_ms(headers, context, date_ms);
  if (has_header(headers, "etag") || has_header(headers, "last-modified")) f.flags |= kHasValidator;
  if (shared_with_authorization) f.flags |= kSharedWithAuthorization;
  // §5.2.2.2, §5.2.2.8, §5.2.2.10: once stale, never served without revalidation.
  const bool must_revalidate = cc.must_revalidate || cc.proxy_revalidate || cc.s_maxage;
  if (must_revalidate) f.flags |= kMustRevalidate;

  const std::int64_t max_stale = ms_of(limits.max_stale);
  auto window = [&](std::optional<std::int64_t> directive_s, milliseconds rule_value) {
    if (must_revalidate) return std::int64_t{0};
    const std::int64_t ms = upstream_mode && directive_s ? *directive_s * 1000 : ms_of(rule_value);
    return std::min(ms, max_stale);
  };
  f.stale_while_revalidate_ms = window(cc.stale_while_revalidate, rule.stale_while_revalidate);
  f.stale_if_error_ms = window(cc.stale_if_error, rule.stale_if_error);
  const std::int64_t longest_window = std::max(f.stale_while_revalidate_ms, f.stale_if_error_ms);

  std::int64_t store_ttl_ms = 0;
  if (upstream_mode) {
    std::optional<std::int64_t> lifetime = explicit_ms;
    if (!lifetime) lifetime = fallback_lifetime_ms(rule, headers, date_ms, context.response_ms);
    // §5.2.2.4: a no-cache response is validated before every reuse, so it needs no lifetime
    // to be worth keeping (with a validator, for cache.keep): the common "no-cache + ETag" API.
    if (!lifetime && cc.no_cache) lifetime = 0;
    if (!lifetime) return refuse(NotStored::NoFreshness);
    f.lifetime_ms = std::min(*lifetime, ms_of(limits.max_ttl));
    if (cc.no_cache) f.flags |= kNoCache;  // §5.2.2.4: stored, validated before every reuse
    const std::int64_t keep = f.has(kHasValidator) ? ms_of(limits.keep) : 0;
    store_ttl_ms = (f.lifetime_ms - f.initial_age_ms) + std::max(longest_window, keep);
  } else {
    // Rule mode: fresh for the rule's lifetime from when it arrived; the upstream's Age still
    // shows in the Age field, so the lifetime is measured from the corrected initial age.
    const std::int64_t lifetime = ms_of(rule_lifetime(rule, limits));
    f.lifetime_ms = lifetime + f.initial_age_ms;
    store_ttl_ms = lifetime + longest_window;
  }
  if (store_ttl_ms <= 0) return refuse(NotStored::NoFreshness);
  decision.ttl = milliseconds(store_ttl_ms);

  decision.strip_fields = cc.no_cache_fields;
  for (const auto& name : cc.private_fields) {
    if (!contains(decision.strip_fields, name)) decision.strip_fields.push_back(name);
  }
  return decision;
}

bool is_unstorable_header(std::string_view name) noexcept {
  // Besides the hop-by-hop fields: framing (a hit sets its own Content-Length), what cachecar
  // adds per response, and a cookie meant for one client.
  static constexpr std::array<std::string_view, 5> kUnstorable = {
      "content-length", "age", "x-cache", "cache-status", "set-cookie"};
  return is_hop_by_hop(name) ||
         std::any_of(kUnstorable.begin(), kUnstorable.end(),
                     [&](std::string_view field) { return core::iequals(field, name); });
}

}  // namespace cachecar::policy
