#include "policy/freshness.hpp"

#include <algorithm>
#include <limits>

namespace cachecar::policy {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kMax : kMin;
  return out;
}

std::int64_t saturating_sub(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) return b < 0 ? kMax : kMin;
  return out;
}

// Directive seconds as milliseconds; the parsers cap them at kDeltaSecondsMax already.
std::int64_t seconds_to_ms(std::int64_t seconds) noexcept {
  return std::clamp<std::int64_t>(seconds, 0, kDeltaSecondsMax) * 1000;
}

// Floor division by 1000, also for negative values.
std::int64_t floor_seconds(std::int64_t ms) noexcept {
  return ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1;
}

}  // namespace

std::int64_t current_age_ms(const Freshness& freshness, std::int64_t now_ms) noexcept {
  // RFC 9111 §4.2.3: resident_time = now - response_time; current_age =
  // corrected_initial_age + resident_time. A clock that went backwards adds nothing.
  const std::int64_t resident =
      std::max<std::int64_t>(0, saturating_sub(now_ms, freshness.response_ms));
  return std::max<std::int64_t>(
      0, saturating_add(std::max<std::int64_t>(0, freshness.initial_age_ms), resident));
}

ReuseDecision decide_reuse(const Freshness& freshness, std::int64_t now_ms,
                           const RequestCacheControl* client) noexcept {
  ReuseDecision out;
  const std::int64_t age = current_age_ms(freshness, now_ms);
  // RFC 9111 §4.2: fresh while freshness_lifetime > current_age.
  const std::int64_t fresh_left = saturating_sub(freshness.lifetime_ms, age);
  const std::int64_t staleness = fresh_left > 0 ? 0 : saturating_sub(0, fresh_left);
  out.age_s = age / 1000;
  // Rounded toward -inf: an entry 1 ms past its lifetime shows ttl=-1 (RFC 9211 §2.5: a
  // negative ttl means stale).
  out.ttl_s = floor_seconds(fresh_left);

  const bool must_revalidate = freshness.has(kMustRevalidate);
  const bool no_cache = freshness.has(kNoCache);
  // RFC 5861 §4, within RFC 9111 §4.2.4: never when must-revalidate (§5.2.2.2) or no-cache
  // (§5.2.2.4: not used "without successful validation") forbids serving it unvalidated.
  out.serve_on_error = !must_revalidate && !no_cache && staleness <= freshness.stale_if_error_ms;

  // RFC 9111 §5.2.2.4: no-cache responses are validated before every reuse.
  if (no_cache) return out;

  if (client != nullptr) {
    // §5.2.1.4: the client wants a response validated now.
    if (client->no_cache) return out;
    // §5.2.1.1: not older than max-age.
    if (client->max_age && age > seconds_to_ms(*client->max_age)) return out;
    // §5.2.1.3: still fresh for at least min-fresh.
    if (client->min_fresh && fresh_left < seconds_to_ms(*client->min_fresh)) return out;
    // §5.2.1.2: stale by no more than max-stale is acceptable, unless the response forbids
    // serving it stale (§5.2.2.2).
    if (fresh_left <= 0 && client->max_stale && !must_revalidate &&
        staleness <= seconds_to_ms(*client->max_stale)) {
      out.reuse = Reuse::Fresh;
      return out;
    }
  }

  if (fresh_left > 0) {
    out.reuse = Reuse::Fresh;
  } else if (!must_revalidate && staleness < freshness.stale_while_revalidate_ms) {
    out.reuse = Reuse::StaleWhileRevalidate;  // RFC 5861 §3
  }
  return out;
}

}  // namespace cachecar::policy
