// The client side of the proxy up to its handler: request heads and bodies parsed as
// Session::run and receive_request_body parse them (net::RequestParser<buffer_body> set up by
// net::configure_request_parser, the bounded read buffer, net::check_request_framing, bodies
// read piece by piece, read errors mapped by net::rejection_for_read_error), pipelined requests
// included. Input: the raw bytes a client sends on one connection.
#include "config/config.hpp"
#include "fuzz_support.hpp"
#include "net/framing.hpp"
#include "policy/cache_key.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <array>

namespace {

namespace http = boost::beast::http;
using cachecar::fuzz::ByteStream;
using RequestParser = cachecar::net::RequestParser<http::buffer_body>;

constexpr std::size_t kMaxRequestsPerConnection = 8;
constexpr std::size_t kBodyPieceBytes = 4096;

struct Limits {
  std::uint32_t header_bytes;
  std::uint64_t body_bytes;
};

// A read error either has an answer of the kinds the proxy sends, or none (client gone).
void check_rejection(const boost::system::error_code& ec) {
  if (const auto rejection = cachecar::net::rejection_for_read_error(ec)) {
    FUZZ_CHECK(rejection->status == 400 || rejection->status == 413 || rejection->status == 431 ||
               rejection->status == 501);
    FUZZ_CHECK(!cachecar::net::render_rejection(*rejection).empty());
  }
}

void serve_connection(std::string_view bytes, std::size_t piece, Limits limits) {
  ByteStream stream(bytes, piece);
  boost::beast::flat_buffer buffer;
  buffer.max_size(cachecar::net::read_buffer_limit(limits.header_bytes));
  std::array<char, kBodyPieceBytes> chunk;
  for (std::size_t i = 0; i < kMaxRequestsPerConnection; ++i) {
    RequestParser parser;
    cachecar::net::configure_request_parser(
        parser, cachecar::net::RequestLimits{limits.header_bytes, limits.body_bytes});
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (ec) return check_rejection(ec);
    if (const auto rejection = cachecar::net::check_request_framing(parser.get())) {
      FUZZ_CHECK(rejection->status == 400 || rejection->status == 501);
      return;
    }

    const auto& request = parser.get();
    const std::string_view target = request.target();
    if (!target.empty() && target.front() == '/') {
      const auto split = cachecar::policy::split_target(target);
      const auto key = cachecar::policy::build_cache_key("GET", split.path, split.query,
                                                         std::nullopt, "nocache");
      FUZZ_CHECK(key.starts_with("GET:"));
    }

    std::uint64_t body_bytes = 0;
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      http::read_some(stream, buffer, parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return check_rejection(ec);
      FUZZ_CHECK(parser.get().body().size <= chunk.size());
      body_bytes += chunk.size() - parser.get().body().size;
    }
    FUZZ_CHECK(body_bytes <= limits.body_bytes);
    if (const auto length = parser.content_length()) FUZZ_CHECK(body_bytes == *length);
    if (!request.keep_alive()) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = cachecar::fuzz::as_text(data, size);
  const cachecar::config::LimitsConfig defaults;
  // The configured defaults, everything in one read...
  serve_connection(bytes, bytes.size() + 1,
                   Limits{defaults.max_header_bytes, defaults.max_request_body_bytes});
  // ...and small limits (reachable by short inputs) with the bytes trickling in.
  serve_connection(bytes, 7, Limits{512, 1024});
  return 0;
}
