// Whether a request may be answered from the cache, and whether a response may be stored.
#pragma once

#include "policy/compression.hpp"
#include "policy/freshness.hpp"
#include "policy/http_view.hpp"
#include "policy/rules.hpp"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::policy {

struct CacheLimits {
  std::chrono::milliseconds default_ttl{60'000};
  std::chrono::milliseconds max_ttl{86'400'000};
  std::uint64_t max_body_bytes = 1 << 20;
  // freshness: upstream: an entry with a validator stays in the store this long past its
  // freshness (and stale windows), to be revalidated instead of refetched.
  std::chrono::milliseconds keep{3'600'000};
  std::chrono::milliseconds max_stale{3'600'000};  // caps every stale window
  CompressionConfig compression;                   // cache.compression
  TagOptions tags;                                 // cache.tag_header, cache.expose_tags
};

// Why a response was not stored; the text of each value is the RFC 9211 `detail`.
enum class NotStored {
  None,           // stored
  Status,         // a status this rule does not store (rule mode: not 200; RFC 9111 §3)
  SetCookie,      // response carries Set-Cookie
  NoStore,        // Cache-Control: no-store (or the client's no-store, when honoured)
  Private,        // Cache-Control: private
  Vary,           // Vary: * (never matches a request, RFC 9111 §4.1)
  TooLarge,       // body exceeded max_body_bytes
  Authorization,  // request carried Authorization and neither rule nor response allows it
  NoFreshness,    // freshness: upstream, no explicit freshness and no ttl or heuristic
  Range,          // a partial response (206) or an answer to a multi-range request
};
std::string_view detail_text(NotStored reason) noexcept;  // "status", "set-cookie", ...
std::ostream& operator<<(std::ostream& os, NotStored reason);

// How long a rule-mode rule keeps its entries: its ttl (else the default), capped at max_ttl.
std::chrono::milliseconds rule_lifetime(const Rule& rule, const CacheLimits& limits) noexcept;

// What a store decision needs besides the response.
struct StoreContext {
  const Rule* rule = nullptr;           // never null
  const CacheLimits* limits = nullptr;  // never null
  bool request_has_authorization = false;
  bool client_no_store = false;  // the request said no-store and the rule honours it
  std::int64_t request_ms = 0;   // unix ms: the request was sent upstream
  std::int64_t response_ms = 0;  // unix ms: the response head arrived
  // May be a lower bound while the body is still streaming (TooLarge once it exceeds the limit).
  std::uint64_t body_bytes = 0;
};

struct StoreDecision {
  NotStored reason = NotStored::None;
  Freshness freshness;               // valid when reason == None
  std::chrono::milliseconds ttl{0};  // the store's TTL: remaining freshness + longest stale
                                     // window (+ cache.keep with a validator, upstream mode)
  // Lower-cased names of fields not to store: those named by no-cache="..." / private="..."
  // (RFC 9111 §5.2.2.4, §5.2.2.7). is_unstorable_header() fields are dropped anyway.
  std::vector<std::string> strip_fields;
  bool store() const noexcept { return reason == NotStored::None; }
};

// Whether, and for how long, a response to a GET may be stored (RFC 9111 §3, §4.2). Rule mode:
// status 200, lifetime rule_lifetime() from when it was received (the upstream's Age still
// counts in the Age field), stale windows from the rule. Upstream mode: §4.2.1 lifetime (or
// the heuristic or ttl), storable statuses of §3, stale windows from the response (else the
// rule), capped by cache.max_ttl and cache.max_stale. Both: no-store/private/Set-Cookie unless
// rule.cache_private; Vary: * is not stored.
StoreDecision decide_store(const ResponseView& response, const StoreContext& context);

// Headers that must never be stored in or replayed from an entry: hop-by-hop fields
// (RFC 9110 §7.6.1), fields named in Connection, framing (Content-Length, Transfer-Encoding),
// per-response fields cachecar adds (Age, X-Cache, Cache-Status), and Set-Cookie.
bool is_unstorable_header(std::string_view name) noexcept;

}  // namespace cachecar::policy
