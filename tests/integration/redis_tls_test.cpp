// The whole proxy against Redis over TLS (rediss://, certificates from support/tls_files) and
// as an ACL user: it caches through both; a wrong CA or a wrong password never stops it, it
// serves from the upstream and /health says why Redis is down.
#include "integration/harness.hpp"
#include "support/process.hpp"
#include "support/tls_files.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;

const std::string kRules =
    "  - match: \"GET /api/items/{id}\"\n"
    "    ttl: 60s\n"
    "  - match: \"PUT /api/items/{id}\"\n"
    "    invalidate: [\"GET /api/items/{id}\"]\n";

class RedisTlsProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::binary()) GTEST_SKIP() << "redis-server is not installed";
    if (!TlsFiles::available()) GTEST_SKIP() << "the openssl CLI is not installed";
    files_ = std::make_unique<TlsFiles>();
  }

  // rediss:// with a client certificate required by the server; `ca` is what cachecar trusts.
  HarnessOptions options(const std::string& ca) const {
    HarnessOptions o{.rules = kRules};
    o.redis_tls =
        RedisServer::Tls{files_->server_cert(), files_->server_key(), files_->ca_file(), true};
    o.redis = "  tls:\n    ca_file: " + ca + "\n    cert_file: " + files_->client_cert() +
              "\n    key_file: " + files_->client_key() + "\n    server_name: localhost\n";
    return o;
  }
  // The README's user: keys under the prefix, the L1 channel, no dangerous commands.
  static void add_prefix_user(RedisServer& redis) {
    const auto reply =
        redis.command({"ACL", "SETUSER", "cc", "on", ">pw", "~cachecar:*", "&__redis__:invalidate",
                       "+@all", "-@dangerous", "+info", "+client|id", "+client|tracking"});
    ASSERT_EQ(reply.type, RedisServer::Reply::Type::Status) << reply.str;
  }
  // /health once Redis is down with an error (the first attempt may still be under way).
  static std::string health_with_error(Harness& h) {
    std::string body;
    wait_until(
        [&] {
          body = h.admin("GET", "/health").body;
          return body.find("\"redis_error\"") != std::string::npos;
        },
        10s, 10ms);
    return body;
  }

  std::unique_ptr<TlsFiles> files_;
};

TEST_F(RedisTlsProxyTest, CachesOverTlsAsAnAclUserLimitedToItsPrefix) {
  auto o = options(files_->ca_file());
  o.redis_userinfo = "cc:pw@";
  o.prepare_redis = add_prefix_user;
  o.cache = "  l1:\n    enabled: true\n    max_ttl: 60s\n";
  Harness h{o};
  ASSERT_TRUE(wait_until(
      [&] {
        return h.admin("GET", "/health").body.find("\"redis\": \"connected\"") != std::string::npos;
      },
      10s, 10ms))
      << h.admin("GET", "/health").body;
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  EXPECT_TRUE(h.redis_has("GET:/api/items/1"));
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "HIT");
  EXPECT_EQ(h.request("PUT", "/api/items/1", {}, "{}").status, 200);
  EXPECT_FALSE(h.redis_has("GET:/api/items/1"));
  EXPECT_EQ(h.get("/api/items/1").header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.requests("/api/items/1"), 3u);
  // Everything cachecar keeps is under its prefix (the ACL would have refused the rest).
  const auto keys = h.redis->command({"KEYS", "*"});
  ASSERT_FALSE(keys.elements.empty());
  for (const auto& key : keys.elements) EXPECT_EQ(key.str.rfind("cachecar:", 0), 0u) << key.str;
  const auto body = h.admin("GET", "/health").body;
  EXPECT_NE(body.find("\"redis\": \"connected\""), std::string::npos) << body;
  EXPECT_EQ(body.find("redis_error"), std::string::npos) << body;
}

TEST_F(RedisTlsProxyTest, AWrongCaFailsOpenWithTheTlsErrorInHealth) {
  Harness h{options(files_->other_ca_file())};
  const auto body = health_with_error(h);
  EXPECT_NE(body.find("\"redis\": \"down\""), std::string::npos) << body;
  EXPECT_NE(body.find("TLS handshake with 127.0.0.1:"), std::string::npos) << body;
  EXPECT_NE(body.find("certificate verify failed"), std::string::npos) << body;
  for (int i = 0; i < 3; ++i) {
    const auto response = h.request_within(2s, "GET", "/api/items/7");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("X-Cache"), "MISS");
  }
  EXPECT_EQ(h.upstream.requests("/api/items/7"), 3u);
  EXPECT_EQ(h.admin("GET", "/health").status, 200);  // degraded, still serving
}

TEST_F(RedisTlsProxyTest, AWrongPasswordFailsOpenWithTheAuthErrorInHealth) {
  auto o = options(files_->ca_file());
  o.redis_userinfo = "cc:wrong-secret@";
  o.prepare_redis = add_prefix_user;
  Harness h{o};
  const auto body = health_with_error(h);
  EXPECT_NE(body.find("AUTH refused: WRONGPASS"), std::string::npos) << body;
  EXPECT_EQ(body.find("wrong-secret"), std::string::npos) << body;
  EXPECT_EQ(h.request_within(2s, "GET", "/api/items/8").status, 200);
  EXPECT_EQ(h.request_within(2s, "GET", "/api/items/8").status, 200);
  EXPECT_EQ(h.upstream.requests("/api/items/8"), 2u);
}

// A file that is not PEM is a start-up error naming it (the TLS context is built before any
// listener); --check-config only checks that the files can be read.
TEST_F(RedisTlsProxyTest, AFileThatIsNotPemStopsStartUpNamingIt) {
  const auto bad = (files_->dir() / "not-a-ca.pem").string();
  std::ofstream(bad) << "not a certificate\n";
  const auto config = (files_->dir() / "cachecar.yaml").string();
  std::ofstream(config) << "listen: \"127.0.0.1:0\"\nupstream:\n  url: http://127.0.0.1:1\n"
                        << "redis:\n  url: rediss://127.0.0.1:1\n  tls:\n    ca_file: " << bad
                        << "\nadmin:\n  listen: \"127.0.0.1:0\"\n";
  const std::string binary = CACHECAR_BINARY_PATH;
  const auto check = run_command(binary + " --config " + config + " --check-config 2>&1");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  const auto start = run_command("timeout 20 " + binary + " --config " + config + " 2>&1");
  EXPECT_EQ(start.exit_code, 1) << start.output;
  EXPECT_NE(start.output.find("redis.tls.ca_file: " + bad), std::string::npos) << start.output;
}

}  // namespace
}  // namespace cachecar::test
