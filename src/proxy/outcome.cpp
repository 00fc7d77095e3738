#include "proxy/outcome.hpp"

namespace cachecar::proxy {

std::string_view to_string(Forward fwd) noexcept {
  switch (fwd) {
    case Forward::Bypass:
      return "bypass";
    case Forward::Method:
      return "method";
    case Forward::UriMiss:
      return "uri-miss";
    case Forward::Miss:
      return "miss";
    case Forward::Request:
      return "request";
    case Forward::Stale:
      return "stale";
  }
  return "request";
}

std::ostream& operator<<(std::ostream& os, Forward fwd) {
  return os << to_string(fwd);
}

std::string_view to_string(Detail detail) noexcept {
  switch (detail) {
    case Detail::None:
      return "";
    case Detail::L1:
      return "l1";
    case Detail::NoRule:
      return "no-rule";
    case Detail::Host:
      return "host";
    case Detail::Authorization:
      return "authorization";
    case Detail::PendingInvalidation:
      return "pending-invalidation";
    case Detail::StoreError:
      return "store-error";
    case Detail::OvertakenByWrite:
      return "overtaken-by-write";
    case Detail::NotStorable:
      return "not-storable";
    case Detail::StaleIfError:
      return "stale-if-error";
    case Detail::OnlyIfCached:
      return "only-if-cached";
    case Detail::MultiRange:
      return "multi-range";
    case Detail::RateLimited:
      return "rate-limited";
  }
  return "";
}

std::ostream& operator<<(std::ostream& os, Detail detail) {
  return os << to_string(detail);
}

std::string_view CacheResult::detail_text() const noexcept {
  return detail == Detail::NotStorable ? policy::detail_text(not_stored) : to_string(detail);
}

std::string_view CacheResult::x_cache() const noexcept {
  if (stale) return "STALE";
  if (revalidated) return "REVALIDATED";
  switch (outcome) {
    case metrics::CacheOutcome::Hit:
      return "HIT";
    case metrics::CacheOutcome::Miss:
      return "MISS";
    case metrics::CacheOutcome::Bypass:
      return "BYPASS";
    case metrics::CacheOutcome::Uncacheable:
    case metrics::CacheOutcome::Pass:
      return "PASS";
  }
  return "PASS";
}

std::string CacheResult::cache_status() const {
  const std::string_view text = detail_text();
  std::string value = "cachecar; ";
  if (outcome == metrics::CacheOutcome::Hit && !forwarded) {
    value.append("hit");
    if (ttl) {
      value.append("; ttl=");
      value.append(std::to_string(*ttl));
    }
  } else {
    value.append("fwd=");
    value.append(to_string(fwd));
    if (fwd_status != 0) {
      value.append("; fwd-status=");
      value.append(std::to_string(fwd_status));
    }
    if (stored) value.append("; stored");
    if (collapsed) value.append("; collapsed");
  }
  if (!text.empty()) {
    value.append("; detail=");
    value.append(text);
  }
  return value;
}

}  // namespace cachecar::proxy
