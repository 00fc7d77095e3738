// The HTTP/1.1 server loop (ServerConnection) and serve_simple over real loopback sockets: a
// tiny handler that answers each request with its target, a blocking POSIX client.
#include "net/server_connection.hpp"
#include "net/simple_server.hpp"
#include "net/wire.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cachecar::net {
namespace {

// Far above anything the server should take: a hang fails the test instead of the run.
constexpr int kClientPatienceSeconds = 20;

// Answers "200 OK" with the request target as the body, after reading the body whole.
class EchoTarget final : public RequestHandler<http::string_body> {
 public:
  explicit EchoTarget(ServerConnection& connection) : connection_(connection) {}

  asio::awaitable<bool> handle(RequestParser<http::string_body>& parser) override {
    if (!parser.is_done()) {
      if (co_await connection_.continue_if_expected(parser.get())) co_return false;
      const auto ec = co_await connection_.read_body(parser);
      if (ec) {
        co_await connection_.refuse(ec);
        co_return false;
      }
    }
    const bool keep_alive = connection_.keep_alive(parser.get());
    const std::string target(parser.get().target());
    const std::string response = render_response(200, "text/plain", target, keep_alive);
    const auto ec = co_await connection_.send(response);
    co_return !ec && keep_alive;
  }

 private:
  ServerConnection& connection_;
};

asio::awaitable<void> serve_echo(tcp::socket socket, ConnectionTracker& tracker,
                                 ServerLimits limits) {
  ServerConnection connection(std::move(socket), tracker, limits);
  EchoTarget handler(connection);
  co_await connection.run(handler);
}

asio::awaitable<SimpleResponse> answer_target(SimpleRequest& request) {
  co_return json_response(200, "{\"target\": \"" + std::string(request.message.target()) + "\"}",
                          request.message.version(), request.message.keep_alive());
}

// A listener on 127.0.0.1:0 serving each connection with ServerConnection + EchoTarget, or
// with serve_simple, on its own thread.
class Server {
 public:
  enum class Kind { Loop, Simple };

  explicit Server(ServerLimits limits, Kind kind = Kind::Loop) : limits_(limits) {
    listener_ = std::make_unique<Listener>(
        context_.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), false,
        [this, kind](tcp::socket socket) {
          if (kind == Kind::Simple) {
            SimpleHandler handler = answer_target;
            return serve_simple(std::move(socket), std::move(handler), limits_, tracker_);
          }
          return serve_echo(std::move(socket), tracker_, limits_);
        });
    port_ = listener_->local_endpoint().port();
    listener_->start();
    thread_ = std::thread([this] { context_.run(); });
  }
  ~Server() {
    asio::post(context_, [this] {
      listener_->stop();
      tracker_.close_all();
    });
    context_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  ServerLimits limits_;
  ConnectionTracker tracker_;  // before the context: frames destroyed with it unregister
  asio::io_context context_;
  std::unique_ptr<Listener> listener_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// A blocking client socket whose every read and write gives up after kClientPatienceSeconds.
class Client {
 public:
  explicit Client(std::uint16_t port, int send_buffer_bytes = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval patience{kClientPatienceSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &patience, sizeof patience);
    if (send_buffer_bytes > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &send_buffer_bytes, sizeof send_buffer_bytes);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  // 0 when every byte was written, else the errno that stopped it.
  int write_all(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      sent += static_cast<std::size_t>(n);
    }
    return 0;
  }

  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

  struct Received {
    std::string bytes;
    int error = 0;  // 0: the server closed cleanly (EOF); else errno (ECONNRESET, EAGAIN...)
  };

  // Everything until the server closes.
  Received read_to_end() {
    Received received;
    char chunk[16 * 1024];
    for (;;) {
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n == 0) return received;
      if (n < 0) {
        if (errno == EINTR) continue;
        received.error = errno;
        return received;
      }
      received.bytes.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // At least `bytes` bytes (fewer only when the connection ends first).
  std::string read_at_least(std::size_t bytes) {
    std::string out;
    char chunk[16 * 1024];
    while (out.size() < bytes) {
      const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      out.append(chunk, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string get(std::string_view target, std::string_view extra = {}) {
  std::string request = "GET ";
  request.append(target).append(" HTTP/1.1\r\nHost: test\r\n").append(extra).append("\r\n");
  return request;
}

std::size_t count(const std::string& haystack, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

ServerLimits small_limits() {
  ServerLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 1024;
  return limits;
}

TEST(ServerConnection, PipelinedRequestsAreAnsweredInOrder) {
  Server server(small_limits());
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_EQ(
      client.write_all(get("/first") + get("/second") + get("/third", "Connection: close\r\n")), 0);
  const auto received = client.read_to_end();
  EXPECT_EQ(received.error, 0);
  EXPECT_EQ(count(received.bytes, "HTTP/1.1 200 OK\r\n"), 3u);
  const auto first = received.bytes.find("\r\n\r\n/first");
  const auto second = received.bytes.find("\r\n\r\n/second");
  const auto third = received.bytes.find("\r\n\r\n/third");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  ASSERT_NE(third, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST(ServerConnection, AHeadOverTheLimitGets431AndTheConnectionCloses) {
  Server server(small_limits());
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_EQ(
      client.write_all(get("/big", "X-Long: " + std::string(4000, 'a') + "\r\n") + get("/never")),
      0);
  const auto received = client.read_to_end();
  EXPECT_EQ(received.error, 0);
  EXPECT_TRUE(received.bytes.starts_with("HTTP/1.1 431 ")) << received.bytes;
  EXPECT_NE(received.bytes.find("request_header_fields_too_large"), std::string::npos);
  EXPECT_NE(received.bytes.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(received.bytes.find("/never"), std::string::npos);
}

TEST(ServerConnection, ADeclaredBodyOverTheLimitGets413) {
  Server server(small_limits());
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_EQ(client.write_all("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\n"),
            0);
  const auto received = client.read_to_end();
  EXPECT_TRUE(received.bytes.starts_with("HTTP/1.1 413 ")) << received.bytes;
  EXPECT_NE(received.bytes.find("payload_too_large"), std::string::npos);
}

TEST(ServerConnection, AChunkedBodyOverTheLimitGets413WhileItIsRead) {
  Server server(small_limits());
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  const std::string chunk(2000, 'b');
  ASSERT_EQ(client.write_all("POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
                             "\r\n7d0\r\n" +
                             chunk + "\r\n0\r\n\r\n"),
            0);
  const auto received = client.read_to_end();
  EXPECT_EQ(received.error, 0);
  EXPECT_TRUE(received.bytes.starts_with("HTTP/1.1 413 ")) << received.bytes;
  EXPECT_NE(received.bytes.find("payload_too_large"), std::string::npos);
}

TEST(ServerConnection, ABodyWithinTheLimitIsReadAndTheConnectionKept) {
  Server server(small_limits());
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_EQ(
      client.write_all("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello" +
                       get("/after", "Connection: close\r\n")),
      0);
  const auto received = client.read_to_end();
  EXPECT_EQ(received.error, 0);
  EXPECT_EQ(count(received.bytes, "HTTP/1.1 200 OK\r\n"), 2u);
  EXPECT_NE(received.bytes.find("\r\n\r\n/after"), std::string::npos);
}

TEST(ServerConnection, AnIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  auto limits = small_limits();
  limits.header_timeout = std::chrono::minutes(5);  // never the one that closes it here
  limits.idle_timeout = std::chrono::milliseconds(100);
  Server server(limits);
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_EQ(client.write_all(get("/one")), 0);
  const std::string expected = render_response(200, "text/plain", "/one", true);
  EXPECT_EQ(client.read_at_least(expected.size()), expected);
  // Nothing more is sent: the server ends the connection (long before the client's patience).
  const auto received = client.read_to_end();
  EXPECT_EQ(received.error, 0);
  EXPECT_EQ(received.bytes, "");
}

// RFC 9110 §10.1.1: a client that asks first gets "100 Continue" before it sends the body.
void expect_continue_before_the_body(Server::Kind kind) {
  Server server(small_limits(), kind);
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_EQ(client.write_all("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
                             "Expect: 100-continue\r\nConnection: close\r\n\r\n"),
            0);
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  EXPECT_EQ(client.read_at_least(interim.size()), interim);
  ASSERT_EQ(client.write_all("hello"), 0);
  const auto received = client.read_to_end();
  EXPECT_EQ(received.error, 0);
  EXPECT_TRUE(received.bytes.starts_with("HTTP/1.1 200 OK\r\n")) << received.bytes;
  EXPECT_NE(received.bytes.find("/upload"), std::string::npos);
}

TEST(ServerConnection, AnExpectedContinueIsAnsweredBeforeTheBodyIsRead) {
  expect_continue_before_the_body(Server::Kind::Loop);
}

TEST(SimpleServer, AnExpectedContinueIsAnsweredBeforeTheBodyIsRead) {
  expect_continue_before_the_body(Server::Kind::Simple);
}

// The client sends a whole oversized body before it reads: the refusal must reach it, and its
// write must not be cut by a RST (what closing with unread data does).
void expect_refusal_survives_unread_body(Server::Kind kind) {
  Server server(small_limits(), kind);
  Client client(server.port(), 4096);  // the body cannot sit in the client's send buffer
  ASSERT_TRUE(client.connected());
  const std::size_t body_bytes = 512 * 1024;  // under the 1 MiB the close drains
  const std::string request =
      "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body_bytes) +
      "\r\n\r\n" + std::string(body_bytes, 'x');
  EXPECT_EQ(client.write_all(request), 0) << std::strerror(errno);
  client.shutdown_send();
  const auto received = client.read_to_end();
  EXPECT_EQ(received.error, 0) << std::strerror(received.error);
  EXPECT_TRUE(received.bytes.starts_with("HTTP/1.1 413 ")) << received.bytes;
}

TEST(ServerConnection, ARefusalIsNotLostToAResetWhenTheClientKeepsSending) {
  expect_refusal_survives_unread_body(Server::Kind::Loop);
}

TEST(SimpleServer, ARefusalIsNotLostToAResetWhenTheClientKeepsSending) {
  expect_refusal_survives_unread_body(Server::Kind::Simple);
}

// serve_simple answers refusals as the proxy does: the same statuses and JSON error codes.
TEST(SimpleServer, RefusalsUseTheProxysErrorCodes) {
  struct Case {
    std::string request;
    std::string status_line;
    std::string code;
  };
  const std::vector<Case> cases{
      {get("/big", "X-Long: " + std::string(4000, 'a') + "\r\n"), "HTTP/1.1 431 ",
       "\"error\": \"request_header_fields_too_large\""},
      {"POST /up HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\n", "HTTP/1.1 413 ",
       "\"error\": \"payload_too_large\""},
      {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", "\"error\": \"bad_request\""},
      {"POST /up HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       "HTTP/1.1 400 ", "\"error\": \"bad_request\""},
  };
  Server server(small_limits(), Server::Kind::Simple);
  for (const auto& c : cases) {
    Client client(server.port());
    ASSERT_TRUE(client.connected());
    ASSERT_EQ(client.write_all(c.request), 0);
    const auto received = client.read_to_end();
    EXPECT_EQ(received.error, 0) << c.request;
    EXPECT_TRUE(received.bytes.starts_with(c.status_line)) << received.bytes;
    EXPECT_NE(received.bytes.find(c.code), std::string::npos) << received.bytes;
    EXPECT_NE(received.bytes.find("Content-Type: application/json\r\n"), std::string::npos);
  }
}

TEST(SimpleServer, PipelinedRequestsAreAnsweredInOrder) {
  Server server(small_limits(), Server::Kind::Simple);
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  ASSERT_EQ(client.write_all(get("/first") +
                             "POST /second HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\nhi" +
                             get("/third", "Connection: close\r\n")),
            0);
  const auto received = client.read_to_end();
  EXPECT_EQ(received.error, 0);
  const auto first = received.bytes.find("\"/first\"");
  const auto second = received.bytes.find("\"/second\"");
  const auto third = received.bytes.find("\"/third\"");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  ASSERT_NE(third, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

}  // namespace
}  // namespace cachecar::net
