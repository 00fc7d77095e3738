// Socket reads of the HTTP/1.1 server loop (ServerConnection) and of upstream responses, on top
// of Beast's parser.
#pragma once

#include "net/http_types.hpp"

#include <chrono>
#include <string_view>

namespace cachecar::net {

// Returns once `buffer` holds at least one byte of the next request (at once when pipelined
// bytes are already there, so the hit path pays nothing), waiting at most `idle_timeout` for
// it. An error (timeout, EOF, reset, cancellation) means the connection is done. The caller
// then reads the head under its header timeout: Beast's async_read_header is one composed
// operation with one deadline, so without this a client trickling a head byte by byte would
// hold the connection for the whole idle timeout.
asio::awaitable<error_code> await_request_start(beast::tcp_stream& stream,
                                                beast::flat_buffer& buffer,
                                                std::chrono::milliseconds idle_timeout);

// True when `pending` (bytes the parser left unconsumed in the body of a chunked message:
// chunk-size lines, the CRLF after chunk data, trailer fields) holds a LF without its CR.
// RFC 9112 §7.1 frames all of these with CRLF and allows LF in none of them; Beast's parser
// does not reject it but waits for a CRLF that may never come.
bool has_bare_lf(std::string_view pending) noexcept;

// One parser step after the header, like http::async_read_some (reading the socket until the
// parser makes progress), except that a bare LF in chunked framing fails at once with
// http::error::bad_line_ending. The stream's deadline is the caller's.
template <bool isRequest>
asio::awaitable<error_code> read_body_some(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                           http::basic_parser<isRequest>& parser);

extern template asio::awaitable<error_code> read_body_some<true>(beast::tcp_stream&,
                                                                 beast::flat_buffer&,
                                                                 http::basic_parser<true>&);
extern template asio::awaitable<error_code> read_body_some<false>(beast::tcp_stream&,
                                                                  beast::flat_buffer&,
                                                                  http::basic_parser<false>&);

}  // namespace cachecar::net
