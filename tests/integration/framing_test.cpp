// Message framing and hostile input (RFC 9112): trailers, transfer codings, invalid chunked
// bodies, Host, slow heads on keep-alive connections; for the proxy and the admin listener.
#include "integration/harness.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <thread>

namespace cachecar::test {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

const std::string kRules =
    "  - match: \"GET /cached/{id}\"\n"
    "    ttl: 60s\n";

// An upstream that answers every request head with the same raw bytes and then closes: for
// responses the stub's serializer cannot produce (trailers, odd transfer codings).
class RawUpstream {
 public:
  explicit RawUpstream(std::string response) : response_(std::move(response)) {
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    accept();
    thread_ = std::thread([this] { context_.run(); });
  }
  ~RawUpstream() {
    asio::post(context_, [this] { acceptor_.close(); });
    context_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  std::size_t requests() const { return requests_.load(); }

 private:
  struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::string in;
  };
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto connection = std::make_shared<Connection>(std::move(socket));
      asio::async_read_until(
          connection->socket, asio::dynamic_buffer(connection->in), "\r\n\r\n",
          [this, connection](boost::system::error_code read_ec, std::size_t) {
            if (read_ec) return;
            ++requests_;
            asio::async_write(connection->socket, asio::buffer(response_),
                              [connection](boost::system::error_code, std::size_t) {
                                boost::system::error_code ignored;
                                connection->socket.shutdown(tcp::socket::shutdown_send, ignored);
                              });
          });
      accept();
    });
  }

  std::string response_;
  asio::io_context context_{1};
  tcp::acceptor acceptor_{context_};
  std::atomic<std::size_t> requests_{0};
  std::thread thread_;
};

std::string chunked_post(const std::string& target, const std::string& body,
                         const std::string& transfer_encoding = "chunked") {
  return "POST " + target + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + transfer_encoding +
         "\r\n\r\n" + body;
}

// The proxy still answers on a new connection (the process and its worker are alive).
void expect_alive(Harness& h) {
  EXPECT_EQ(h.get("/other/alive").status, 200);
}

// ---- trailers --------------------------------------------------------------------------------

struct TrailerCase {
  const char* name;
  std::size_t value_bytes;
};
void PrintTo(const TrailerCase& c, std::ostream* os) {
  *os << c.name;
}

class RequestTrailerTest : public ::testing::TestWithParam<TrailerCase> {};

TEST_P(RequestTrailerTest, ATrailerSectionOverTheHeaderLimitGets431) {
  Harness h{HarnessOptions{.rules = kRules}};
  HttpClient client(h.port());
  client.send_raw(chunked_post(
      "/other/t",
      "5\r\nhello\r\n0\r\nX-Trailer: " + std::string(GetParam().value_bytes, 't') + "\r\n\r\n"));
  auto response = client.read_response();
  EXPECT_EQ(response.status, 431);
  EXPECT_NE(response.body.find("request_header_fields_too_large"), std::string::npos);
  EXPECT_TRUE(client.closed_by_server());
  expect_alive(h);
}

INSTANTIATE_TEST_SUITE_P(Sizes, RequestTrailerTest,
                         ::testing::Values(TrailerCase{"over_the_limit", 20 * 1024},
                                           TrailerCase{"over_a_field", 200 * 1024},
                                           TrailerCase{"over_the_buffer", 2 * 1024 * 1024}),
                         [](const auto& test) { return std::string(test.param.name); });

TEST(FramingTest, ManySmallTrailerFieldsCountTogether) {
  Harness h{HarnessOptions{.rules = kRules}};
  HttpClient client(h.port());
  std::string trailers;
  for (int i = 0; i < 2000; ++i) trailers += "X-T" + std::to_string(i) + ": 0123456789\r\n";
  client.send_raw(chunked_post("/other/t", "5\r\nhello\r\n0\r\n" + trailers + "\r\n"));
  EXPECT_EQ(client.read_response().status, 431);
  expect_alive(h);
}

TEST(FramingTest, SmallRequestTrailersAreAcceptedAndNotForwardedAsHeaders) {
  Harness h{HarnessOptions{.rules = kRules}};
  HttpClient client(h.port());
  client.send_raw(chunked_post("/other/t", "5\r\nhello\r\n0\r\nX-Trailer: small\r\n\r\n"));
  EXPECT_EQ(client.read_response().status, 200);
  EXPECT_EQ(h.upstream.last().body, "hello");
  EXPECT_EQ(h.upstream.last().header("X-Trailer"), "");
}

TEST(FramingTest, AnUpstreamTrailerOverTheLimitGets502AndIsNotStored) {
  RawUpstream upstream(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nX-Trailer: " +
      std::string(200 * 1024, 't') + "\r\n\r\n");
  Harness h{HarnessOptions{.rules = kRules, .upstream_url = upstream.url()}};
  auto response = h.get("/cached/1");
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(h.get("/cached/1").status, 502);  // not stored
  EXPECT_EQ(upstream.requests(), 2u);
  // Streamed (not a fill): the head may be out already, so the client sees a cut body.
  HttpClient client(h.port());
  client.send_raw("GET /other/1 HTTP/1.1\r\nHost: a\r\n\r\n");
  try {
    auto streamed = client.read_response();
    EXPECT_EQ(streamed.status, 502);
  } catch (const std::runtime_error&) {
    // partial message, then close: also correct
  }
  EXPECT_EQ(h.get("/cached/1").status, 502);  // the worker is alive
}

TEST(FramingTest, AnUpstreamTrailerWithinTheLimitIsAccepted) {
  RawUpstream upstream(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nX-Trailer: small\r\n\r\n");
  Harness h{HarnessOptions{.rules = kRules, .upstream_url = upstream.url()}};
  auto response = h.get("/cached/1");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello");
}

// ---- transfer codings ------------------------------------------------------------------------

struct CodingCase {
  const char* name;
  std::string head_fields;  // after "Host: a\r\n"
  int status;
};
void PrintTo(const CodingCase& c, std::ostream* os) {
  *os << c.name;
}

class RequestCodingTest : public ::testing::TestWithParam<CodingCase> {};

TEST_P(RequestCodingTest, IsRejectedAndTheConnectionCloses) {
  Harness h{HarnessOptions{.rules = kRules}};
  HttpClient client(h.port());
  client.send_raw("POST /other/te HTTP/1.1\r\nHost: a\r\n" + GetParam().head_fields +
                  "\r\n5\r\nhello\r\n0\r\n\r\n");
  auto response = client.read_response();
  EXPECT_EQ(response.status, GetParam().status);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(h.upstream.total_requests(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Codings, RequestCodingTest,
    ::testing::Values(CodingCase{"chunked_then_identity",
                                 "Transfer-Encoding: chunked, identity\r\n", 400},
                      CodingCase{"xchunked", "Transfer-Encoding: xchunked\r\n", 400},
                      CodingCase{"identity_only", "Transfer-Encoding: identity\r\n", 400},
                      CodingCase{"chunked_twice", "Transfer-Encoding: chunked, chunked\r\n", 400},
                      CodingCase{"gzip_then_chunked", "Transfer-Encoding: gzip, chunked\r\n", 501},
                      CodingCase{"gzip_line_then_chunked_line",
                                 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", 501},
                      CodingCase{"identity_with_content_length",
                                 "Transfer-Encoding: identity\r\nContent-Length: 5\r\n", 400},
                      CodingCase{"content_length_then_chunked",
                                 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400}),
    [](const auto& test) { return std::string(test.param.name); });

TEST(FramingTest, TransferEncodingInAnHttp10RequestIsRejected) {
  Harness h{HarnessOptions{.rules = kRules}};
  HttpClient client(h.port());
  client.send_raw(
      "POST /other/te HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 400);
  EXPECT_EQ(h.upstream.total_requests(), 0u);
}

struct ResponseCodingCase {
  const char* name;
  std::string response;
};
void PrintTo(const ResponseCodingCase& c, std::ostream* os) {
  *os << c.name;
}

class ResponseCodingTest : public ::testing::TestWithParam<ResponseCodingCase> {};

TEST_P(ResponseCodingTest, Gets502AndIsNotStored) {
  RawUpstream upstream(GetParam().response);
  Harness h{HarnessOptions{.rules = kRules, .upstream_url = upstream.url()}};
  const auto first = h.get("/cached/1");
  EXPECT_EQ(first.status, 502);
  // It answered, so it is not "unreachable": the body says what went wrong.
  EXPECT_NE(first.body.find("cannot be relayed"), std::string::npos) << first.body;
  EXPECT_EQ(h.get("/cached/1").status, 502);
  EXPECT_EQ(upstream.requests(), 2u);
  EXPECT_EQ(h.get("/other/1").status, 502);
}

// RFC 9112 §6.3: a 204 or 304 has no body, so its transfer codings frame nothing: relayed.
TEST(FramingTest, ABodilessResponseWithTransferCodingsIsRelayed) {
  RawUpstream upstream("HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  Harness h{HarnessOptions{.rules = kRules, .upstream_url = upstream.url()}};
  EXPECT_EQ(h.get("/other/1").status, 204);
}

INSTANTIATE_TEST_SUITE_P(
    Codings, ResponseCodingTest,
    ::testing::Values(
        ResponseCodingCase{"gzip_then_chunked",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                           "5\r\nhello\r\n0\r\n\r\n"},
        ResponseCodingCase{"identity",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nhello"},
        ResponseCodingCase{"chunked_then_gzip",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nhello"}),
    [](const auto& test) { return std::string(test.param.name); });

// ---- invalid chunked bodies ------------------------------------------------------------------

struct ChunkCase {
  const char* name;
  std::string body;
};
void PrintTo(const ChunkCase& c, std::ostream* os) {
  *os << c.name;
}

class InvalidChunkTest : public ::testing::TestWithParam<ChunkCase> {};

TEST_P(InvalidChunkTest, Gets400AndTheConnectionCloses) {
  Harness h{HarnessOptions{.rules = kRules}};
  HttpClient client(h.port());
  client.send_raw(chunked_post("/other/chunks", GetParam().body));
  auto response = client.read_response();
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_NE(response.body.find("bad_request"), std::string::npos);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(h.upstream.total_requests(), 0u);  // the upstream request was aborted
  expect_alive(h);
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, InvalidChunkTest,
    ::testing::Values(ChunkCase{"size_not_hex", "zz\r\nhello\r\n0\r\n\r\n"},
                      ChunkCase{"negative_size", "-5\r\nhello\r\n0\r\n\r\n"},
                      ChunkCase{"size_over_2_64", "10000000000000005\r\nhello\r\n0\r\n\r\n"},
                      ChunkCase{"hex_prefix", "0x5\r\nhello\r\n0\r\n\r\n"},
                      ChunkCase{"data_longer_than_size", "3\r\nhello\r\n0\r\n\r\n"},
                      ChunkCase{"bare_lf", "5\nhello\n0\n\n"},
                      ChunkCase{"second_chunk_bad", "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n"}),
    [](const auto& test) { return std::string(test.param.name); });

// ---- Host ------------------------------------------------------------------------------------

struct HostCase {
  const char* name;
  std::string request;
  int status;
};
void PrintTo(const HostCase& c, std::ostream* os) {
  *os << c.name;
}

class HostTest : public ::testing::TestWithParam<HostCase> {};

TEST_P(HostTest, ProxyAndAdminApplyTheHostRules) {
  Harness h{HarnessOptions{.rules = kRules}};
  for (const std::uint16_t port : {h.port(), h.admin_port()}) {
    HttpClient client(port);
    client.send_raw(GetParam().request);
    auto response = client.read_response();
    EXPECT_EQ(response.status, GetParam().status) << "port " << port;
    if (GetParam().status == 400) {
      EXPECT_TRUE(client.closed_by_server());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Requests, HostTest,
    ::testing::Values(HostCase{"missing_in_http11", "GET /health HTTP/1.1\r\n\r\n", 400},
                      HostCase{"twice", "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
                      HostCase{"twice_in_http10",
                               "GET /health HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400},
                      HostCase{"missing_in_http10", "GET /health HTTP/1.0\r\n\r\n", 200},
                      HostCase{"invalid_value", "GET /health HTTP/1.1\r\nHost: a b/c\r\n\r\n", 400},
                      HostCase{"present", "GET /health HTTP/1.1\r\nHost: a\r\n\r\n", 200}),
    [](const auto& test) { return std::string(test.param.name); });

// ---- slow heads ------------------------------------------------------------------------------

// Header timeout 300 ms, idle timeout 5 s; the client gives up after 3 s, far above the former.
const std::string kShortTimeouts =
    "limits:\n  client_header_timeout: 300ms\n  client_idle_timeout: 5s\n";
constexpr auto kClientPatience = std::chrono::seconds(3);

class SlowHeadTest : public ::testing::TestWithParam<bool> {  // true: the admin listener
 protected:
  std::uint16_t port() const { return GetParam() ? h.admin_port() : h.port(); }
  Harness h{HarnessOptions{.rules = kRules, .extra = kShortTimeouts}};
};

TEST_P(SlowHeadTest, ASecondRequestHeadIsBoundedByTheHeaderTimeout) {
  HttpClient client(port(), kClientPatience);
  EXPECT_EQ(client.get("/health").status, 200);
  client.send_raw("GET /health HTTP/1.1\r\n");  // and then nothing more
  EXPECT_TRUE(client.closed_by_server());
}

TEST_P(SlowHeadTest, AnIdleKeepAliveConnectionOutlivesTheHeaderTimeout) {
  HttpClient client(port(), kClientPatience);
  EXPECT_EQ(client.get("/health").status, 200);
  // Idle (no byte of a next request) for longer than the header timeout: still open.
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  EXPECT_EQ(client.get("/health").status, 200);
}

TEST_P(SlowHeadTest, TheFirstRequestHeadIsBoundedByTheHeaderTimeout) {
  HttpClient client(port(), kClientPatience);
  EXPECT_TRUE(client.closed_by_server());
}

INSTANTIATE_TEST_SUITE_P(Listeners, SlowHeadTest, ::testing::Values(false, true),
                         [](const auto& test) { return test.param ? "admin" : "proxy"; });

}  // namespace
}  // namespace cachecar::test
