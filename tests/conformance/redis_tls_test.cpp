// Redis over TLS and as an ACL user, against a real redis-server with --tls-port and
// certificates made by the openssl CLI (support/tls_files): the store's client, the L1
// invalidation channel, and the errors /health shows when the handshake or AUTH fails.
#include "store/l1_cache.hpp"
#include "store/redis/client.hpp"
#include "store/redis/invalidation_listener.hpp"
#include "store/redis/redis_store.hpp"
#include "store/redis/transport.hpp"
#include "support/redis_server.hpp"
#include "support/run_awaitable.hpp"
#include "support/tls_files.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::store::redis {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;
using test::TlsFiles;

constexpr const char* kPrefix = "cc-tls:";

class RedisTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::binary()) GTEST_SKIP() << "redis-server is not installed";
    if (!TlsFiles::available()) GTEST_SKIP() << "the openssl CLI is not installed";
    files_ = std::make_unique<TlsFiles>();
  }
  void TearDown() override {
    if (store_) store_->stop();
    if (listener_) listener_->stop();
    ctx_.restart();
    ctx_.run_for(2s);  // let the cancelled coroutines finish
    store_.reset();
    listener_.reset();
  }

  // A server on a TLS port; with `auth_clients` it requires a client certificate.
  void start_server(bool auth_clients = false) {
    server_ =
        std::make_unique<RedisServer>(RedisServer::Tls{files_->server_cert(), files_->server_key(),
                                                       files_->ca_file(), auth_clients},
                                      std::vector<std::string>{});
  }
  // The ACL user of the README: every key command limited to the prefix.
  void add_prefix_user() {
    const auto reply = server_->command(
        {"ACL", "SETUSER", "cc", "on", ">pw", "~cc-tls:*", "&__redis__:invalidate", "+@all"});
    ASSERT_EQ(reply.type, RedisServer::Reply::Type::Status) << reply.str;
  }

  TlsOptions tls(std::string ca, bool with_client_cert = false, std::string server_name = "",
                 bool verify = true) const {
    TlsSettings settings;
    settings.ca_file = std::move(ca);
    if (with_client_cert) {
      settings.cert_file = files_->client_cert();
      settings.key_file = files_->client_key();
    }
    return {make_tls_context(settings), std::move(server_name), verify};
  }
  Client::Options options(TlsOptions t) {
    Client::Options o;
    o.host = server_->host();
    o.port = server_->tls_port();
    o.tls = std::move(t);
    o.command_timeout = 2s;
    o.connect_timeout = 2s;
    o.on_connect_failure = [this](const std::string& failure) { failures_.push_back(failure); };
    return o;
  }
  RedisStore& make_store(Client::Options o) {
    store_ = std::make_unique<RedisStore>(ctx_.get_executor(), std::move(o), kPrefix);
    return *store_;
  }
  // Runs the context until the store is connected, or until a connection attempt failed.
  bool connected(RedisStore& store) {
    test::wait_until(
        [&] {
          ctx_.run_for(10ms);
          return store.health().connected || !failures_.empty();
        },
        10s);
    return store.health().connected;
  }
  template <class T>
  T run(boost::asio::awaitable<T> coroutine) {
    return test::run_awaitable(ctx_, std::move(coroutine));
  }
  std::optional<std::string> get(RedisStore& store, std::string key) {
    auto r = run(store.get(std::move(key)));
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return r && *r ? std::optional<std::string>(**r) : std::nullopt;
  }
  void put(RedisStore& store, std::string key, std::string value, std::string ns = "") {
    std::vector<std::string> tags;
    const auto ec =
        run(store.put(std::move(key), std::move(value), 60s, std::move(ns), std::move(tags)));
    ASSERT_FALSE(ec) << ec.message();
  }
  void round_trip(RedisStore& store) {
    put(store, "GET:/tls", "over tls");
    EXPECT_EQ(get(store, "GET:/tls"), "over tls");
    EXPECT_EQ(server_->command({"EXISTS", std::string(kPrefix) + "GET:/tls"}).integer, 1);
  }

  boost::asio::io_context ctx_;
  std::unique_ptr<TlsFiles> files_;
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisStore> store_;
  L1Cache l1_{1 << 20, 60s};  // outlives listener_, which holds it
  std::unique_ptr<InvalidationListener> listener_;
  std::vector<std::string> failures_;
};

TEST_F(RedisTlsTest, StoreRoundTripsOverTlsWithTheServersNameVerified) {
  start_server();
  auto& store = make_store(options(tls(files_->ca_file())));
  ASSERT_TRUE(connected(store)) << store.health().last_error;
  round_trip(store);
  EXPECT_TRUE(failures_.empty());
  EXPECT_EQ(store.health().last_error, "");
}

TEST_F(RedisTlsTest, ClientCertificateWhenTheServerRequiresOne) {
  start_server(/*auth_clients=*/true);
  auto& store = make_store(options(tls(files_->ca_file(), /*with_client_cert=*/true)));
  ASSERT_TRUE(connected(store)) << store.health().last_error;
  round_trip(store);
}

TEST_F(RedisTlsTest, WithoutAClientCertificateTheRefusalIsTheError) {
  start_server(/*auth_clients=*/true);
  auto& store = make_store(options(tls(files_->ca_file())));
  ASSERT_FALSE(connected(store));
  const auto error = store.health().last_error;
  EXPECT_NE(error.find("127.0.0.1:" + std::to_string(server_->tls_port())), std::string::npos)
      << error;
  EXPECT_NE(error.find("certificate"), std::string::npos) << error;
  // Fail open: a lookup is an immediate error (a miss for the proxy), not a wait.
  std::string key = "GET:/x";
  EXPECT_FALSE(run(store.get(std::move(key))).has_value());
}

TEST_F(RedisTlsTest, AnotherCaIsAHandshakeErrorNotAStartUpError) {
  start_server();
  auto& store = make_store(options(tls(files_->other_ca_file())));
  ASSERT_FALSE(connected(store));
  const auto error = store.health().last_error;
  EXPECT_EQ(error.rfind("TLS handshake with 127.0.0.1:", 0), 0u) << error;
  EXPECT_NE(error.find("certificate verify failed"), std::string::npos) << error;
  ASSERT_FALSE(failures_.empty());
  EXPECT_EQ(failures_.front(), error);
  // It keeps trying, as after any lost connection: one logged failure per attempt.
  EXPECT_TRUE(test::wait_until(
      [&] {
        ctx_.run_for(10ms);
        return failures_.size() >= 2;
      },
      10s));
}

TEST_F(RedisTlsTest, AServerNameTheCertificateDoesNotNameFailsVerification) {
  start_server();
  auto& store = make_store(options(tls(files_->ca_file(), false, "redis.example.com")));
  ASSERT_FALSE(connected(store));
  const auto error = store.health().last_error;
  EXPECT_NE(error.find("redis.example.com"), std::string::npos) << error;
  EXPECT_EQ(error.rfind("TLS handshake with", 0), 0u) << error;
}

TEST_F(RedisTlsTest, TheServerNameIsWhatIsVerifiedAndVerifyFalseSkipsIt) {
  start_server();
  // "localhost" is in the certificate, the address 127.0.0.1 as well.
  auto& store = make_store(options(tls(files_->ca_file(), false, "localhost")));
  ASSERT_TRUE(connected(store)) << store.health().last_error;
  store.stop();
  auto& unverified = make_store(options(tls(files_->other_ca_file(), false, "nope", false)));
  ASSERT_TRUE(connected(unverified)) << unverified.health().last_error;
  round_trip(unverified);
}

TEST_F(RedisTlsTest, AnAclUserLimitedToThePrefixCanDoEverythingTheStoreDoes) {
  start_server(/*auth_clients=*/true);
  add_prefix_user();
  auto o = options(tls(files_->ca_file(), true));
  o.user = "cc";
  o.password = "pw";
  auto& store = make_store(o);
  ASSERT_TRUE(connected(store)) << store.health().last_error;
  round_trip(store);
  put(store, "GET:/b", "b", "ns");
  EXPECT_EQ(run(store.count()).value(), 2u);
  std::vector<EraseTarget> targets{{EraseTarget::Kind::Exact, "GET:/tls"}};
  EXPECT_EQ(run(store.erase(std::move(targets))).value(), 1u);
  std::optional<std::string> ns = "ns";
  EXPECT_EQ(run(store.clear(std::move(ns))).value(), 1u);
  EXPECT_FALSE(store.health().writes_refused);

  // The same user cannot write outside the prefix: the limit is real.
  Client client(ctx_.get_executor(), o);
  const std::array<std::string_view, 3> outside{"SET", "elsewhere", "x"};
  auto refused = run(client.execute(outside));
  ASSERT_TRUE(refused.has_value()) << refused.error().message();
  ASSERT_TRUE(refused->is_error());
  EXPECT_EQ(refused->str.rfind("NOPERM", 0), 0u) << refused->str;
  client.stop();
}

TEST_F(RedisTlsTest, AWrongPasswordIsAnAuthErrorThatNeverShowsThePassword) {
  start_server();
  add_prefix_user();
  auto o = options(tls(files_->ca_file()));
  o.user = "cc";
  o.password = "not-the-password";
  auto& store = make_store(o);
  ASSERT_FALSE(connected(store));
  const auto error = store.health().last_error;
  EXPECT_EQ(error.rfind("AUTH refused: WRONGPASS", 0), 0u) << error;
  EXPECT_EQ(error.find("not-the-password"), std::string::npos) << error;
}

// The L1 channel over TLS as the ACL user: a write elsewhere reaches L1 through TLS records.
TEST_F(RedisTlsTest, TheInvalidationChannelWorksOverTlsAsTheAclUser) {
  start_server(/*auth_clients=*/true);
  add_prefix_user();
  auto& l1 = l1_;
  InvalidationListener::Options o;
  o.host = server_->host();
  o.port = server_->tls_port();
  o.tls = tls(files_->ca_file(), true);
  o.user = "cc";
  o.password = "pw";
  o.key_prefix = kPrefix;
  o.connect_timeout = 2s;
  listener_ = std::make_unique<InvalidationListener>(ctx_.get_executor(), o, l1);
  listener_->start();
  ASSERT_TRUE(test::wait_until(
      [&] {
        ctx_.poll();
        return l1.active();
      },
      10s));
  const auto fill = [&](const std::string& key) {
    l1.fill(key, std::make_shared<const std::string>("v"), 10s, l1.token(key));
  };
  fill("GET:/k");
  fill("GET:/other");
  ASSERT_TRUE(l1.get("GET:/k"));
  server_->command({"SET", std::string(kPrefix) + "GET:/k", "written elsewhere"});
  // Unread (the listener's executor is not running): L1 does not serve.
  EXPECT_TRUE(test::wait_until([&] { return !l1.get("GET:/other"); }, 10s));
  EXPECT_TRUE(test::wait_until(
      [&] {
        ctx_.poll();
        return l1.get("GET:/other") != nullptr;
      },
      10s));
  EXPECT_FALSE(l1.get("GET:/k"));
  // Many messages in a row (several TLS records, some left inside the TLS layer by one read).
  for (int i = 0; i < 200; ++i) fill("GET:/many/" + std::to_string(i));
  for (int i = 0; i < 200; ++i) {
    server_->command({"SET", std::string(kPrefix) + "GET:/many/" + std::to_string(i), "x"});
  }
  EXPECT_TRUE(test::wait_until(
      [&] {
        ctx_.poll();
        return l1.get("GET:/other") != nullptr;
      },
      10s));
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(l1.get("GET:/many/" + std::to_string(i))) << i;
}

TEST_F(RedisTlsTest, TheInvalidationChannelReportsAWrongPassword) {
  start_server();
  add_prefix_user();
  auto& l1 = l1_;
  InvalidationListener::Options o;
  o.host = server_->host();
  o.port = server_->tls_port();
  o.tls = tls(files_->ca_file());
  o.user = "cc";
  o.password = "wrong";
  o.key_prefix = kPrefix;
  o.on_connect_failure = [this](const std::string& failure) { failures_.push_back(failure); };
  listener_ = std::make_unique<InvalidationListener>(ctx_.get_executor(), o, l1);
  listener_->start();
  ASSERT_TRUE(test::wait_until(
      [&] {
        ctx_.run_for(10ms);
        return !failures_.empty();
      },
      10s));
  EXPECT_EQ(failures_.front().rfind("AUTH refused: WRONGPASS", 0), 0u) << failures_.front();
  EXPECT_FALSE(l1.active());
}

}  // namespace
}  // namespace cachecar::store::redis
