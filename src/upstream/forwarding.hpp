// Message hygiene between client and upstream: hop-by-hop fields (RFC 9110 §7.6.1), the request
// head sent upstream, and the header list of an upstream response.
#pragma once

#include "net/http_types.hpp"
#include "policy/http_view.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cachecar::upstream {

namespace http = net::http;

enum class BodyFraming { None, ContentLength, Chunked };

struct UpstreamRequestHead {
  std::string_view method;
  std::string target;  // base path + path + query, bypass param already removed
  std::string_view client_ip;
  // The client is one of `trusted_proxies`: its forwarding fields are kept (see below).
  bool trusted_peer = false;
  std::string_view default_host;  // Host to send when the client sent none
  BodyFraming framing = BodyFraming::None;
  std::uint64_t content_length = 0;  // with ContentLength
  bool strip_conditionals = false;   // drop If-*, Range so a cache fill gets a full 200
  // A revalidation's own preconditions (the stored ETag / Last-Modified); "" = none.
  std::string_view if_none_match;
  std::string_view if_modified_since;
};

// "METHOD target HTTP/1.1\r\n" + forwardable client fields + Host + X-Forwarded-For/-Proto +
// framing + "\r\n". Drops hop-by-hop fields, Expect, the client's framing fields and
// kBypassTokenField. From a trusted peer the client's X-Forwarded-* and Forwarded are kept and
// client_ip is appended to X-Forwarded-For; from any other peer they are dropped, and
// X-Forwarded-For is client_ip alone and X-Forwarded-Proto is "http".
std::string render_upstream_request(const http::request_header<>& request,
                                    const UpstreamRequestHead& head);

// Carries the token that lets a request bypass the cache; never forwarded, never logged.
inline constexpr std::string_view kBypassTokenField = "X-Cachecar-Bypass";

// Whether a request may use the bypass param: always when no token is configured, otherwise
// only with exactly one kBypassTokenField line equal to `token` (compared in constant time).
bool bypass_authorized(const http::request_header<>& request, std::string_view token) noexcept;

// All fields of a message (an upstream response, a client request) in order, for policy.
policy::HeaderList collect_headers(const http::fields& message);

// Appends the fields of `headers` that may be relayed to the client: no hop-by-hop fields, no
// fields named in Connection, no framing fields (cachecar sets its own), no X-Cache or
// Cache-Status from upstream. Content-Length is kept only when keep_content_length (HEAD, 304).
void append_relayable_fields(std::string& out, const policy::HeaderList& headers,
                             bool keep_content_length);

}  // namespace cachecar::upstream
