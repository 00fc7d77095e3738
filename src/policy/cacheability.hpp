// Whether a request may be answered from the cache, and whether a response may be stored.
#pragma once

#include "policy/http_view.hpp"
#include "policy/rules.hpp"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string_view>

namespace cachecar::policy {

struct CacheLimits {
  std::chrono::milliseconds default_ttl{60'000};
  std::chrono::milliseconds max_ttl{86'400'000};
  std::uint64_t max_body_bytes = 1 << 20;
};

// Why a response was not stored; the text of each value is the RFC 9211 `detail`.
enum class NotStored {
  None,           // stored
  Status,         // not a 200
  SetCookie,      // response carries Set-Cookie
  NoStore,        // Cache-Control: no-store
  Private,        // Cache-Control: private
  Vary,           // Vary on something other than Accept-Encoding of an identity body
  TooLarge,       // body exceeded max_body_bytes
  Authorization,  // request carried Authorization and the rule does not allow it
};
std::string_view detail_text(NotStored reason) noexcept;  // "status", "set-cookie", ...
std::ostream& operator<<(std::ostream& os, NotStored reason);

struct StoreDecision {
  NotStored reason = NotStored::None;
  std::chrono::milliseconds ttl{0};  // valid when reason == None
  bool store() const noexcept { return reason == NotStored::None; }
};

// How long a rule keeps its entries: its ttl (else the default), capped at max_ttl.
std::chrono::milliseconds rule_lifetime(const Rule& rule, const CacheLimits& limits) noexcept;

// What is left of `lifetime` for a response generated at generated_at_ms (unix ms), at now_ms;
// zero or less once it has expired.
std::chrono::milliseconds remaining_lifetime(std::chrono::milliseconds lifetime,
                                             std::int64_t generated_at_ms,
                                             std::int64_t now_ms) noexcept;

// For a GET whose rule has a ttl. `body_bytes` may be a lower bound when the body is still
// streaming (TooLarge as soon as it exceeds the limit). TTL = rule_lifetime(). With
// rule.cache_private, no-store/private/Set-Cookie do not prevent storing.
StoreDecision decide_store(const Rule& rule, const ResponseView& response,
                           bool request_has_authorization, std::uint64_t body_bytes,
                           const CacheLimits& limits);

// Headers that must never be stored in or replayed from an entry: hop-by-hop fields
// (RFC 9110 §7.6.1), fields named in Connection, framing (Content-Length, Transfer-Encoding),
// per-response fields cachecar adds (Age, X-Cache, Cache-Status), and Set-Cookie.
bool is_unstorable_header(std::string_view name) noexcept;

}  // namespace cachecar::policy
