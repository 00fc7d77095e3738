#include "net/http_read.hpp"

#include <boost/beast/core/read_size.hpp>

namespace cachecar::net {
namespace {

// Beast's own read size for parsers.
constexpr std::size_t kReadBytes = 64 * 1024;

// Reads once into the free space of `buffer` (bounded by its max_size).
asio::awaitable<error_code> read_into(beast::tcp_stream& stream, beast::flat_buffer& buffer) {
  const std::size_t size = beast::read_size(buffer, kReadBytes);
  if (size == 0) co_return make_error_code(http::error::buffer_overflow);
  auto [ec, n] = co_await stream.async_read_some(buffer.prepare(size), use_nothrow);
  buffer.commit(n);
  co_return ec;
}

}  // namespace

asio::awaitable<error_code> await_request_start(beast::tcp_stream& stream,
                                                beast::flat_buffer& buffer,
                                                std::chrono::milliseconds idle_timeout) {
  if (buffer.size() != 0) co_return error_code{};
  stream.expires_after(idle_timeout);
  // The read Beast would have made, into the same buffer: nothing is read twice.
  auto ec = co_await read_into(stream, buffer);
  if (ec == asio::error::eof) co_return make_error_code(http::error::end_of_stream);
  co_return ec;
}

bool has_bare_lf(std::string_view pending) noexcept {
  for (std::size_t i = pending.find('\n'); i != std::string_view::npos;
       i = pending.find('\n', i + 1)) {
    if (i == 0 || pending[i - 1] != '\r') return true;
  }
  return false;
}

template <bool isRequest>
asio::awaitable<error_code> read_body_some(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                           http::basic_parser<isRequest>& parser) {
  for (;;) {
    if (buffer.size() != 0) {
      error_code ec;
      buffer.consume(parser.put(buffer.data(), ec));
      if (ec != http::error::need_more) co_return ec;
      if (parser.chunked()) {
        const auto pending = buffer.cdata();
        if (has_bare_lf({static_cast<const char*>(pending.data()), pending.size()})) {
          co_return make_error_code(http::error::bad_line_ending);
        }
      }
    }
    auto ec = co_await read_into(stream, buffer);
    if (ec == asio::error::eof) {
      // As Beast does: the end of the stream completes a body delimited by it, and cuts
      // any other short.
      error_code eof_ec;
      parser.put_eof(eof_ec);
      co_return eof_ec;
    }
    if (ec) co_return ec;
  }
}

template asio::awaitable<error_code> read_body_some<true>(beast::tcp_stream&, beast::flat_buffer&,
                                                          http::basic_parser<true>&);
template asio::awaitable<error_code> read_body_some<false>(beast::tcp_stream&, beast::flat_buffer&,
                                                           http::basic_parser<false>&);

}  // namespace cachecar::net
