// The client side of the pipeline: one exchange with the upstream (send the request head and
// body, read the response head, retry once on a stale pooled connection) and the pieces of a
// body relay (reading response body pieces, chunk framing). Knows nothing about caching.
#pragma once

#include "core/error.hpp"
#include "net/framing.hpp"
#include "net/http_types.hpp"
#include "upstream/pool.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace cachecar::upstream {

namespace http = net::http;
using net::error_code;
using ResponseParser = net::ResponseParser<http::buffer_body>;

// Response heads (and trailers) larger than this are refused: 502.
inline constexpr std::uint32_t kMaxResponseHeaderBytes = 64 * 1024;

// Appends the chunk-size line of a chunk of `size` bytes (RFC 9112 §7.1): hex size, CRLF.
void append_chunk_size_line(std::string& out, std::size_t size);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";  // no trailers

// A request body that is still being read from the client, relayed piece by piece.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual bool done() const = 0;
  // The next piece (possibly empty), valid until the next call; an error means the client's
  // body could not be read (too large, bad framing, timeout, reset).
  virtual net::asio::awaitable<std::pair<error_code, std::string_view>> next_piece() = 0;
};

class ResponseSink;

struct RequestBody {
  std::string_view buffered;       // sent right after the head
  BodySource* streamed = nullptr;  // then this, when the body was too large to buffer
  bool chunked = false;            // frame `streamed` as chunks (its length is unknown)
};

struct CallOptions {
  // RFC 9110 §9.2.2 idempotent method with a buffered body: may be sent twice.
  bool retriable = false;
  bool head_request = false;  // the request sent is HEAD: the response has no body
  std::chrono::milliseconds timeout{30'000};
  // Where interim responses other than 100 and 101 (102 Processing, 103 Early Hints) are
  // relayed ahead of the final one; null drops them: the client is HTTP/1.0 (RFC 9110 §15.2).
  ResponseSink* interim_sink = nullptr;
};

struct CallResult {
  std::unique_ptr<Connection> conn;  // set on success: the response head is in `response`
  error_code ec;
  // The client's body failed mid-relay: the upstream connection (holding a partial request)
  // is closed, and `ec` is the client's read error.
  bool client_failed = false;
  bool sent = false;  // the whole request reached the upstream, which may have acted on it
};

// Sends `head` + `body` on a pooled connection and reads the final response head into
// `response`. Interim 1xx responses before it are relayed through `options.interim_sink`
// (except 100 Continue) or dropped; more than 16 fail the call with http::error::bad_status.
// A reused connection that fails before any response byte is retried once on a new one when
// `options.retriable`. A response whose framing cannot be
// relayed fails with http::error::bad_transfer_encoding (the connection is not reused).
net::asio::awaitable<CallResult> call(Pool& pool, const std::string& head, RequestBody body,
                                      CallOptions options, std::optional<ResponseParser>& response);

// One piece of the response body into [data, data + capacity): {error, bytes}. Under `timeout`.
net::asio::awaitable<std::pair<error_code, std::size_t>> read_response_piece(
    Connection& conn, ResponseParser& response, char* data, std::size_t capacity,
    std::chrono::milliseconds timeout);

// Whether the connection may go back to the pool once `response` has been read completely.
bool reusable(ResponseParser& response);

// Where a relayed response goes: the client connection. One gather write of up to three
// pieces (any may be empty).
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual net::asio::awaitable<error_code> send(std::string_view a, std::string_view b,
                                                std::string_view c) = 0;
};

// How the client gets a relayed body (RFC 9112 §6.3).
enum class RelayFraming {
  None,        // no body: a HEAD request, or 1xx/204/304 (RFC 9112 §6.3 rule 1)
  Length,      // Content-Length: the upstream's, or the bytes already read
  Chunked,     // length unknown, HTTP/1.1 client: re-framed as chunks
  UntilClose,  // length unknown, HTTP/1.0 client: the end of the body is the close
};
RelayFraming choose_relay_framing(bool head_request, int status, ResponseParser& response,
                                  unsigned client_version);

struct RelayResult {
  error_code ec;
  bool upstream_failed = false;  // reading the upstream failed (else: writing to the client)
  bool wrote_any = false;        // the client got some of the response (its head at least)
};

// Sends `lead` (the response head) with the first body piece, then `prefix` (body bytes read
// already), then the rest of `response`'s body piece by piece through `buffer`, chunk-framed
// with a last chunk when `framing` is Chunked. `lead` is consumed.
net::asio::awaitable<RelayResult> relay_body(Connection& conn, ResponseParser& response,
                                             ResponseSink& sink, std::string& lead,
                                             std::string_view prefix, RelayFraming framing,
                                             char* buffer, std::size_t buffer_size,
                                             std::chrono::milliseconds timeout);

}  // namespace cachecar::upstream
