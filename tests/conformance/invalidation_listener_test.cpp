// The L1 invalidation channel against a private redis-server: what a lookup on another thread
// may and may not do while the listener (on its own executor) is between two reads.
#include "store/redis/invalidation_listener.hpp"
#include "store/l1_cache.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace cachecar::store::redis {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;

constexpr const char* kPrefix = "cc-listen:";

Value bytes(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

class InvalidationListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::binary()) GTEST_SKIP() << "redis-server is not installed";
    server_ = std::make_unique<RedisServer>();
    InvalidationListener::Options o;
    o.host = server_->host();
    o.port = server_->port();
    o.key_prefix = kPrefix;
    o.key_hash = hash();
    o.connect_timeout = 2s;
    if (hash() != KeyHash::None) {
      l1_.set_key_names(
          [names = KeyNames(kPrefix, hash())](std::string_view key) { return names.of(key); });
    }
    listener_ = std::make_unique<InvalidationListener>(ctx_.get_executor(), o, l1_);
    listener_->start();
    ASSERT_TRUE(test::wait_until(
        [&] {
          ctx_.poll();
          return l1_.active();
        },
        10s));
  }
  void TearDown() override {
    if (listener_) listener_->stop();
    ctx_.restart();
    ctx_.run_for(2s);  // let the cancelled coroutines finish
    listener_.reset();
  }
  void fill(const std::string& key) { l1_.fill(key, bytes("v"), 10s, l1_.token(key)); }
  virtual KeyHash hash() const { return KeyHash::None; }

  boost::asio::io_context ctx_;
  L1Cache l1_{1 << 20, 60s};
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<InvalidationListener> listener_;
};

// stop() closes the channel's socket; a lookup on another thread that passed active() just
// before must not read that descriptor number afterwards: it may already be someone else's.
TEST_F(InvalidationListenerTest, ALookupRacingStopNeverReadsTheChannelsOldDescriptor) {
  listener_->stop();  // its coroutine has not run since: what a lookup elsewhere meets
  // New descriptors take the lowest free numbers, the channel's among them; each end has a byte.
  std::vector<std::array<int, 2>> pairs(8);
  for (auto& pair : pairs) {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair.data()), 0);
    ASSERT_EQ(::write(pair[0], "x", 1), 1);
    ASSERT_EQ(::write(pair[1], "y", 1), 1);
  }
  l1_.set_active(true);  // the lookup's view: it saw the tier on
  fill("GET:/a");
  EXPECT_FALSE(l1_.get("GET:/a"));  // no channel: nothing is served
  for (const auto& pair : pairs) {
    for (int fd : pair) {
      char c = 0;
      EXPECT_EQ(::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT), 1)
          << "descriptor " << fd << " was read";
      ::close(fd);
    }
  }
}

// A lookup never reads the channel itself (that would need a lock shared by every thread); while
// a message waits in the socket it does not serve, and once the listener applied it, it does.
TEST_F(InvalidationListenerTest, ALookupDoesNotServeWhileAnInvalidationWaitsUnread) {
  fill("GET:/k");
  fill("GET:/other");
  ASSERT_TRUE(l1_.get("GET:/k"));
  server_->command({"SET", std::string(kPrefix) + "GET:/k", "written elsewhere"});
  // The listener's executor is not running: the message sits in the socket.
  EXPECT_TRUE(test::wait_until([&] { return !l1_.get("GET:/other"); }, 10s));
  EXPECT_FALSE(l1_.get("GET:/k"));
  // The listener applies it; then L1 serves again, without the invalidated key.
  EXPECT_TRUE(test::wait_until(
      [&] {
        ctx_.poll();
        return l1_.get("GET:/other") != nullptr;
      },
      10s));
  EXPECT_FALSE(l1_.get("GET:/k"));
}

// cache.key_hash: sha256: Redis reports hashed names; the channel tracks the whole prefix and L1
// maps the names of what it holds back to keys. Writes to the bookkeeping drop nothing.
class HashedInvalidationListenerTest : public InvalidationListenerTest {
 protected:
  KeyHash hash() const override { return KeyHash::Sha256; }
};

TEST_F(HashedInvalidationListenerTest, AWriteToAHashedNameDropsItsEntry) {
  const KeyNames names(kPrefix, KeyHash::Sha256);
  fill("GET:/k?email=a@b");
  fill("GET:/other");
  server_->command({"HSET", names.of("__keytags"), "x", "y"});  // bookkeeping: not an entry
  server_->command({"SET", names.of("GET:/k?email=a@b"), "written elsewhere"});
  EXPECT_TRUE(test::wait_until(
      [&] {
        ctx_.poll();
        return l1_.get("GET:/k?email=a@b") == nullptr && l1_.get("GET:/other") != nullptr;
      },
      10s));
  EXPECT_TRUE(l1_.get("GET:/other"));
}

}  // namespace
}  // namespace cachecar::store::redis
