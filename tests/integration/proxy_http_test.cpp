// HTTP plumbing through the proxy: framing, keep-alive, pipelining, header hygiene, limits and
// upstream failures.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

namespace cachecar::test {
namespace {

const std::string kRules =
    "  - match: \"GET /cached/{id}\"\n"
    "    ttl: 60s\n";

class ProxyHttpTest : public ::testing::Test {
 protected:
  Harness h{HarnessOptions{.rules = kRules, .upstream_timeout = "500ms"}};
};

TEST_F(ProxyHttpTest, KeepAliveServesManyRequestsOnOneConnection) {
  HttpClient client(h.port());
  for (int i = 0; i < 5; ++i) {
    auto response = client.get("/cached/" + std::to_string(i % 2));
    EXPECT_EQ(response.status, 200);
    EXPECT_TRUE(response.keep_alive);
  }
  EXPECT_EQ(h.upstream.requests("/cached/0"), 1u);
  EXPECT_EQ(h.upstream.requests("/cached/1"), 1u);
}

TEST_F(ProxyHttpTest, UpstreamConnectionsAreReused) {
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(h.get("/other/" + std::to_string(i)).status, 200);  // each on a new client connection
  }
  auto post = h.request("POST", "/other/write", {}, "{}");
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(h.upstream.total_requests(), 11u);
  EXPECT_EQ(h.upstream.connections_accepted(), 1u);
}

TEST_F(ProxyHttpTest, PipelinedRequestsAreAnsweredInOrder) {
  h.get("/cached/1");  // one of them a hit (entries are per Host: the same as h.get's)
  HttpClient client(h.port());
  client.send_raw(
      "GET /cached/1 HTTP/1.1\r\nHost: test.local\r\n\r\n"
      "GET /other/2 HTTP/1.1\r\nHost: test.local\r\n\r\n"
      "POST /other/3 HTTP/1.1\r\nHost: test.local\r\nContent-Length: 5\r\n\r\nhello"
      "GET /cached/4 HTTP/1.1\r\nHost: test.local\r\n\r\n");
  auto first = client.read_response();
  auto second = client.read_response();
  auto third = client.read_response();
  auto fourth = client.read_response();
  EXPECT_EQ(first.header("X-Cache"), "HIT");
  EXPECT_EQ(first.body, "{\"path\": \"/cached/1\", \"n\": 1}");
  EXPECT_EQ(second.body, "{\"path\": \"/other/2\", \"n\": 1}");
  EXPECT_EQ(third.body, "{\"path\": \"/other/3\", \"n\": 1}");
  EXPECT_EQ(fourth.body, "{\"path\": \"/cached/4\", \"n\": 1}");
  EXPECT_EQ(h.upstream.last().body, "");  // GET after the POST carried no body
}

TEST_F(ProxyHttpTest, ForwardingAddsProxyHeadersAndDropsHopByHopOnes) {
  h.get("/other/1", {{"Connection", "close, X-Secret-Hop"},
                     {"X-Secret-Hop", "1"},
                     {"Keep-Alive", "timeout=5"},
                     {"X-Forwarded-For", "10.1.1.1"},
                     {"X-Custom", "kept"}});
  auto seen = h.upstream.last();
  EXPECT_EQ(seen.header("Host"), "test.local");
  EXPECT_EQ(seen.header("X-Forwarded-For"), "127.0.0.1");  // not from trusted_proxies
  EXPECT_EQ(seen.header("X-Forwarded-Proto"), "http");
  EXPECT_EQ(seen.header("X-Custom"), "kept");
  EXPECT_EQ(seen.header("X-Secret-Hop"), "");
  EXPECT_EQ(seen.header("Keep-Alive"), "");
}

TEST_F(ProxyHttpTest, UpstreamHopByHopResponseHeadersAreDropped) {
  h.upstream.on("/other/hop", StubReply{.headers = {{"Connection", "X-Internal"},
                                                    {"X-Internal", "secret"},
                                                    {"X-Visible", "yes"}},
                                        .body = "ok"});
  auto response = h.get("/other/hop");
  EXPECT_EQ(response.header("X-Visible"), "yes");
  EXPECT_FALSE(response.has_header("X-Internal"));
}

TEST_F(ProxyHttpTest, LargeRequestBodiesStreamToTheUpstream) {
  std::string body(3 * 1024 * 1024, 'b');
  body[12345] = 'Z';
  auto response = h.request("POST", "/other/upload", {}, body);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(h.upstream.last().body, body);
}

TEST_F(ProxyHttpTest, ChunkedRequestBodiesAreRelayed) {
  HttpClient client(h.port());
  client.send_raw(
      "POST /other/chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 200);
  EXPECT_EQ(h.upstream.last().body, "hello world");
}

TEST_F(ProxyHttpTest, ExpectContinueIsAnswered) {
  HttpClient client(h.port());
  client.send_raw(
      "PUT /other/expect HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
      "Expect: 100-continue\r\n\r\n");
  auto interim = client.read_response();
  EXPECT_EQ(interim.status, 100);
  client.send_raw("data");
  EXPECT_EQ(client.read_response().status, 200);
  EXPECT_EQ(h.upstream.last().body, "data");
}

TEST_F(ProxyHttpTest, MalformedRequestGets400AndTheConnectionCloses) {
  HttpClient client(h.port());
  client.send_raw("GARBAGE\r\n\r\n");
  auto response = client.read_response();
  EXPECT_EQ(response.status, 400);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(h.upstream.total_requests(), 0u);
}

TEST_F(ProxyHttpTest, NonPathTargetGets400) {
  HttpClient client(h.port());
  client.send_raw("GET http://elsewhere.example/x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 400);
  EXPECT_EQ(h.upstream.total_requests(), 0u);
}

TEST_F(ProxyHttpTest, OversizedHeaderBlockGets431) {
  HttpClient client(h.port());
  client.send_raw("GET /cached/1 HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(17 * 1024, 'h') +
                  "\r\n\r\n");
  auto response = client.read_response();
  EXPECT_EQ(response.status, 431);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(ProxyHttpTest, UpstreamTimeoutGives504) {
  h.upstream.on("/other/slow", StubReply{.body = "late", .delay = std::chrono::seconds(3)});
  auto response = h.get("/other/slow");
  EXPECT_EQ(response.status, 504);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_NE(response.body.find("gateway_timeout"), std::string::npos);
}

TEST_F(ProxyHttpTest, UpstreamDownGives502AndCachedEntriesStillServe) {
  h.get("/cached/1");
  h.upstream.stop();
  auto miss = h.get("/other/1");
  EXPECT_EQ(miss.status, 502);
  EXPECT_NE(miss.body.find("bad_gateway"), std::string::npos);
  auto hit = h.get("/cached/1");
  EXPECT_EQ(hit.status, 200);
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_GE(h.app->metrics().snapshot().upstream_errors, 1u);
}

// RFC 9110 §9.3.2: no content in a response to HEAD, cachecar's own error answers included;
// body bytes there would be read as the start of the next response on the connection.
TEST_F(ProxyHttpTest, ErrorAnswersToHeadCarryNoBody) {
  h.get("/cached/1");
  h.upstream.stop();
  HttpClient client(h.port());
  auto head = client.request("HEAD", "/other/1");
  EXPECT_EQ(head.status, 502);
  EXPECT_TRUE(head.keep_alive);
  auto next = client.get("/cached/1");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.header("X-Cache"), "HIT");
}

TEST_F(ProxyHttpTest, AnUpstreamBodyOnHeadDoesNotPoisonThePooledConnection) {
  // A sloppy upstream answers HEAD with a body; those bytes must not become the next
  // request's response on a reused connection. (Whether they sit in the kernel or already in
  // the connection's buffer depends on timing; the pool refuses both.)
  h.upstream.on("/other/head",
                StubReply{.body = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"});
  HttpClient client(h.port());
  EXPECT_EQ(client.request("HEAD", "/other/head").status, 200);
  auto next = client.get("/other/next");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "{\"path\": \"/other/next\", \"n\": 1}");
}

TEST_F(ProxyHttpTest, CacheFillsAskForTheWholeResource) {
  h.get("/cached/range",
        {{"Range", "bytes=0-3"}, {"If-Range", "\"v1\""}, {"If-None-Match", "\"v1\""}});
  const auto seen = h.upstream.last();
  EXPECT_EQ(seen.header("Range"), "");
  EXPECT_EQ(seen.header("If-Range"), "");
  EXPECT_EQ(seen.header("If-None-Match"), "");
  // Uncached routes pass them through untouched.
  h.get("/other/range", {{"Range", "bytes=0-3"}});
  EXPECT_EQ(h.upstream.last().header("Range"), "bytes=0-3");
}

TEST(ProxyLimitsTest, ChunkedBodyOverTheLimitGets413) {
  Harness h{HarnessOptions{.rules = kRules, .extra = "limits:\n  max_request_body_size: 1KiB\n"}};
  HttpClient client(h.port());
  const std::string chunk(800, 'c');
  client.send_raw(
      "POST /other/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "320\r\n" +
      chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
  auto response = client.read_response();
  EXPECT_EQ(response.status, 413);
  EXPECT_TRUE(client.closed_by_server());
}

TEST(ProxyLimitsTest, DeclaredBodyOverTheLimitGets413) {
  Harness h{HarnessOptions{.rules = kRules, .extra = "limits:\n  max_request_body_size: 1KiB\n"}};
  auto response = h.request("POST", "/other/upload", {}, std::string(2000, 'x'));
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(h.upstream.total_requests(), 0u);
}

}  // namespace
}  // namespace cachecar::test
