#include "net/framing.hpp"

#include <cctype>

#include "core/strings.hpp"
#include "net/wire.hpp"

namespace cachecar::net {
namespace {

// Per read of the socket: Beast's own read size.
constexpr std::size_t kReadBytes = 64 * 1024;

// The transfer codings of a message, in order, over all its Transfer-Encoding field lines
// (RFC 9110 §5.3: several lines are one comma-separated list). Parameters are ignored.
struct Codings {
  bool present = false;
  bool empty = true;             // no coding named at all
  bool chunked_last = false;     // the final coding is chunked
  bool chunked_earlier = false;  // chunked before the final coding
  bool other_earlier = false;    // any other coding before the final one
  bool other_last = false;
};

template <class Fields>
Codings read_codings(const Fields& fields) {
  Codings c;
  bool have_previous = false;
  bool previous_chunked = false;
  auto range = fields.equal_range(http::field::transfer_encoding);
  for (auto it = range.first; it != range.second; ++it) {
    c.present = true;
    core::for_each_list_item(it->value(), [&](std::string_view item) {
      const auto coding = core::trim(item.substr(0, item.find(';')));
      if (have_previous) {
        c.chunked_earlier = c.chunked_earlier || previous_chunked;
        c.other_earlier = c.other_earlier || !previous_chunked;
      }
      have_previous = true;
      previous_chunked = core::iequals(coding, "chunked");
    });
  }
  c.empty = !have_previous;
  c.chunked_last = have_previous && previous_chunked;
  c.other_last = have_previous && !previous_chunked;
  return c;
}

// RFC 9110 §7.2 / RFC 3986 §3.2.2: Host = uri-host [ ":" port ], uri-host an IP-literal in
// brackets, an IPv4 address or a reg-name (unreserved, pct-encoded, sub-delims). Empty is valid
// (a target without authority). Anything else is refused rather than keyed or forwarded.
bool valid_host_value(std::string_view host) {
  std::string_view name = host;
  std::string_view port;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    const auto rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
    name = {};
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);
  }
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  for (char c : name) {
    const bool unreserved =
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
    const bool sub_delim = std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
    if (!unreserved && !sub_delim && c != '%') return false;
  }
  return true;
}

Rejection bad_request(std::string_view detail) {
  return Rejection{400, "bad_request", std::string(detail)};
}

}  // namespace

std::size_t read_buffer_limit(std::uint32_t max_header_bytes) noexcept {
  return static_cast<std::size_t>(max_header_bytes) + kReadBytes;
}

std::optional<Rejection> check_request_framing(const http::request_header<>& head) {
  // RFC 9112 §3.2: exactly one Host; with two, the cache key and the origin could each use a
  // different line.
  const auto hosts = head.count(http::field::host);
  if (hosts > 1) return bad_request("more than one Host field");
  if (hosts == 0 && head.version() >= 11) return bad_request("an HTTP/1.1 request needs Host");
  if (hosts == 1 && !valid_host_value(head[http::field::host])) {
    return bad_request("invalid Host field value");
  }

  const auto codings = read_codings(head);
  if (!codings.present) return std::nullopt;
  // RFC 9112 §6.1: Transfer-Encoding with Content-Length may be a smuggling attempt, and in
  // HTTP/1.0 the framing is faulty: either way the length is unknown, so refuse and close.
  if (head.count(http::field::content_length) != 0) {
    return bad_request("Transfer-Encoding together with Content-Length");
  }
  if (head.version() < 11) return bad_request("Transfer-Encoding in an HTTP/1.0 request");
  // RFC 9112 §6.3: a request whose final coding is not chunked has no determinable length;
  // §6.1: chunked must not be applied twice.
  if (codings.empty || !codings.chunked_last) {
    return bad_request("the final transfer coding must be chunked");
  }
  if (codings.chunked_earlier) return bad_request("chunked applied more than once");
  // RFC 9112 §6.1: a coding we do not implement. cachecar removes chunked and re-frames the
  // body, so relaying "gzip" content under its old label would corrupt it.
  if (codings.other_earlier) {
    return Rejection{501, "not_implemented", "transfer codings other than chunked"};
  }
  return std::nullopt;
}

bool response_framing_ok(const http::response_header<>& head) {
  const auto codings = read_codings(head);
  if (!codings.present) return true;
  return head.version() >= 11 && head.count(http::field::content_length) == 0 &&
         codings.chunked_last && !codings.chunked_earlier && !codings.other_earlier;
}

std::optional<Rejection> rejection_for_read_error(const error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return Rejection{431, "request_header_fields_too_large", ec.message()};
  }
  if (ec == http::error::body_limit) return Rejection{413, "payload_too_large", ec.message()};
  // Every other parse error is malformed input (bad chunk size, bare LF, bad field...); the end
  // of the stream, even mid-message, means the client went away.
  if (ec.category() == make_error_code(http::error::bad_method).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return bad_request(ec.message());
  }
  return std::nullopt;
}

std::string render_rejection(const Rejection& rejection) {
  return render_response(rejection.status, "application/json",
                         json_error_body(rejection.code, rejection.detail), false);
}

}  // namespace cachecar::net
