// Interim responses through the whole proxy (real redis-server, real upstream stub, real
// sockets): 102 and 103 from the upstream reach HTTP/1.1 clients ahead of the final response,
// never HTTP/1.0 clients (RFC 9110 §15.2), and are never stored; a 100 Continue from the
// upstream is not relayed.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;

const std::string kEarlyHints = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";

const std::string kRules =
    "  - match: \"GET /cached/{id}\"\n"
    "    ttl: 60s\n";

class InterimProxyTest : public ::testing::Test {
 protected:
  void script(const std::string& path, std::vector<std::string> interim) {
    StubReply reply;
    reply.body = "{\"ok\": true}";
    reply.interim = std::move(interim);
    h.upstream.on(path, reply);
  }

  Harness h{HarnessOptions{.rules = kRules}};
};

TEST_F(InterimProxyTest, EarlyHintsReachAnHttp11ClientBeforeTheFinalResponse) {
  script("/plain", {"HTTP/1.1 102 Processing\r\n\r\n", kEarlyHints});
  HttpClient client(h.port(), 10s);
  client.send_raw("GET /plain HTTP/1.1\r\nHost: test.local\r\n\r\n");
  const auto processing = client.read_response();
  EXPECT_EQ(processing.status, 102);
  const auto hints = client.read_response();
  EXPECT_EQ(hints.status, 103);
  EXPECT_EQ(hints.header("Link"), "</a.css>; rel=preload");
  const auto final_response = client.read_response();
  EXPECT_EQ(final_response.status, 200);
  EXPECT_EQ(final_response.body, "{\"ok\": true}");
  // The connection is still in step: the next request gets its own answer.
  client.send_raw("GET /other HTTP/1.1\r\nHost: test.local\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 200);
}

TEST_F(InterimProxyTest, AnHttp10ClientGetsOnlyTheFinalResponse) {
  script("/plain", {kEarlyHints});
  HttpClient client(h.port(), 10s);
  client.send_raw("GET /plain HTTP/1.0\r\nHost: test.local\r\n\r\n");
  const auto response = client.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"ok\": true}");
}

TEST_F(InterimProxyTest, HundredContinueFromTheUpstreamIsNotRelayed) {
  script("/plain", {"HTTP/1.1 100 Continue\r\n\r\n"});
  HttpClient client(h.port(), 10s);
  client.send_raw("GET /plain HTTP/1.1\r\nHost: test.local\r\n\r\n");
  EXPECT_EQ(client.read_response().status, 200);
}

TEST_F(InterimProxyTest, InterimsAreNeverStored) {
  script("/cached/1", {kEarlyHints});
  {
    HttpClient client(h.port(), 10s);
    client.send_raw("GET /cached/1 HTTP/1.1\r\nHost: test.local\r\n\r\n");
    EXPECT_EQ(client.read_response().status, 103);
    const auto miss = client.read_response();
    EXPECT_EQ(miss.status, 200);
    EXPECT_EQ(miss.header("X-Cache"), "MISS");
  }
  HttpClient client(h.port(), 10s);
  client.send_raw("GET /cached/1 HTTP/1.1\r\nHost: test.local\r\n\r\n");
  const auto hit = client.read_response();  // straight to the stored 200
  EXPECT_EQ(hit.status, 200);
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/cached/1"), 1U);
}

TEST_F(InterimProxyTest, SeventeenInterimsAreABadGateway) {
  script("/plain", std::vector<std::string>(17, kEarlyHints));
  HttpClient client(h.port(), 10s);
  client.send_raw("GET /plain HTTP/1.1\r\nHost: test.local\r\n\r\n");
  int status = 103;
  for (int i = 0; i < 20 && status == 103; ++i) status = client.read_response().status;
  EXPECT_EQ(status, 502);
}

}  // namespace
}  // namespace cachecar::test
