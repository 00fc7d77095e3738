// The client side of the proxy up to its handler: request heads and bodies parsed as
// Session::run and receive_request_body parse them (request_parser<buffer_body>, our header and
// body limits, bodies read piece by piece), pipelined requests included. Input: the raw bytes a
// client sends on one connection.
#include "config/config.hpp"
#include "fuzz_support.hpp"
#include "policy/cache_key.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <array>

namespace {

namespace http = boost::beast::http;
using cachecar::fuzz::ByteStream;
using RequestParser = http::request_parser<http::buffer_body>;

constexpr std::size_t kMaxRequestsPerConnection = 8;
constexpr std::size_t kBodyPieceBytes = 4096;

struct Limits {
  std::uint32_t header_bytes;
  std::uint64_t body_bytes;
};

void serve_connection(std::string_view bytes, std::size_t piece, Limits limits) {
  ByteStream stream(bytes, piece);
  boost::beast::flat_buffer buffer;
  std::array<char, kBodyPieceBytes> chunk;
  for (std::size_t i = 0; i < kMaxRequestsPerConnection; ++i) {
    RequestParser parser;
    parser.header_limit(limits.header_bytes);
    parser.body_limit(limits.body_bytes);
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (ec) return;  // the session answers 400/413/431 or just closes

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
      if (ec) return;
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
