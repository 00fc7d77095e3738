// upstream::call against a loopback acceptor: what it reports when the retry on a stale pooled
// connection cannot even connect.
#include "upstream/client.hpp"

#include "support/run_awaitable.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace cachecar::upstream {
namespace {

using namespace std::chrono_literals;

// A write whose answer never came may still have been applied by the origin, so the proxy
// invalidates after `sent`. A request that only reached a connection the upstream had already
// closed, and whose retry found no upstream at all, was applied by nobody: not `sent`.
TEST(UpstreamCall, ARetryThatCannotConnectReportsTheRequestAsNotSent) {
  asio::io_context ctx;
  net::tcp::acceptor acceptor(ctx, {asio::ip::make_address("127.0.0.1"), 0});
  ConnectionCounter counter;
  PoolOptions options;
  options.host = "127.0.0.1";
  options.port = acceptor.local_endpoint().port();
  options.connect_timeout = 5s;
  Pool pool(ctx.get_executor(), options, counter);

  auto first = test::run_awaitable(ctx, pool.acquire(), 10s);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  auto server_side = acceptor.accept();
  pool.release(std::move(*first));
  server_side.close();  // the upstream closes the idle keep-alive connection
  acceptor.close();     // and is gone: the retry's connect is refused

  const std::string head = "PUT /items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  CallOptions call_options;
  call_options.retriable = true;
  call_options.timeout = 5s;
  std::optional<ResponseParser> response;
  const auto called =
      test::run_awaitable(ctx, call(pool, head, RequestBody{}, call_options, response), 10s);
  EXPECT_TRUE(called.ec);
  EXPECT_FALSE(called.conn);
  EXPECT_FALSE(called.client_failed);
  EXPECT_FALSE(called.sent);
}

}  // namespace
}  // namespace cachecar::upstream
