// HTTP/1.1 message framing (RFC 9112) shared by every server loop: the parser with all our
// limits, the checks a request or response head must pass before its body is read, and the
// read error -> status mapping. No sockets: fuzz targets and unit tests call these directly.
#pragma once

#include "net/http_types.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace cachecar::net {

// Beast keeps each field's name and value length in 16 bits and throws std::length_error past
// that (from inside a composed read, where nothing can catch it per request).
inline constexpr std::size_t kMaxFieldPartBytes = std::numeric_limits<std::uint16_t>::max() - 2;

// Beast's parser plus the limits it lacks. Beast applies header_limit to the head only: a
// trailer section (RFC 9112 §7.1.2) is unbounded, and one long field throws. Here each field is
// bounded, and trailer fields are counted against trailer_limit (error::header_limit past it)
// and dropped: cachecar re-frames bodies and never forwards trailers, and RFC 9110 §6.5.1 does
// not let a recipient merge them into the header section (where they would override it).
// The read buffer must be bounded as well (read_buffer_limit): Beast buffers a trailer
// section or chunk extension whole before it calls anything here.
template <bool isRequest, class Body>
class BoundedParser : public http::parser<isRequest, Body> {
 public:
  void trailer_limit(std::uint32_t bytes) noexcept { trailer_limit_ = bytes; }

 private:
  void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                     error_code& ec) override {
    if (this->is_header_done()) {
      trailer_bytes_ += name_string.size() + value.size() + 4;  // ": " and CRLF
      if (trailer_bytes_ > trailer_limit_) ec = http::error::header_limit;
      return;
    }
    if (name_string.size() > kMaxFieldPartBytes || value.size() > kMaxFieldPartBytes) {
      ec = http::error::header_limit;
      return;
    }
    this->get().insert(name, name_string, value);
  }

  std::uint32_t trailer_limit_ = 8 * 1024;
  std::uint64_t trailer_bytes_ = 0;
};

template <class Body>
using RequestParser = BoundedParser<true, Body>;
template <class Body>
using ResponseParser = BoundedParser<false, Body>;

struct RequestLimits {
  std::uint32_t max_header_bytes = 16 * 1024;  // the head; the trailer section separately
  std::uint64_t max_body_bytes = 1 << 20;
};

// Applies `limits` to a fresh request parser (the same set-up for every server loop).
template <class Body>
void configure_request_parser(RequestParser<Body>& parser, const RequestLimits& limits) {
  parser.header_limit(limits.max_header_bytes);
  parser.trailer_limit(limits.max_header_bytes);
  parser.body_limit(limits.max_body_bytes);
}

// The largest read buffer a connection needs: one head or trailer section plus one read.
// Beast then fails with error::buffer_overflow instead of buffering a chunk line or a trailer
// section of any size.
std::size_t read_buffer_limit(std::uint32_t max_header_bytes) noexcept;

// A request refused before (or while) its body is read.
struct Rejection {
  int status = 400;                       // 400, 413, 431 or 501
  std::string_view code = "bad_request";  // the JSON error code
  std::string detail;
};

// RFC 9112 §3.2 and §6.1-6.3 on a parsed request head; nullopt when it may be served.
// - Host: exactly one field line; HTTP/1.0 may omit it. Otherwise 400.
// - Transfer-Encoding (any field lines, read as one list): 400 with Content-Length (possible
//   smuggling), in HTTP/1.0, when chunked is not the final coding or appears twice; 501 when
//   another coding precedes the final chunked (bodies are re-framed, which would mislabel it).
std::optional<Rejection> check_request_framing(const http::request_header<>& head);

// RFC 9112 §6.1 on an upstream response head: the only transfer coding cachecar relays is a
// single chunked (HTTP/1.1, no Content-Length). false: answer 502, keep nothing.
bool response_framing_ok(const http::response_header<>& head);

// The answer to a request that failed to parse: 431 (head, trailers or a line too large), 413
// (body limit), 400 (malformed, invalid chunked framing); nullopt when the client went away or
// timed out, so there is no one to answer.
std::optional<Rejection> rejection_for_read_error(const error_code& ec);

// The whole response for a rejection: JSON body (json_error_body), Connection: close.
std::string render_rejection(const Rejection& rejection);

}  // namespace cachecar::net
