// Rate limits of rules (`rate_limit: {limit, window, by, fail}`): the spec, who a request is
// counted as, the name of its budget, and the response fields that report it. Pure: the count
// itself lives in store/rate_limiter.hpp; time comes in as a parameter.
#pragma once

#include "core/cidr.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cachecar::policy {

// Whose budget a request spends.
enum class RateLimitBy {
  ClientIp,  // the client's address (the socket peer, or X-Forwarded-For through trusted_proxies)
  Header,    // the value of a request field (an API key); requests without it: ClientIp
};
std::string_view to_string(RateLimitBy by) noexcept;  // "client_ip", "header"
std::ostream& operator<<(std::ostream& os, RateLimitBy by);

// What happens to a request when its budget cannot be read (Redis down, breaker open, timeout).
enum class RateLimitFailure {
  Open,    // let it through (counted as fail_open)
  Closed,  // answer 503 (counted as fail_closed); the origin is not asked
};
std::string_view to_string(RateLimitFailure failure) noexcept;  // "open", "closed"
std::ostream& operator<<(std::ostream& os, RateLimitFailure failure);

inline constexpr std::uint64_t kMaxRateLimit = 1'000'000'000;
inline constexpr std::chrono::seconds kMaxRateLimitWindow{24 * 60 * 60};

struct RateLimitSpec {
  std::uint64_t limit = 1;         // requests per window, 1..kMaxRateLimit
  std::chrono::seconds window{1};  // whole seconds (RateLimit-Policy's w=), 1s..kMaxRateLimitWindow
  RateLimitBy by = RateLimitBy::ClientIp;
  std::string header;  // with RateLimitBy::Header: the field name as configured
  RateLimitFailure fail = RateLimitFailure::Open;

  bool operator==(const RateLimitSpec&) const = default;
};
std::ostream& operator<<(std::ostream& os, const RateLimitSpec& spec);

// Parses `by:`: "client_ip" or "header:<field-name>" (an RFC 9110 §5.1 token). Nullopt with
// *error set otherwise.
struct RateLimitIdentitySource {
  RateLimitBy by = RateLimitBy::ClientIp;
  std::string header;
};
std::optional<RateLimitIdentitySource> parse_rate_limit_by(std::string_view text,
                                                           std::string* error);

// The address a request is counted under: the socket peer, unless the peer is one of
// `trusted_proxies` (`peer_trusted`, decided once per connection). Then X-Forwarded-For (every
// line, combined in order) is read from the right, skipping the trusted proxies' own
// addresses: the first address that is not trusted is the client (the hops left of it were
// written by whoever the untrusted client is, and may be forged). If every address is trusted,
// the left-most is the client; an entry that is not an IP address ends the search (the address
// right of it, or the peer, is used). The result is canonical: IPv4 dotted (also for an
// IPv4-mapped IPv6 peer), IPv6 as eight lower-case hex groups, so that one client has one name.
std::string rate_limit_client_address(std::string_view peer, bool peer_trusted,
                                      std::string_view x_forwarded_for,
                                      const core::CidrSet& trusted_proxies);

// Who the request is counted as: "ip:<address>", or with RateLimitBy::Header and a non-empty
// `header_value` "key:<sha256 hex of the value>" (the value is usually a credential, and may be
// any length: it never appears in a Redis key name).
std::string rate_limit_identity(const RateLimitSpec& spec, std::string_view client_address,
                                std::optional<std::string_view> header_value);

// The logical name of one identity's budget under one rule: "__rl:<rule>:<identity>" (a store
// maps it to its key name, hashed with cache.key_hash like every other name).
std::string rate_limit_name(std::string_view rule_name, std::string_view identity);

// What the limiter said about one request.
struct RateLimitOutcome {
  bool allowed = true;
  std::uint64_t remaining = 0;               // requests left right now after this one
  std::chrono::milliseconds reset{0};        // until the whole budget is back
  std::chrono::milliseconds retry_after{0};  // when refused: until one request is allowed
};

// Whole seconds for a field, rounded up (a client that waits that long is never early); at
// least 1 for a positive duration.
std::int64_t ceil_seconds(std::chrono::milliseconds duration) noexcept;

// A refusal's Retry-After: ceil_seconds(retry_after), at least 1 ("0" would invite an immediate
// retry).
std::int64_t retry_after_seconds(const RateLimitOutcome& outcome) noexcept;

// The response fields of a rate-limited rule, the widely deployed form of the IETF httpapi
// rate-limit fields (draft-ietf-httpapi-ratelimit-headers): RateLimit-Limit, RateLimit-Remaining,
// RateLimit-Reset (seconds until the budget is whole again), RateLimit-Policy ("<limit>;w=<window
// seconds>") and, on a refusal, Retry-After (RFC 9110 §10.2.3, seconds). Without an outcome (the
// limiter could not be asked) only the two that do not depend on it: Limit and Policy.
std::vector<std::pair<std::string, std::string>> rate_limit_fields(
    const RateLimitSpec& spec, const std::optional<RateLimitOutcome>& outcome);

// A field of the rate-limit family (RateLimit, RateLimit-Limit, -Remaining, -Reset, -Policy;
// case-insensitive). On a rule cachecar limits, the origin's own are dropped: the client sees one
// policy, cachecar's, and a stored response does not replay the origin's counts of its fill.
bool is_rate_limit_field(std::string_view name) noexcept;
void strip_rate_limit_fields(std::vector<std::pair<std::string, std::string>>& fields);

// The JSON body of a 429: {"error": "rate_limited", "detail": ..., "retry_after": N}.
std::string rate_limited_body(std::int64_t retry_after_s);

}  // namespace cachecar::policy
