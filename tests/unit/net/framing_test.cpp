// Framing rules and the bounded parser, fed bytes directly (no sockets).
#include "net/framing.hpp"
#include "net/http_read.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::net {
namespace {

// Parses a whole request head (and as much body as fits) from `bytes`.
struct Parsed {
  RequestParser<http::string_body> parser;
  error_code ec;
};

void parse(Parsed& out, const std::string& bytes, const RequestLimits& limits = {}) {
  configure_request_parser(out.parser, limits);
  out.parser.eager(true);
  std::size_t offset = 0;
  while (offset < bytes.size() && !out.parser.is_done()) {
    const auto used =
        out.parser.put(asio::buffer(bytes.data() + offset, bytes.size() - offset), out.ec);
    offset += used;
    if (out.ec || used == 0) break;
  }
}

std::optional<Rejection> check(const std::string& head_fields, unsigned version = 11) {
  Parsed p;
  const std::string start = version == 11 ? "POST / HTTP/1.1\r\n" : "POST / HTTP/1.0\r\n";
  parse(p, start + head_fields + "\r\n");
  EXPECT_FALSE(p.ec && p.ec != http::error::need_more) << p.ec.message();
  return check_request_framing(p.parser.get());
}

int status_of(const std::optional<Rejection>& r) {
  return r ? r->status : 0;
}

TEST(RequestFraming, HostRules) {
  EXPECT_EQ(status_of(check("Host: a\r\n")), 0);
  EXPECT_EQ(status_of(check("")), 400);
  EXPECT_EQ(status_of(check("Host: a\r\nHost: a\r\n")), 400);
  EXPECT_EQ(status_of(check("", 10)), 0);
  EXPECT_EQ(status_of(check("Host: a\r\nHost: b\r\n", 10)), 400);
  EXPECT_EQ(status_of(check("Host:\r\n")), 0);  // RFC 9112 §3.2: empty when no authority
  // RFC 9112 §3.2: a Host with an invalid value is a 400 too.
  for (const char* valid :
       {"Host: api.example.com\r\n", "Host: api.example.com:8080\r\n", "Host: 127.0.0.1:80\r\n",
        "Host: [::1]:8080\r\n", "Host: [::1]\r\n", "Host: my_host.local\r\n"}) {
    EXPECT_EQ(status_of(check(valid)), 0) << valid;
  }
  for (const char* invalid :
       {"Host: a b\r\n", "Host: a/b\r\n", "Host: a@b\r\n", "Host: a:port\r\n", "Host: [::1\r\n",
        "Host: [::1]x\r\n", "Host: a\"b\r\n", "Host: evil.example/../x\r\n"}) {
    EXPECT_EQ(status_of(check(invalid)), 400) << invalid;
  }
}

struct CodingCase {
  const char* name;
  const char* fields;
  int status;
};

class RequestCodings : public ::testing::TestWithParam<CodingCase> {};

TEST_P(RequestCodings, Status) {
  EXPECT_EQ(status_of(check(std::string("Host: a\r\n") + GetParam().fields)), GetParam().status);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RequestCodings,
    ::testing::Values(
        CodingCase{"none", "", 0}, CodingCase{"chunked", "Transfer-Encoding: chunked\r\n", 0},
        CodingCase{"chunked_upper", "Transfer-Encoding: CHUNKED\r\n", 0},
        CodingCase{"chunked_empty_items", "Transfer-Encoding: ,chunked,\r\n", 0},
        CodingCase{"chunked_identity", "Transfer-Encoding: chunked, identity\r\n", 400},
        CodingCase{"xchunked", "Transfer-Encoding: xchunked\r\n", 400},
        CodingCase{"empty", "Transfer-Encoding: \r\n", 400},
        CodingCase{"chunked_chunked", "Transfer-Encoding: chunked, chunked\r\n", 400},
        CodingCase{"gzip_chunked", "Transfer-Encoding: gzip, chunked\r\n", 501},
        CodingCase{"gzip_params_chunked", "Transfer-Encoding: gzip;q=1 , chunked\r\n", 501},
        CodingCase{"two_lines", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", 501},
        CodingCase{"with_length", "Transfer-Encoding: identity\r\nContent-Length: 3\r\n", 400}),
    [](const auto& test) { return std::string(test.param.name); });

TEST(RequestFraming, TransferEncodingInHttp10IsRejected) {
  EXPECT_EQ(status_of(check("Transfer-Encoding: chunked\r\n", 10)), 400);
}

http::response_header<> response(unsigned version, const char* coding, bool length = false) {
  http::response_header<> head;
  head.version(version);
  if (coding) head.set(http::field::transfer_encoding, coding);
  if (length) head.set(http::field::content_length, "5");
  return head;
}

TEST(ResponseFraming, OnlyASingleChunkedIsRelayed) {
  EXPECT_TRUE(response_framing_ok(response(11, nullptr)));
  EXPECT_TRUE(response_framing_ok(response(11, nullptr, true)));
  EXPECT_TRUE(response_framing_ok(response(11, "chunked")));
  EXPECT_FALSE(response_framing_ok(response(11, "gzip, chunked")));
  EXPECT_FALSE(response_framing_ok(response(11, "chunked, gzip")));
  EXPECT_FALSE(response_framing_ok(response(11, "identity")));
  EXPECT_FALSE(response_framing_ok(response(11, "chunked, chunked")));
  EXPECT_FALSE(response_framing_ok(response(11, "chunked", true)));
  EXPECT_FALSE(response_framing_ok(response(10, "chunked")));
}

TEST(ReadErrors, MapToStatuses) {
  EXPECT_EQ(status_of(rejection_for_read_error(http::error::header_limit)), 431);
  EXPECT_EQ(status_of(rejection_for_read_error(http::error::buffer_overflow)), 431);
  EXPECT_EQ(status_of(rejection_for_read_error(http::error::body_limit)), 413);
  EXPECT_EQ(status_of(rejection_for_read_error(http::error::bad_chunk)), 400);
  EXPECT_EQ(status_of(rejection_for_read_error(http::error::bad_line_ending)), 400);
  EXPECT_EQ(status_of(rejection_for_read_error(http::error::end_of_stream)), 0);
  EXPECT_EQ(status_of(rejection_for_read_error(http::error::partial_message)), 0);
  EXPECT_EQ(status_of(rejection_for_read_error(asio::error::connection_reset)), 0);
  EXPECT_EQ(status_of(rejection_for_read_error(beast::error::timeout)), 0);
}

TEST(ReadErrors, RejectionIsAShortJsonResponseThatCloses) {
  const auto bytes = render_rejection(Rejection{431, "request_header_fields_too_large", "x"});
  EXPECT_EQ(bytes.rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_NE(bytes.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("{\"error\": \"request_header_fields_too_large\""), std::string::npos);
}

const std::string kChunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

TEST(BoundedParser, SmallTrailersAreDroppedNotMergedIntoTheHead) {
  Parsed p;
  parse(p, kChunkedHead + "5\r\nhello\r\n0\r\nHost: evil\r\nX-T: 1\r\n\r\n");
  ASSERT_FALSE(p.ec) << p.ec.message();
  EXPECT_TRUE(p.parser.is_done());
  EXPECT_EQ(p.parser.get().body(), "hello");
  EXPECT_EQ(p.parser.get().count(http::field::host), 1u);
  EXPECT_EQ(p.parser.get().count("X-T"), 0u);
}

TEST(BoundedParser, TrailersOverTheHeaderLimitFail) {
  Parsed p;
  parse(p, kChunkedHead + "0\r\nX-T: " + std::string(5000, 't') + "\r\n\r\n",
        RequestLimits{.max_header_bytes = 4096});
  EXPECT_EQ(p.ec, http::error::header_limit);
}

TEST(BoundedParser, ManyTrailerFieldsCountTogether) {
  std::string trailers;
  for (int i = 0; i < 500; ++i) trailers += "X-" + std::to_string(i) + ": 0123456789\r\n";
  Parsed p;
  parse(p, kChunkedHead + "0\r\n" + trailers + "\r\n", RequestLimits{.max_header_bytes = 4096});
  EXPECT_EQ(p.ec, http::error::header_limit);
}

TEST(BoundedParser, AFieldBeastCannotStoreFailsInsteadOfThrowing) {
  Parsed p;
  const std::string big(100 * 1024, 'v');
  parse(p, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + big + "\r\n\r\n",
        RequestLimits{.max_header_bytes = 1 << 20});
  EXPECT_EQ(p.ec, http::error::header_limit);
  // Within a large trailer limit, a big trailer field is dropped, not stored: no throw either.
  Parsed trailer;
  parse(trailer, kChunkedHead + "0\r\nX-Big: " + big + "\r\n\r\n",
        RequestLimits{.max_header_bytes = 1 << 20});
  EXPECT_FALSE(trailer.ec) << trailer.ec.message();
  EXPECT_TRUE(trailer.parser.is_done());
}

TEST(BoundedParser, ReadBufferLimitHoldsAHeadAndARead) {
  EXPECT_GT(read_buffer_limit(16 * 1024), 16u * 1024);
  EXPECT_LE(read_buffer_limit(16 * 1024), 16u * 1024 + 64 * 1024);
}

TEST(ChunkedFraming, BareLineFeedsAreFound) {
  EXPECT_FALSE(has_bare_lf(""));
  EXPECT_FALSE(has_bare_lf("\r\n5\r\n"));
  EXPECT_FALSE(has_bare_lf("0\r\nX-T: 1\r\n"));
  EXPECT_FALSE(has_bare_lf("5;ext=1\r"));  // the LF may still come
  EXPECT_TRUE(has_bare_lf("5\nhello"));
  EXPECT_TRUE(has_bare_lf("\n5\r\n"));  // after chunk data, without its CR
  EXPECT_TRUE(has_bare_lf("0\r\nX-T: 1\n"));
}

}  // namespace
}  // namespace cachecar::net
