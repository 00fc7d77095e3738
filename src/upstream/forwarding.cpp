#include "upstream/forwarding.hpp"

#include "core/constant_time.hpp"
#include "core/strings.hpp"
#include "net/wire.hpp"

namespace cachecar::upstream {

using core::iequals;
using policy::is_hop_by_hop;
using policy::named_in_connection;

namespace {

// Fields that can turn a cache fill's 200 into a 304/412/206. Range goes with If-Range: a
// Range forwarded without its If-Range would splice a new version onto an old prefix.
bool is_conditional(std::string_view name) noexcept {
  return iequals(name, "if-none-match") || iequals(name, "if-modified-since") ||
         iequals(name, "if-match") || iequals(name, "if-unmodified-since") ||
         iequals(name, "if-range") || iequals(name, "range");
}

// What a client says about earlier hops and its own scheme and host. RFC 7239 §8.1: these
// fields can be set by anyone on the path, the client included, so they are believed only from
// a trusted proxy; from anyone else cachecar is the first hop and writes them itself.
bool is_forwarding_field(std::string_view name) noexcept {
  return iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") ||
         iequals(name, "x-forwarded-host") || iequals(name, "forwarded");
}

}  // namespace

std::string render_upstream_request(const http::request_header<>& request,
                                    const UpstreamRequestHead& head) {
  std::string out;
  out.reserve(512);
  out.append(head.method);
  out.push_back(' ');
  out.append(head.target);
  out.append(" HTTP/1.1\r\n");

  // RFC 9110 §5.3: Connection sent as several lines is one list, and each line names fields.
  std::string connection;
  const auto [first_line, end_line] = request.equal_range(http::field::connection);
  for (auto line = first_line; line != end_line; ++line) {
    if (!connection.empty()) connection.append(", ");
    connection.append(line->value());
  }
  std::string forwarded_for;
  bool has_host = false;
  bool has_proto = false;
  for (const auto& field : request) {
    const std::string_view name = field.name_string();
    const std::string_view value = field.value();
    if (is_hop_by_hop(name) || named_in_connection(connection, name) ||
        iequals(name, "content-length") || iequals(name, "expect")) {
      continue;
    }
    if (head.strip_conditionals && is_conditional(name)) continue;
    if (iequals(name, kBypassTokenField)) continue;
    if (!head.trusted_peer && is_forwarding_field(name)) continue;
    if (iequals(name, "x-forwarded-for")) {
      if (!forwarded_for.empty()) forwarded_for.append(", ");
      forwarded_for.append(value);
      continue;
    }
    if (iequals(name, "host")) has_host = true;
    if (iequals(name, "x-forwarded-proto")) has_proto = true;
    net::append_field(out, name, value);
  }
  if (!has_host) net::append_field(out, "Host", head.default_host);
  if (!head.client_ip.empty()) {
    if (!forwarded_for.empty()) forwarded_for.append(", ");
    forwarded_for.append(head.client_ip);
  }
  if (!forwarded_for.empty()) net::append_field(out, "X-Forwarded-For", forwarded_for);
  if (!has_proto) net::append_field(out, "X-Forwarded-Proto", "http");
  // RFC 9111 §4.3.1: a revalidation sends the stored response's validators.
  if (!head.if_none_match.empty()) net::append_field(out, "If-None-Match", head.if_none_match);
  if (!head.if_modified_since.empty()) {
    net::append_field(out, "If-Modified-Since", head.if_modified_since);
  }
  switch (head.framing) {
    case BodyFraming::None:
      break;
    case BodyFraming::ContentLength:
      net::append_field(out, "Content-Length",
                        static_cast<unsigned long long>(head.content_length));
      break;
    case BodyFraming::Chunked:
      net::append_field(out, "Transfer-Encoding", "chunked");
      break;
  }
  out.append("\r\n");
  return out;
}

bool bypass_authorized(const http::request_header<>& request, std::string_view token) noexcept {
  if (token.empty()) return true;
  std::size_t lines = 0;
  std::string_view presented;
  for (const auto& field : request) {
    if (iequals(field.name_string(), kBypassTokenField)) {
      ++lines;
      presented = field.value();
    }
  }
  return lines == 1 && core::constant_time_equals(presented, token);
}

policy::HeaderList collect_headers(const http::fields& response) {
  policy::HeaderList headers;
  for (const auto& field : response) {
    headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return headers;
}

void append_relayable_fields(std::string& out, const policy::HeaderList& headers,
                             bool keep_content_length) {
  for (const auto& [name, value] : headers) {
    if (is_hop_by_hop(name) || named_in_connection(headers, name) || iequals(name, "x-cache") ||
        iequals(name, "cache-status")) {
      continue;
    }
    if (iequals(name, "content-length") && !keep_content_length) continue;
    net::append_field(out, name, value);
  }
}

}  // namespace cachecar::upstream
