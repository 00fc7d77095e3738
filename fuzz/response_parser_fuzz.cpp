// The upstream side of the proxy: response heads and bodies parsed as
// Session::read_response_header and the relay parse them (net::ResponseParser<buffer_body>, a
// 64 KiB head and trailer limit, a bounded read buffer, no body limit, interim 1xx responses
// skipped, net::response_framing_ok, HEAD responses without a body). Input: the raw bytes an
// upstream sends on one connection.
#include "fuzz_support.hpp"
#include "net/framing.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <array>
#include <optional>

namespace {

namespace http = boost::beast::http;
using cachecar::fuzz::ByteStream;
using ResponseParser = cachecar::net::ResponseParser<http::buffer_body>;

constexpr std::uint32_t kMaxUpstreamHeaderBytes = 64 * 1024;  // as in proxy/session.cpp
constexpr std::size_t kBodyPieceBytes = 4096;

void read_response(std::string_view bytes, std::size_t piece, bool head_request) {
  ByteStream stream(bytes, piece);
  boost::beast::flat_buffer buffer;
  buffer.max_size(cachecar::net::read_buffer_limit(kMaxUpstreamHeaderBytes));
  std::optional<ResponseParser> response;
  boost::system::error_code ec;
  for (;;) {
    response.emplace();
    response->header_limit(kMaxUpstreamHeaderBytes);
    response->trailer_limit(kMaxUpstreamHeaderBytes);
    response->body_limit(boost::none);
    if (head_request) response->skip(true);
    http::read_header(stream, buffer, *response, ec);
    if (ec) return;  // 502
    const int status = response->get().result_int();
    if (status < 100 || status >= 200 || status == 101) {
      if (!cachecar::net::response_framing_ok(response->get())) return;  // 502
      break;
    }
  }

  std::array<char, kBodyPieceBytes> chunk;
  std::uint64_t body_bytes = 0;
  while (!response->is_done()) {
    response->get().body().data = chunk.data();
    response->get().body().size = chunk.size();
    http::read_some(stream, buffer, *response, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return;
    FUZZ_CHECK(response->get().body().size <= chunk.size());
    body_bytes += chunk.size() - response->get().body().size;
  }
  if (head_request) FUZZ_CHECK(body_bytes == 0);
  // 1xx, 204 and 304 have no body whatever their Content-Length says (RFC 9112 §6.3).
  const int status = response->get().result_int();
  const auto length = response->content_length();
  if (length && !head_request && status >= 200 && status != 204 && status != 304)
    FUZZ_CHECK(body_bytes == *length);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = cachecar::fuzz::as_text(data, size);
  read_response(bytes, bytes.size() + 1, false);
  read_response(bytes, 7, false);
  read_response(bytes, bytes.size() + 1, true);
  return 0;
}
