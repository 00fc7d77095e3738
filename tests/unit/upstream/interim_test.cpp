// upstream::call against a scripted loopback upstream that sends interim (1xx) responses before
// its final one: which are relayed through CallOptions::interim_sink (RFC 9110 §15.2), which
// are dropped, the bound on how many, and the final response's framing afterwards.
#include "upstream/client.hpp"

#include "support/run_awaitable.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cachecar::upstream {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kEarlyHints =
    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

// Collects what the proxy would write to the client.
class RecordingSink final : public ResponseSink {
 public:
  net::asio::awaitable<error_code> send(std::string_view a, std::string_view b,
                                        std::string_view c) override {
    std::string piece;
    piece.append(a).append(b).append(c);
    writes.push_back(std::move(piece));
    co_return error_code{};
  }
  std::vector<std::string> writes;
};

// An upstream that answers each request on its connections with the next scripted reply (once
// the request head has arrived), in order across connections.
struct Reply {
  Reply(std::string b, bool close = false) : bytes(std::move(b)), close_after(close) {}
  std::string bytes;
  bool close_after;  // then close the connection; the next reply needs a new one
};

class ScriptedUpstream {
 public:
  explicit ScriptedUpstream(std::vector<Reply> script) : script_(std::move(script)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedUpstream() {
    stop_ = true;
    // Wakes a blocking accept (closing the acceptor from another thread would not).
    net::error_code ignored;
    net::tcp::socket poke(ctx_);
    poke.connect({asio::ip::make_address("127.0.0.1"), port_}, ignored);
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void serve() {
    std::size_t next = 0;
    while (next < script_.size()) {
      net::error_code ec;
      net::tcp::socket socket(ctx_);
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      ++connections_;
      boost::asio::streambuf request;
      while (next < script_.size()) {
        const auto n = boost::asio::read_until(socket, request, "\r\n\r\n", ec);
        if (ec) break;
        request.consume(n);
        const Reply& reply = script_[next++];
        boost::asio::write(socket, boost::asio::buffer(reply.bytes), ec);
        if (ec || reply.close_after) break;
      }
      if (next < script_.size()) continue;    // this connection is closed here
      sockets_.push_back(std::move(socket));  // kept open until the end of the test
    }
  }

  asio::io_context ctx_;
  net::tcp::acceptor acceptor_{ctx_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::uint16_t port_ = acceptor_.local_endpoint().port();
  std::vector<Reply> script_;
  std::vector<net::tcp::socket> sockets_;
  std::atomic<int> connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class InterimTest : public ::testing::Test {
 protected:
  PoolOptions pool_options(const ScriptedUpstream& upstream) const {
    PoolOptions o;
    o.host = "127.0.0.1";
    o.port = upstream.port();
    o.connect_timeout = 5s;
    return o;
  }

  CallResult call_once(Pool& pool, ResponseSink* sink, std::optional<ResponseParser>& response) {
    CallOptions options;
    options.retriable = true;
    options.timeout = 5s;
    options.interim_sink = sink;
    const std::string head = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
    return test::run_awaitable(ctx_, call(pool, head, RequestBody{}, options, response), 10s);
  }

  // The rest of the final response's body.
  std::string read_body(Connection& conn, ResponseParser& response) {
    std::string body;
    char buffer[256];
    while (!response.is_done()) {
      auto [ec, n] = test::run_awaitable(
          ctx_, read_response_piece(conn, response, buffer, sizeof buffer, 5s), 10s);
      if (ec) {
        ADD_FAILURE() << "body read failed: " << ec.message();
        break;
      }
      body.append(buffer, n);
    }
    return body;
  }

  asio::io_context ctx_;
  ConnectionCounter counter_;
};

TEST_F(InterimTest, EarlyHintsAreRelayedBeforeTheFinalResponse) {
  ScriptedUpstream upstream({std::string(kEarlyHints) + std::string(kOk)});
  Pool pool(ctx_.get_executor(), pool_options(upstream), counter_);
  RecordingSink sink;
  std::optional<ResponseParser> response;
  auto called = call_once(pool, &sink, response);
  ASSERT_FALSE(called.ec) << called.ec.message();
  ASSERT_TRUE(called.conn);
  ASSERT_EQ(sink.writes.size(), 1U);
  EXPECT_EQ(sink.writes[0], kEarlyHints);
  EXPECT_EQ(response->get().result_int(), 200);
  EXPECT_EQ(read_body(*called.conn, *response), "hello");
  EXPECT_TRUE(reusable(*response));
}

TEST_F(InterimTest, SeveralInterimsArriveInOrderWithHopByHopFieldsDropped) {
  const std::string processing = "HTTP/1.1 102 Processing\r\n\r\n";
  const std::string hints =
      "HTTP/1.1 103 Early Hints\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
      "Link: </a.css>; rel=preload\r\n\r\n";
  ScriptedUpstream upstream({processing + hints + std::string(kOk)});
  Pool pool(ctx_.get_executor(), pool_options(upstream), counter_);
  RecordingSink sink;
  std::optional<ResponseParser> response;
  auto called = call_once(pool, &sink, response);
  ASSERT_FALSE(called.ec) << called.ec.message();
  ASSERT_EQ(sink.writes.size(), 2U);
  EXPECT_EQ(sink.writes[0], processing);
  EXPECT_EQ(sink.writes[1], kEarlyHints);
  EXPECT_EQ(read_body(*called.conn, *response), "hello");
}

// 100 Continue answers an Expect that cachecar never forwards: it stays between cachecar and
// its own client.
TEST_F(InterimTest, HundredContinueFromTheUpstreamIsSwallowed) {
  ScriptedUpstream upstream({"HTTP/1.1 100 Continue\r\n\r\n" + std::string(kOk)});
  Pool pool(ctx_.get_executor(), pool_options(upstream), counter_);
  RecordingSink sink;
  std::optional<ResponseParser> response;
  auto called = call_once(pool, &sink, response);
  ASSERT_FALSE(called.ec) << called.ec.message();
  EXPECT_TRUE(sink.writes.empty());
  EXPECT_EQ(response->get().result_int(), 200);
  EXPECT_EQ(read_body(*called.conn, *response), "hello");
}

// RFC 9110 §15.2: no interim response goes to an HTTP/1.0 client (no sink).
TEST_F(InterimTest, WithoutASinkInterimsAreDropped) {
  ScriptedUpstream upstream({std::string(kEarlyHints) + std::string(kOk)});
  Pool pool(ctx_.get_executor(), pool_options(upstream), counter_);
  std::optional<ResponseParser> response;
  auto called = call_once(pool, nullptr, response);
  ASSERT_FALSE(called.ec) << called.ec.message();
  EXPECT_EQ(response->get().result_int(), 200);
  EXPECT_EQ(read_body(*called.conn, *response), "hello");
}

TEST_F(InterimTest, SixteenInterimsAreRelayedASeventeenthIsAnInvalidResponse) {
  std::string sixteen;
  for (int i = 0; i < 16; ++i) sixteen.append(kEarlyHints);
  {
    ScriptedUpstream upstream({sixteen + std::string(kOk)});
    Pool pool(ctx_.get_executor(), pool_options(upstream), counter_);
    RecordingSink sink;
    std::optional<ResponseParser> response;
    auto called = call_once(pool, &sink, response);
    ASSERT_FALSE(called.ec) << called.ec.message();
    EXPECT_EQ(sink.writes.size(), 16U);
  }
  ScriptedUpstream upstream({sixteen + std::string(kEarlyHints) + std::string(kOk)});
  Pool pool(ctx_.get_executor(), pool_options(upstream), counter_);
  RecordingSink sink;
  std::optional<ResponseParser> response;
  auto called = call_once(pool, &sink, response);
  EXPECT_TRUE(called.ec);
  EXPECT_FALSE(called.conn);
  EXPECT_TRUE(called.sent);
  EXPECT_EQ(sink.writes.size(), 16U);
  EXPECT_EQ(upstream.connections(), 1);  // an invalid response is not retried
}

// A reused connection that fails before any response byte is retried; one that has already
// sent an interim response has received the request (and the client may have seen the
// interim): its failure is final.
TEST_F(InterimTest, AConnectionThatSentAnInterimIsNotRetried) {
  ScriptedUpstream upstream(
      {{std::string(kOk)}, {std::string(kEarlyHints), true}, {std::string(kOk)}});
  Pool pool(ctx_.get_executor(), pool_options(upstream), counter_);
  {
    std::optional<ResponseParser> response;
    auto first = call_once(pool, nullptr, response);
    ASSERT_FALSE(first.ec) << first.ec.message();
    EXPECT_EQ(read_body(*first.conn, *response), "hello");
    ASSERT_TRUE(reusable(*response));
    pool.release(std::move(first.conn));
  }
  RecordingSink sink;
  std::optional<ResponseParser> response;
  auto second = call_once(pool, &sink, response);
  EXPECT_TRUE(second.ec);
  EXPECT_TRUE(second.sent);
  EXPECT_EQ(sink.writes.size(), 1U);
  EXPECT_EQ(upstream.connections(), 1);
}

}  // namespace
}  // namespace cachecar::upstream
