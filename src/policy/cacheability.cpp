#include "policy/cacheability.hpp"

#include "core/strings.hpp"

#include <algorithm>
#include <array>

namespace cachecar::policy {
namespace {

// Calls fn(name) with the name of each directive in a Cache-Control value. Unlike
// core::for_each_list_item this honours quoted-strings, so `private="a, no-store"` is one
// directive named "private" and the quoted text is never mistaken for a directive.
template <class Fn>
void for_each_directive_name(std::string_view value, Fn&& fn) {
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size()) {
      const char c = value[i];
      if (quoted) {
        if (c == '\\') {
          ++i;  // quoted-pair: skip the escaped character
        } else if (c == '"') {
          quoted = false;
        }
        continue;
      }
      if (c == '"') {
        quoted = true;
        continue;
      }
      if (c != ',') continue;
    }
    const std::string_view item = value.substr(start, i - start);
    const auto name = core::trim(item.substr(0, item.find('=')));
    if (!name.empty()) fn(name);
    start = i + 1;
  }
}

struct CacheControl {
  bool no_store = false;
  bool is_private = false;
};

CacheControl parse_cache_control(const HeaderList& headers) {
  CacheControl cc;
  for (const auto& [field, value] : headers) {
    if (!core::iequals(field, "cache-control")) continue;
    for_each_directive_name(value, [&](std::string_view name) {
      if (core::iequals(name, "no-store")) cc.no_store = true;
      if (core::iequals(name, "private")) cc.is_private = true;
    });
  }
  return cc;
}

// Only a Vary on Accept-Encoding of an identity-encoded body is safe to store under one key:
// the stored representation is then the same whatever the client accepts. Anything else
// (Vary: *, Vary: Cookie, or a compressed body) would need one entry per variant.
bool vary_prevents_storing(const HeaderList& headers) {
  bool varies_on_encoding = false;
  bool varies_on_other = false;
  for (const auto& [field, value] : headers) {
    if (!core::iequals(field, "vary")) continue;
    core::for_each_list_item(value, [&](std::string_view token) {
      if (core::iequals(token, "accept-encoding")) {
        varies_on_encoding = true;
      } else {
        varies_on_other = true;  // includes "*"
      }
    });
  }
  if (varies_on_other) return true;
  if (!varies_on_encoding) return false;
  for (const auto& [field, value] : headers) {
    if (!core::iequals(field, "content-encoding")) continue;
    bool encoded = false;
    core::for_each_list_item(value, [&](std::string_view coding) {
      if (!core::iequals(coding, "identity")) encoded = true;
    });
    if (encoded) return true;
  }
  return false;
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
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, NotStored reason) {
  return os << detail_text(reason);
}

std::chrono::milliseconds rule_lifetime(const Rule& rule, const CacheLimits& limits) noexcept {
  return std::min(rule.ttl.value_or(limits.default_ttl), limits.max_ttl);
}

std::chrono::milliseconds remaining_lifetime(std::chrono::milliseconds lifetime,
                                             std::int64_t generated_at_ms,
                                             std::int64_t now_ms) noexcept {
  return lifetime - std::chrono::milliseconds(now_ms - generated_at_ms);
}

StoreDecision decide_store(const Rule& rule, const ResponseView& response,
                           bool request_has_authorization, std::uint64_t body_bytes,
                           const CacheLimits& limits) {
  const HeaderList& headers = *response.headers;
  auto refuse = [](NotStored reason) {
    return StoreDecision{reason, std::chrono::milliseconds{0}};
  };

  if (request_has_authorization && !rule.cache_authorized) return refuse(NotStored::Authorization);
  if (response.status != 200) return refuse(NotStored::Status);
  if (body_bytes > limits.max_body_bytes) return refuse(NotStored::TooLarge);
  if (!rule.cache_private) {
    if (has_header(headers, "set-cookie")) return refuse(NotStored::SetCookie);
    const CacheControl cc = parse_cache_control(headers);
    if (cc.no_store) return refuse(NotStored::NoStore);
    if (cc.is_private) return refuse(NotStored::Private);
  }
  if (vary_prevents_storing(headers)) return refuse(NotStored::Vary);

  return StoreDecision{NotStored::None, rule_lifetime(rule, limits)};
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
