#include "upstream/client.hpp"

#include "net/http_read.hpp"
#include "net/wire.hpp"
#include "upstream/forwarding.hpp"

#include <boost/asio/write.hpp>

#include <array>
#include <charconv>

namespace cachecar::upstream {

namespace {

using net::use_nothrow;

// Non-idempotent requests are never retried, so they only take pooled connections idle for
// less than this: shorter than any common upstream keep-alive timeout (nginx 75 s, Node 5 s).
constexpr auto kMaxIdleForUnretriable = std::chrono::seconds(2);

// A pooled connection the upstream closed while idle fails like this on first use, before
// any response byte (partial_message would mean response bytes did arrive: not retried).
bool is_stale_connection_error(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

// The body after the head: a streamed one piece by piece, re-framed as chunks when its length
// is unknown. `client_failed` tells a client read error from an upstream write error.
asio::awaitable<error_code> send_request(Connection& conn, const std::string& head,
                                         const RequestBody& body, std::chrono::milliseconds timeout,
                                         bool& client_failed) {
  conn.stream.expires_after(timeout);
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body.buffered)};
  auto [ec, written] = co_await asio::async_write(conn.stream, buffers, use_nothrow);
  if (ec || !body.streamed) co_return ec;

  std::string size_line;
  while (!body.streamed->done()) {
    auto [read_ec, piece] = co_await body.streamed->next_piece();
    if (read_ec) {
      client_failed = true;
      co_return read_ec;
    }
    if (piece.empty()) continue;
    size_line.clear();
    if (body.chunked) append_chunk_size_line(size_line, piece.size());
    const std::string_view crlf = body.chunked ? std::string_view("\r\n") : std::string_view();
    const std::array<asio::const_buffer, 3> pieces{asio::buffer(size_line), asio::buffer(piece),
                                                   asio::buffer(crlf)};
    conn.stream.expires_after(timeout);
    auto [write_ec, ignored] = co_await asio::async_write(conn.stream, pieces, use_nothrow);
    if (write_ec) co_return write_ec;
  }
  if (!body.chunked) co_return error_code{};
  conn.stream.expires_after(timeout);
  auto [end_ec, ignored] = co_await asio::async_write(
      conn.stream, asio::buffer(kLastChunk.data(), kLastChunk.size()), use_nothrow);
  co_return end_ec;
}

// More interim responses than this before the final one make the response invalid: an
// upstream must not keep the exchange (and the client) busy with 1xx heads alone.
constexpr int kMaxInterimResponses = 16;

// "HTTP/1.1 <code> <reason>" + the relayable fields + CRLF: an interim response as the client
// gets it (no framing fields: a 1xx has no content, RFC 9112 §6.3).
std::string render_interim(const http::response_header<>& interim) {
  std::string head;
  net::append_status_line(head, interim.result_int(), interim.reason());
  append_relayable_fields(head, collect_headers(interim), false);
  head.append("\r\n");
  return head;
}

// Reads the final response head into `response`. Interim 1xx responses before it (RFC 9110
// §15.2) are counted in `interims`; 102, 103 and other unknown ones are relayed through `sink`
// when there is one, 100 Continue never is (it answered an Expect that cachecar does not
// forward; the client's own Expect is answered by cachecar). A 1xx is a complete header-only
// message to Beast's parser, and a parser parses one message: each head gets a fresh one, on
// the same buffer (bytes already read after the 1xx stay in it).
asio::awaitable<error_code> read_response_head(Connection& conn,
                                               std::optional<ResponseParser>& response,
                                               bool head_request, ResponseSink* sink,
                                               std::chrono::milliseconds timeout, int& interims) {
  conn.buffer.max_size(net::read_buffer_limit(kMaxResponseHeaderBytes));
  for (;;) {
    response.emplace();
    response->header_limit(kMaxResponseHeaderBytes);
    response->trailer_limit(kMaxResponseHeaderBytes);
    response->body_limit(boost::none);  // large bodies stream through
    if (head_request) response->skip(true);
    conn.stream.expires_after(timeout);
    auto [ec, ignored] =
        co_await http::async_read_header(conn.stream, conn.buffer, *response, use_nothrow);
    if (ec) co_return ec;
    const int status = response->get().result_int();
    if (status < 100 || status >= 200 || status == 101) {
      // RFC 9112 §6.1: only chunked is removed and re-framed; anything else would be relayed
      // (or stored) under the wrong framing. 502, and the connection is not reused. A response
      // without a body (to HEAD, 204, 304: RFC 9112 §6.3) has nothing to frame.
      const bool bodiless = head_request || status == 204 || status == 304;
      if (!bodiless && !net::response_framing_ok(response->get())) {
        co_return make_error_code(http::error::bad_transfer_encoding);
      }
      co_return error_code{};
    }
    if (++interims > kMaxInterimResponses) co_return make_error_code(http::error::bad_status);
    if (status == 100 || sink == nullptr) continue;
    const std::string interim = render_interim(response->get());
    // A client that cannot take it fails on the final response too; until then the exchange
    // goes on (its answer may still be stored), without further interims.
    if (co_await sink->send(interim, {}, {})) sink = nullptr;
  }
}

}  // namespace

void append_chunk_size_line(std::string& out, std::size_t size) {
  char digits[2 * sizeof(std::size_t)];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, size, 16);
  (void)ec;  // cannot fail: the buffer holds every size_t in hex
  out.append(digits, end);
  out.append("\r\n");
}

asio::awaitable<CallResult> call(Pool& pool, const std::string& head, RequestBody body,
                                 CallOptions options, std::optional<ResponseParser>& response) {
  CallResult outcome;
  const bool streamed = body.streamed != nullptr;
  for (int attempt = 0;; ++attempt) {
    outcome.sent = false;  // says what the last attempt did: a stale connection applied nothing
    result<std::unique_ptr<Connection>> acquired;
    if (attempt > 0 || streamed) {
      // A streamed body cannot be sent twice: it gets a fresh connection, never a stale one.
      acquired = co_await pool.connect_new();
    } else if (options.retriable) {
      acquired = co_await pool.acquire();
    } else {
      acquired = co_await pool.acquire(kMaxIdleForUnretriable);
    }
    if (!acquired) {
      outcome.ec = acquired.error();
      co_return outcome;
    }
    auto conn = std::move(*acquired);
    outcome.ec = co_await send_request(*conn, head, body, options.timeout, outcome.client_failed);
    if (outcome.client_failed) {
      conn->stream.close();  // it holds a partial request: never pooled
      co_return outcome;
    }
    outcome.sent = !outcome.ec;
    int interims = 0;
    if (!outcome.ec) {
      outcome.ec = co_await read_response_head(*conn, response, options.head_request,
                                               options.interim_sink, options.timeout, interims);
    }
    if (!outcome.ec) {
      outcome.conn = std::move(conn);
      co_return outcome;
    }
    // An idle keep-alive connection the upstream closed fails at once; try a fresh one. One
    // that answered with an interim response had the request (and the client may have seen
    // the interim): its failure is final.
    if (attempt == 0 && conn->reused && options.retriable && interims == 0 &&
        is_stale_connection_error(outcome.ec)) {
      continue;
    }
    co_return outcome;
  }
}

asio::awaitable<std::pair<error_code, std::size_t>> read_response_piece(
    Connection& conn, ResponseParser& response, char* data, std::size_t capacity,
    std::chrono::milliseconds timeout) {
  conn.stream.expires_after(timeout);
  response.get().body().data = data;
  response.get().body().size = capacity;
  auto ec = co_await net::read_body_some(conn.stream, conn.buffer, response);
  if (ec == http::error::need_buffer) ec = {};
  co_return std::pair{ec, capacity - response.get().body().size};
}

bool reusable(ResponseParser& response) {
  return response.get().keep_alive() && !response.need_eof();
}

RelayFraming choose_relay_framing(bool head_request, int status, ResponseParser& response,
                                  unsigned client_version) {
  if (head_request || status == 204 || status == 304 || status < 200) return RelayFraming::None;
  if (response.is_done() || response.content_length()) return RelayFraming::Length;
  return client_version >= 11 ? RelayFraming::Chunked : RelayFraming::UntilClose;
}

namespace {

// One body piece, chunk-framed when `chunked`; `lead` goes out in the same write.
asio::awaitable<error_code> write_piece(ResponseSink& sink, bool chunked, std::string& lead,
                                        std::string_view data) {
  if (chunked) append_chunk_size_line(lead, data.size());
  const std::string_view crlf = chunked ? std::string_view("\r\n") : std::string_view();
  auto ec = co_await sink.send(lead, data, crlf);
  lead.clear();
  co_return ec;
}

}  // namespace

asio::awaitable<RelayResult> relay_body(Connection& conn, ResponseParser& response,
                                        ResponseSink& sink, std::string& lead,
                                        std::string_view prefix, RelayFraming framing, char* buffer,
                                        std::size_t buffer_size,
                                        std::chrono::milliseconds timeout) {
  RelayResult outcome;
  const bool chunked = framing == RelayFraming::Chunked;
  if (!prefix.empty()) {
    outcome.ec = co_await write_piece(sink, chunked, lead, prefix);
    if (outcome.ec) co_return outcome;
    outcome.wrote_any = true;
  }
  while (!response.is_done()) {
    auto [ec, n] = co_await read_response_piece(conn, response, buffer, buffer_size, timeout);
    if (ec) {
      outcome.ec = ec;
      outcome.upstream_failed = true;
      co_return outcome;
    }
    if (n == 0) continue;
    outcome.ec = co_await write_piece(sink, chunked, lead, std::string_view(buffer, n));
    if (outcome.ec) co_return outcome;
    outcome.wrote_any = true;
  }
  if (chunked) lead.append(kLastChunk);
  if (!lead.empty()) {
    outcome.ec = co_await sink.send(lead, {}, {});
    outcome.wrote_any = true;
  }
  co_return outcome;
}

}  // namespace cachecar::upstream
