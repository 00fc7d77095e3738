// One suite, every CacheStore: MemoryStore and RedisStore (against a private redis-server).
#include "store/cache_store.hpp"
#include "store/generations.hpp"
#include "store/memory_store.hpp"
#include "store/redis/redis_store.hpp"
#include "store/variant_index.hpp"
#include "support/redis_server.hpp"
#include "support/run_awaitable.hpp"
#include "support/tls_files.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cachecar::store {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using Kind = EraseTarget::Kind;
using test::RedisServer;

redis::Client::Options client_options(const RedisServer& server) {
  redis::Client::Options o;
  o.host = server.host();
  o.port = server.port();
  o.command_timeout = 2s;  // generous: shared CI machines; no test measures time
  o.connect_timeout = 2s;
  return o;
}

// A Vary secondary key as policy::vary_secondary_key makes them: " vary=" and 32 hex digits.
std::string vary(int n) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%032x", n);
  return " vary=" + std::string(hex);
}

// What one parameterised case needs: a store, and for Redis the server behind it.
class Harness {
 public:
  virtual ~Harness() = default;
  virtual CacheStore& store() = 0;
  virtual RedisServer* redis() { return nullptr; }
  // Redis only: the Redis name of a stored key (as the store names it), for what a test does to
  // Redis directly (an eviction is a DEL).
  virtual std::string redis_name(std::string_view) const { return {}; }
};

class MemoryHarness final : public Harness {
 public:
  CacheStore& store() override { return store_; }

 private:
  MemoryStore store_{64 << 20};
};

class RedisHarness final : public Harness {
 public:
  explicit RedisHarness(boost::asio::io_context& ctx, redis::KeyHash hash = redis::KeyHash::None)
      : ctx_(ctx), store_(ctx.get_executor(), client_options(server_), "cc-test:", {}, {}, hash) {}
  ~RedisHarness() override {
    store_.stop();
    ctx_.restart();
    ctx_.run_for(5s);  // let the cancelled operations finish
  }
  CacheStore& store() override { return store_; }
  RedisServer* redis() override { return &server_; }
  std::string redis_name(std::string_view key) const override { return store_.key_names().of(key); }

 private:
  boost::asio::io_context& ctx_;
  RedisServer server_;
  redis::RedisStore store_;
};

// The Redis case again over TLS (a client certificate required) as an ACL user whose keys are
// limited to the store's prefix: every command the store sends must stay inside it.
class RedisTlsAclHarness final : public Harness {
 public:
  explicit RedisTlsAclHarness(boost::asio::io_context& ctx)
      : ctx_(ctx),
        server_(RedisServer::Tls{files_.server_cert(), files_.server_key(), files_.ca_file(), true},
                {}),
        user_added_(add_user(server_)),
        store_(ctx.get_executor(), options(), "cc-test:") {}
  ~RedisTlsAclHarness() override {
    store_.stop();
    ctx_.restart();
    ctx_.run_for(5s);
  }
  CacheStore& store() override { return store_; }
  RedisServer* redis() override { return &server_; }
  std::string redis_name(std::string_view key) const override { return store_.key_names().of(key); }

 private:
  static bool add_user(RedisServer& server) {
    const auto reply = server.command({"ACL", "SETUSER", "cc", "on", ">pw", "~cc-test:*", "+@all"});
    return reply.type == RedisServer::Reply::Type::Status;
  }
  redis::Client::Options options() const {
    auto o = client_options(server_);
    o.port = server_.tls_port();
    o.user = "cc";
    o.password = "pw";
    o.tls = {redis::make_tls_context(
                 {files_.ca_file(), files_.client_cert(), files_.client_key(), true, ""}),
             "", true};
    return o;
  }

  boost::asio::io_context& ctx_;
  test::TlsFiles files_;
  RedisServer server_;
  bool user_added_;
  redis::RedisStore store_;
};

struct StoreCase {
  std::string name;
  bool needs_redis = false;
  std::function<std::unique_ptr<Harness>(boost::asio::io_context&)> make;
  bool needs_openssl = false;
};

void PrintTo(const StoreCase& c, std::ostream* os) {
  *os << c.name;
}

// Helpers shared by the parameterised suite and the Redis-only tests.
class StoreTest : public ::testing::Test {
 protected:
  void TearDown() override { harness_.reset(); }

  CacheStore& store() { return harness_->store(); }

  template <class T>
  T run(boost::asio::awaitable<T> coroutine) {
    return test::run_awaitable(ctx_, std::move(coroutine));
  }

  void put(const std::string& key, const std::string& value, std::chrono::milliseconds ttl = 60s,
           const std::string& ns = "", std::vector<std::string> tags = {}) {
    const auto ec = run(store().put(key, value, ttl, ns, std::move(tags)));
    ASSERT_FALSE(ec) << ec.message();
  }
  void put_tagged(const std::string& key, std::vector<std::string> tags,
                  std::chrono::milliseconds ttl = 60s, const std::string& value = "v") {
    put(key, value, ttl, "", std::move(tags));
  }
  std::uint64_t erase_tag(const std::string& tag) { return erase({{Kind::Tag, tag}}); }
  std::optional<std::string> get(const std::string& key) {
    auto r = run(store().get(key));
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return r && *r ? std::optional<std::string>(**r) : std::nullopt;
  }
  bool has(const std::string& key) { return get(key).has_value(); }
  std::uint64_t erase(std::vector<EraseTarget> targets) {
    auto r = run(store().erase(std::move(targets)));
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return r ? *r : 0;
  }
  std::uint64_t clear(std::optional<std::string> ns) {
    auto r = run(store().clear(std::move(ns)));
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return r ? *r : 0;
  }
  std::uint64_t count() {
    auto r = run(store().count());
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return r ? *r : 0;
  }

  // The token a fill of `key` would carry, read as the lookup tier reads it on a miss.
  FillToken token_for(const std::string& key) {
    auto r = run(store().lookup_for_fill(key));
    EXPECT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(!r || !r->value) << key << " is not a miss";
    return r ? r->token : FillToken{};
  }
  // fill_variant of `primary` + `secondary`, with a token read just before.
  boost::system::error_code fill_variant(const std::string& primary, const std::string& secondary,
                                         const std::string& value,
                                         std::vector<std::string> fields = {"origin"},
                                         std::size_t max_variants = 8,
                                         std::chrono::milliseconds ttl = 60s,
                                         const std::string& ns = "") {
    FillToken token = run(store().read_fill_token(primary + secondary)).value();
    return fill_variant_with(primary, secondary, value, token, std::move(fields), max_variants, ttl,
                             ns);
  }
  boost::system::error_code fill_variant_with(
      const std::string& primary, const std::string& secondary, const std::string& value,
      FillToken token, std::vector<std::string> fields = {"origin"}, std::size_t max_variants = 8,
      std::chrono::milliseconds ttl = 60s, const std::string& ns = "",
      std::vector<std::string> tags = {}) {
    VariantFill variant{primary, std::move(fields), primary + secondary, max_variants};
    return run(store().fill_variant(std::move(variant), value, ttl, ns, std::move(token),
                                    std::move(tags)));
  }
  // A tagged variant of `primary`, with a token read just before.
  boost::system::error_code fill_tagged_variant(const std::string& primary,
                                                const std::string& secondary,
                                                std::vector<std::string> tags,
                                                const std::string& value = "v") {
    FillToken token = run(store().read_fill_token(primary + secondary)).value();
    return fill_variant_with(primary, secondary, value, token, {"origin"}, 8, 60s, "",
                             std::move(tags));
  }
  // The variants the index under `primary` lists (oldest first), read through get().
  std::vector<std::string> members(const std::string& primary) {
    auto index = get(primary);
    if (!index) return {};
    EXPECT_TRUE(variant_index_fields(*index).has_value()) << "not an index: " << *index;
    return variant_index_members(*index);
  }

  boost::asio::io_context ctx_;
  std::unique_ptr<Harness> harness_;
};

class StoreConformance : public StoreTest, public ::testing::WithParamInterface<StoreCase> {
 protected:
  void SetUp() override {
    if (GetParam().needs_redis && !RedisServer::binary()) {
      GTEST_SKIP() << "redis-server is not installed (run scripts/install-deps.sh)";
    }
    if (GetParam().needs_openssl && !test::TlsFiles::available()) {
      GTEST_SKIP() << "the openssl CLI is not installed (run scripts/install-deps.sh)";
    }
    harness_ = GetParam().make(ctx_);
  }
};

// Cases that only make sense for Redis (shared database, server-side scripts).
class RedisStoreOnly : public StoreTest {
 protected:
  void SetUp() override {
    if (!RedisServer::binary()) {
      GTEST_SKIP() << "redis-server is not installed (run scripts/install-deps.sh)";
    }
    harness_ = std::make_unique<RedisHarness>(ctx_);
    server_ = harness_->redis();
  }
  RedisServer* server_ = nullptr;
};

class RedisSha256Only : public StoreTest {
 protected:
  void SetUp() override {
    if (!RedisServer::binary()) {
      GTEST_SKIP() << "redis-server is not installed (run scripts/install-deps.sh)";
    }
    harness_ = std::make_unique<RedisHarness>(ctx_, redis::KeyHash::Sha256);
    server_ = harness_->redis();
  }
  RedisServer* server_ = nullptr;
};

TEST_P(StoreConformance, PutThenGetRoundTripsBinaryValues) {
  const std::string value = "line\r\nbreak\0nul\xff\x80 end"s;
  put("GET:/api/posts/1", value);
  EXPECT_EQ(get("GET:/api/posts/1"), value);
  std::string big(256 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31);
  put("GET:/big", big);
  EXPECT_EQ(get("GET:/big"), big);
}

TEST_P(StoreConformance, EmptyValueIsAHitNotAMiss) {
  put("GET:/empty", "");
  EXPECT_EQ(get("GET:/empty"), std::optional<std::string>(""));
}

TEST_P(StoreConformance, MissingKeyIsNullopt) {
  EXPECT_EQ(get("GET:/nothing"), std::nullopt);
}

TEST_P(StoreConformance, PutOverwrites) {
  put("GET:/a", "one");
  put("GET:/a", "two");
  EXPECT_EQ(get("GET:/a"), "two");
  EXPECT_EQ(count(), 1u);
}

TEST_P(StoreConformance, EntryDisappearsAfterItsTtl) {
  put("GET:/short", "v", 100ms);
  put("GET:/long", "v", 60s);
  EXPECT_TRUE(test::wait_until([&] { return !has("GET:/short"); }, 10s));
  EXPECT_TRUE(has("GET:/long"));
  EXPECT_EQ(count(), 1u);
}

TEST_P(StoreConformance, ExactEraseLeavesNeighbours) {
  put("GET:/api/posts/", "list");
  put("GET:/api/posts/1", "one");
  put("GET:/api/posts/?page=2", "page");
  put("GET:/api/postsX", "x");
  EXPECT_EQ(erase({{Kind::Exact, "GET:/api/posts/"}}), 1u);
  EXPECT_FALSE(has("GET:/api/posts/"));
  EXPECT_TRUE(has("GET:/api/posts/1"));
  EXPECT_TRUE(has("GET:/api/posts/?page=2"));
  EXPECT_TRUE(has("GET:/api/postsX"));
}

TEST_P(StoreConformance, PathAndVariantsEraseTakesQueryVariantsOnly) {
  put("GET:/api/posts/", "list");
  put("GET:/api/posts/?page=2", "page 2");
  put("GET:/api/posts/?page=3&sort=new", "page 3");
  put("GET:/api/posts/1", "one");
  put("GET:/api/postsX", "x");
  put("GET:/api/posts", "no slash");
  EXPECT_EQ(erase({{Kind::PathAndVariants, "GET:/api/posts/"}}), 3u);
  EXPECT_FALSE(has("GET:/api/posts/"));
  EXPECT_FALSE(has("GET:/api/posts/?page=2"));
  EXPECT_FALSE(has("GET:/api/posts/?page=3&sort=new"));
  EXPECT_TRUE(has("GET:/api/posts/1"));
  EXPECT_TRUE(has("GET:/api/postsX"));
  EXPECT_TRUE(has("GET:/api/posts"));
}

TEST_P(StoreConformance, PrefixEraseTakesEverythingStartingWithIt) {
  put("GET:/api/posts/", "list");
  put("GET:/api/posts/1", "one");
  put("GET:/api/posts/1/comments?x=1", "c");
  put("GET:/api/postsX", "x");
  put("GET:/api/post", "shorter");
  put("HEAD:/api/posts/1", "other method");
  EXPECT_EQ(erase({{Kind::Prefix, "GET:/api/posts/"}}), 3u);
  EXPECT_TRUE(has("GET:/api/postsX"));
  EXPECT_TRUE(has("GET:/api/post"));
  EXPECT_TRUE(has("HEAD:/api/posts/1"));
  EXPECT_EQ(count(), 3u);
}

TEST_P(StoreConformance, PrefixEraseWithHighBytes) {
  put("GET:/a\xff", "1");
  put("GET:/a\xff\xff/x", "2");
  put("GET:/a\xfe", "3");
  put("GET:/b", "4");
  EXPECT_EQ(erase({{Kind::Prefix, "GET:/a\xff"}}), 2u);
  EXPECT_TRUE(has("GET:/a\xfe"));
  EXPECT_TRUE(has("GET:/b"));
}

TEST_P(StoreConformance, EraseCountsEntriesThatExistedOnce) {
  EXPECT_EQ(erase({{Kind::Exact, "GET:/none"}}), 0u);
  EXPECT_EQ(erase({}), 0u);
  put("GET:/api/users/1", "u");
  put("GET:/api/users/1?full=1", "u");
  put("GET:/api/users/2", "u");
  // Overlapping targets: each entry is counted once.
  EXPECT_EQ(erase({{Kind::Exact, "GET:/api/users/1"},
                   {Kind::PathAndVariants, "GET:/api/users/1"},
                   {Kind::Prefix, "GET:/api/users/"},
                   {Kind::Exact, "GET:/api/users/3"}}),
            3u);
  EXPECT_EQ(count(), 0u);
}

TEST_P(StoreConformance, EraseBeyondOneBatch) {
  constexpr int kEntries = 2500;  // the Redis scripts delete in batches of 1000
  for (int i = 0; i < kEntries; ++i) put("GET:/many/" + std::to_string(i), "v");
  put("GET:/other", "v");
  EXPECT_EQ(erase({{Kind::Prefix, "GET:/many/"}}), static_cast<std::uint64_t>(kEntries));
  EXPECT_EQ(count(), 1u);
}

TEST_P(StoreConformance, ClearNamespace) {
  put("GET:/api/posts/1", "p", 60s, "posts");
  put("GET:/api/posts/2", "p", 60s, "posts");
  put("GET:/api/users/1", "u", 60s, "users");
  put("GET:/plain", "x", 60s, "");
  EXPECT_EQ(clear("posts"), 2u);
  EXPECT_FALSE(has("GET:/api/posts/1"));
  EXPECT_FALSE(has("GET:/api/posts/2"));
  EXPECT_TRUE(has("GET:/api/users/1"));
  EXPECT_TRUE(has("GET:/plain"));
  EXPECT_EQ(clear("posts"), 0u);
  EXPECT_EQ(clear("unknown"), 0u);
  EXPECT_EQ(count(), 2u);
}

TEST_P(StoreConformance, ReputMovesAnEntryToItsNewNamespace) {
  put("GET:/a", "v", 60s, "old");
  put("GET:/a", "v", 60s, "new");
  put("GET:/b", "v", 60s, "old");
  put("GET:/b", "v", 60s, "");
  EXPECT_EQ(clear("old"), 0u);
  EXPECT_TRUE(has("GET:/a"));
  EXPECT_TRUE(has("GET:/b"));
  EXPECT_EQ(clear("new"), 1u);
  EXPECT_FALSE(has("GET:/a"));
}

TEST_P(StoreConformance, ErasedEntriesLeaveTheirNamespace) {
  put("GET:/a", "v", 60s, "ns");
  EXPECT_EQ(erase({{Kind::Exact, "GET:/a"}}), 1u);
  put("GET:/a", "v", 60s, "");  // back, but without a namespace now
  EXPECT_EQ(clear("ns"), 0u);
  EXPECT_TRUE(has("GET:/a"));
}

TEST_P(StoreConformance, ClearAll) {
  put("GET:/a", "v", 60s, "ns1");
  put("GET:/b", "v", 60s, "");
  put("GET:/c", "v", 60s, "ns2");
  EXPECT_EQ(clear(std::nullopt), 3u);
  EXPECT_EQ(count(), 0u);
  EXPECT_FALSE(has("GET:/a"));
  EXPECT_EQ(clear("ns1"), 0u);
  put("GET:/a", "v", 60s, "ns1");  // works normally afterwards
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(clear("ns1"), 1u);
}

TEST_P(StoreConformance, CountIsLiveEntries) {
  EXPECT_EQ(count(), 0u);
  put("GET:/a", "v");
  put("GET:/b", "v");
  put("GET:/gone", "v", 100ms);
  EXPECT_TRUE(test::wait_until([&] { return count() == 2u; }, 10s));
  EXPECT_FALSE(has("GET:/gone"));
}

// A lookup that may fill reads the token with the value, in one round trip; a hit needs none.
TEST_P(StoreConformance, AHitCarriesNoTokenAndAMissDoes) {
  put("GET:/h", "v");
  auto hit = run(store().lookup_for_fill("GET:/h"));
  ASSERT_TRUE(hit.has_value()) << hit.error().message();
  ASSERT_TRUE(hit->value);
  EXPECT_EQ(*hit->value, "v");
  EXPECT_TRUE(hit->token.empty());

  auto miss = run(store().lookup_for_fill("GET:/m"));
  ASSERT_TRUE(miss.has_value()) << miss.error().message();
  EXPECT_FALSE(miss->value);
  EXPECT_FALSE(miss->token.empty());
  EXPECT_FALSE(run(store().fill("GET:/m", "filled", 60s, "", miss->token, {})));
  EXPECT_EQ(get("GET:/m"), "filled");
}

// A fill reads a token with its lookup; a write's erase in between (through any instance)
// makes the fill refuse, so an overtaken response is never kept.
TEST_P(StoreConformance, AFillWithATokenOlderThanAnEraseOfItsPathStoresNothing) {
  auto looked = run(store().lookup_for_fill("GET:/u/1?x=1"));
  ASSERT_TRUE(looked.has_value());
  FillToken token = looked->token;
  EXPECT_FALSE(token.empty());
  EXPECT_EQ(erase({{Kind::PathAndVariants, "GET:/u/1"}}), 0u);  // nothing cached yet: still a write
  EXPECT_EQ(run(store().fill("GET:/u/1?x=1", "old", 60s, "", token, {})), errc::fill_overtaken);
  EXPECT_FALSE(has("GET:/u/1?x=1"));

  auto fresh = run(store().lookup_for_fill("GET:/u/1?x=1"));  // read after the write: stores
  ASSERT_TRUE(fresh.has_value());
  FillToken fresh_token = fresh->token;
  EXPECT_FALSE(run(store().fill("GET:/u/1?x=1", "new", 60s, "", fresh_token, {})));
  EXPECT_EQ(get("GET:/u/1?x=1"), "new");
}

TEST_P(StoreConformance, AnEraseOfAQueryVariantOvertakesTheFillsOfItsWholePath) {
  auto plain = run(store().read_fill_token("GET:/u/1"));
  ASSERT_TRUE(plain.has_value());
  FillToken token = *plain;
  erase({{Kind::Exact, "GET:/u/1?x=1"}});
  EXPECT_EQ(run(store().fill("GET:/u/1", "old", 60s, "", token, {})), errc::fill_overtaken);
  EXPECT_FALSE(has("GET:/u/1"));
}

TEST_P(StoreConformance, TokensOfOtherPathsSurviveButPrefixErasesAndClearsMoveAll) {
  auto other = run(store().read_fill_token("GET:/u/2"));
  ASSERT_TRUE(other.has_value());
  erase({{Kind::Exact, "GET:/u/1"}});
  FillToken other_token = *other;
  EXPECT_FALSE(run(store().fill("GET:/u/2", "v", 60s, "", other_token, {})));  // another path: fine

  auto before_prefix = run(store().read_fill_token("GET:/u/3"));
  ASSERT_TRUE(before_prefix.has_value());
  erase({{Kind::Prefix, "GET:/zzz/"}});
  FillToken prefix_token = *before_prefix;
  EXPECT_EQ(run(store().fill("GET:/u/3", "v", 60s, "", prefix_token, {})), errc::fill_overtaken);

  auto before_clear = run(store().read_fill_token("GET:/u/3"));
  ASSERT_TRUE(before_clear.has_value());
  clear(std::string("some-namespace"));
  FillToken clear_token = *before_clear;
  EXPECT_EQ(run(store().fill("GET:/u/3", "v", 60s, "", clear_token, {})), errc::fill_overtaken);

  auto before_full_clear = run(store().read_fill_token("GET:/u/3"));
  ASSERT_TRUE(before_full_clear.has_value());
  clear(std::nullopt);
  FillToken full_clear_token = *before_full_clear;
  EXPECT_EQ(run(store().fill("GET:/u/3", "v", 60s, "", full_clear_token, {})),
            errc::fill_overtaken);
  EXPECT_FALSE(has("GET:/u/3"));
}

TEST_P(StoreConformance, PutIsUnconditionalAndAFillWithoutATokenStoresNothing) {
  auto token = run(store().read_fill_token("GET:/p"));
  ASSERT_TRUE(token.has_value());
  erase({{Kind::Exact, "GET:/p"}});  // a put does not care
  EXPECT_FALSE(run(store().put("GET:/p", "v", 60s, "", {})));
  EXPECT_EQ(get("GET:/p"), "v");
  FillToken never_read;
  EXPECT_EQ(run(store().fill("GET:/q", "v", 60s, "", never_read, {})), errc::fill_overtaken);
  EXPECT_FALSE(has("GET:/q"));
}

// One definition (store/generations.hpp), followed by every store: the same sequence of
// erases and clears overtakes the same tokens on each, and the in-process table agrees.
TEST_P(StoreConformance, EveryStoreOvertakesTheTokensThatGenerationsDefines) {
  const std::vector<std::string> keys{"GET:/u/1", "GET:/u/1?x=1", "GET:/u/1 host=h", "GET:/u/10",
                                      "GET:/v?y=2 host=h"};
  struct Step {
    std::string name;
    std::vector<EraseTarget> erase;
    std::optional<std::optional<std::string>> clear;  // set: a clear instead of an erase
    std::vector<bool> overtaken;                      // per key, what the definition says
  };
  const std::vector<Step> steps{
      {"exact erase of a path", {{Kind::Exact, "GET:/u/1"}}, {}, {true, true, true, false, false}},
      {"exact erase of a query variant",
       {{Kind::Exact, "GET:/u/1?x=1"}},
       {},
       {true, true, true, false, false}},
      {"exact erase of a host variant",
       {{Kind::Exact, "GET:/u/1 host=h"}},
       {},
       {true, true, true, false, false}},
      {"path erase", {{Kind::PathAndVariants, "GET:/v"}}, {}, {false, false, false, false, true}},
      {"erase of a shorter path",
       {{Kind::Exact, "GET:/u"}},
       {},
       {false, false, false, false, false}},
      {"no targets", {}, {}, {false, false, false, false, false}},
      {"prefix erase", {{Kind::Prefix, "GET:/zzz"}}, {}, {true, true, true, true, true}},
      {"namespace clear", {}, std::optional<std::string>("n"), {true, true, true, true, true}},
      {"full clear", {}, std::optional<std::string>(), {true, true, true, true, true}},
      {"clear of no namespace",
       {},
       std::optional<std::string>(""),
       {false, false, false, false, false}},
  };
  for (const auto& step : steps) {
    SCOPED_TRACE(step.name);
    Generations definition;
    std::vector<FillToken> tokens;
    std::vector<Generations::Token> model;
    for (const auto& key : keys) {
      auto token = run(store().read_fill_token(key));
      ASSERT_TRUE(token.has_value()) << token.error().message();
      tokens.push_back(*token);
      model.push_back(definition.token(key));
    }
    if (step.clear) {
      clear(*step.clear);
      definition.cleared(*step.clear);
    } else {
      erase(step.erase);
      definition.erased(step.erase);
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      SCOPED_TRACE(keys[i]);
      EXPECT_EQ(!definition.current(model[i]), step.overtaken[i]);
      const auto ec = run(store().fill(keys[i], "v", 60s, "", tokens[i], {}));
      EXPECT_EQ(ec == errc::fill_overtaken, step.overtaken[i]) << ec.message();
    }
  }
}

// A stored key may carry a secondary key ("<logical key> host=<host>", core/stored_key.hpp):
// each variant is its own entry, and erasing the logical key, its path or a prefix takes them all.
TEST_P(StoreConformance, HostVariantsAreSeparateEntries) {
  put("GET:/a?x=1 host=victim.example", "victim");
  put("GET:/a?x=1 host=evil.example", "evil");
  EXPECT_EQ(get("GET:/a?x=1 host=victim.example"), "victim");
  EXPECT_EQ(get("GET:/a?x=1 host=evil.example"), "evil");
  EXPECT_EQ(get("GET:/a?x=1"), std::nullopt);
  EXPECT_EQ(count(), 2u);
}

TEST_P(StoreConformance, ExactEraseTakesEveryHostVariantOfTheKeyOnly) {
  put("GET:/a host=h1", "v");
  put("GET:/a host=h2", "v");
  put("GET:/a", "v");
  put("GET:/a?x=1 host=h1", "query variant");
  put("GET:/ab host=h1", "longer path");
  put("GET:/a/b host=h1", "sub path");
  EXPECT_EQ(erase({{Kind::Exact, "GET:/a"}}), 3u);
  EXPECT_FALSE(has("GET:/a host=h1"));
  EXPECT_FALSE(has("GET:/a host=h2"));
  EXPECT_FALSE(has("GET:/a"));
  EXPECT_TRUE(has("GET:/a?x=1 host=h1"));
  EXPECT_TRUE(has("GET:/ab host=h1"));
  EXPECT_TRUE(has("GET:/a/b host=h1"));
  EXPECT_EQ(erase({{Kind::Exact, "GET:/a?x=1"}}), 1u);
  EXPECT_FALSE(has("GET:/a?x=1 host=h1"));
}

TEST_P(StoreConformance, PathAndPrefixErasesTakeEveryHostVariant) {
  put("GET:/p host=h1", "v");
  put("GET:/p?page=2 host=h1", "v");
  put("GET:/p?page=2 host=h2", "v");
  put("GET:/p/1 host=h1", "v");
  put("GET:/q host=h1", "v");
  EXPECT_EQ(erase({{Kind::PathAndVariants, "GET:/p"}}), 3u);
  EXPECT_TRUE(has("GET:/p/1 host=h1"));
  EXPECT_EQ(erase({{Kind::Prefix, "GET:/p"}}), 1u);
  EXPECT_TRUE(has("GET:/q host=h1"));
  EXPECT_EQ(count(), 1u);
}

// Fill tokens are per path, whatever the host: a write through any Host fences every host's fill.
TEST_P(StoreConformance, AnEraseOfAPathOvertakesTheFillsOfEveryHost) {
  auto token = run(store().lookup_for_fill("GET:/u/1 host=h1"));
  auto query_token = run(store().lookup_for_fill("GET:/u/1?x=1 host=h2"));
  ASSERT_TRUE(token.has_value() && query_token.has_value());
  erase({{Kind::PathAndVariants, "GET:/u/1"}});
  EXPECT_EQ(run(store().fill("GET:/u/1 host=h1", "old", 60s, "", token->token, {})),
            errc::fill_overtaken);
  EXPECT_EQ(run(store().fill("GET:/u/1?x=1 host=h2", "old", 60s, "", query_token->token, {})),
            errc::fill_overtaken);
  EXPECT_FALSE(has("GET:/u/1 host=h1"));
  auto other = run(store().lookup_for_fill("GET:/u/2 host=h1"));
  ASSERT_TRUE(other.has_value());
  erase({{Kind::Exact, "GET:/u/1"}});
  EXPECT_FALSE(run(store().fill("GET:/u/2 host=h1", "v", 60s, "", other->token, {})));
}

// Vary (RFC 9111 §4.1): the primary key holds the variant index, each variant is its own entry.
TEST_P(StoreConformance, AVariantFillStoresTheVariantAndListsItInTheIndex) {
  const std::string primary = "GET:/v host=h";
  auto first = run(store().lookup_for_fill(primary));  // nothing stored yet: a plain miss
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(first->value);
  ASSERT_FALSE(
      fill_variant_with(primary, vary(1), "one", first->token, {"accept-encoding", "origin"}));
  EXPECT_EQ(get(primary + vary(1)), "one");

  // What the lookup tier does next time: the primary key's lookup returns the index (a hit, no
  // token), whose fields give the secondary key, whose lookup is a plain miss with a token that
  // a fill_variant accepts.
  auto index = run(store().lookup_for_fill(primary));
  ASSERT_TRUE(index.has_value());
  ASSERT_TRUE(index->value);
  EXPECT_TRUE(index->token.empty());
  EXPECT_EQ(variant_index_fields(*index->value),
            (std::vector<std::string>{"accept-encoding", "origin"}));
  EXPECT_EQ(variant_index_members(*index->value), std::vector<std::string>{vary(1)});
  auto second = run(store().lookup_for_fill(primary + vary(2)));
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->value);
  ASSERT_FALSE(second->token.empty());
  ASSERT_FALSE(
      fill_variant_with(primary, vary(2), "two", second->token, {"accept-encoding", "origin"}));
  EXPECT_EQ(get(primary + vary(2)), "two");
  EXPECT_EQ(members(primary), (std::vector<std::string>{vary(1), vary(2)}));

  // Storing a listed variant again moves it to the end (least recently stored goes first).
  ASSERT_FALSE(fill_variant(primary, vary(1), "one again", {"accept-encoding", "origin"}));
  EXPECT_EQ(members(primary), (std::vector<std::string>{vary(2), vary(1)}));
  EXPECT_EQ(get(primary + vary(1)), "one again");
  EXPECT_EQ(get(primary + vary(2)), "two");
  // The index is bookkeeping, not an entry: count() counts the responses stored.
  EXPECT_EQ(count(), 2u);
}

TEST_P(StoreConformance, AWriteBetweenTheVariantLookupAndItsFillOvertakesIt) {
  const std::string primary = "GET:/v?q=1 host=h";
  ASSERT_FALSE(fill_variant(primary, vary(1), "one"));
  struct Write {
    std::string name;
    std::function<void()> apply;
  };
  const std::vector<Write> writes{
      {"exact erase of the logical key",
       [&] {
         erase({{Kind::Exact, "GET:/v"}});
       }},
      {"path erase",
       [&] {
         erase({{Kind::PathAndVariants, "GET:/v"}});
       }},
      {"exact erase of another query",
       [&] {
         erase({{Kind::Exact, "GET:/v?other"}});
       }},
      {"prefix erase",
       [&] {
         erase({{Kind::Prefix, "GET:/zzz"}});
       }},
      {"namespace clear", [&] { clear(std::string("n")); }},
      {"full clear", [&] { clear(std::nullopt); }},
  };
  for (const auto& write : writes) {
    SCOPED_TRACE(write.name);
    const FillToken token = token_for(primary + vary(2));
    write.apply();
    EXPECT_EQ(fill_variant_with(primary, vary(2), "overtaken", token), errc::fill_overtaken);
    EXPECT_FALSE(has(primary + vary(2)));
    for (const auto& member : members(primary)) EXPECT_NE(member, vary(2));
  }
  // A write elsewhere does not.
  const FillToken token = token_for(primary + vary(3));
  erase({{Kind::Exact, "GET:/w"}});
  EXPECT_FALSE(fill_variant_with(primary, vary(3), "three", token));
  EXPECT_EQ(get(primary + vary(3)), "three");
  FillToken never_read;
  EXPECT_EQ(fill_variant_with(primary, vary(4), "x", never_read), errc::fill_overtaken);
  EXPECT_FALSE(has(primary + vary(4)));
}

// Spraying header values cannot grow the store: the least recently stored variants go, with
// their entries.
TEST_P(StoreConformance, AtMostMaxVariantsAreKeptTheMostRecentlyStored) {
  const std::string primary = "GET:/spray host=h";
  for (int i = 0; i < 50; ++i) {
    ASSERT_FALSE(fill_variant(primary, vary(i), "v" + std::to_string(i), {"origin"}, 8));
  }
  std::vector<std::string> expected;
  for (int i = 42; i < 50; ++i) expected.push_back(vary(i));
  EXPECT_EQ(members(primary), expected);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(has(primary + vary(i)), i >= 42) << i;
  EXPECT_EQ(count(), 8u);
  if (RedisServer* server = harness_->redis()) {
    // Nothing orphaned: the index and the 8 variants are in Redis, the deleted ones are not.
    EXPECT_EQ(server->command({"EXISTS", harness_->redis_name(primary)}).integer, 1);
    for (int i = 0; i < 50; ++i) {
      EXPECT_EQ(server->command({"EXISTS", harness_->redis_name(primary + vary(i))}).integer,
                i >= 42 ? 1 : 0)
          << i;
    }
  }
  if (RedisServer* server = harness_->redis();
      server != nullptr && harness_->redis_name(primary) == "cc-test:" + primary) {
    // With plain names: the keyspace holds the index and the 8 variants, no more.
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      auto page =
          server->command({"SCAN", cursor, "MATCH", "cc-test:GET:/spray*", "COUNT", "1000"});
      ASSERT_EQ(page.elements.size(), 2u);
      cursor = page.elements[0].str;
      for (const auto& key : page.elements[1].elements) keys.push_back(key.str);
    } while (cursor != "0");
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> want{"cc-test:" + primary};
    for (int i = 42; i < 50; ++i) want.push_back("cc-test:" + primary + vary(i));
    std::sort(want.begin(), want.end());
    EXPECT_EQ(keys, want);
  }
}

TEST_P(StoreConformance, AHitDoesNotReorderTheVariants) {
  const std::string primary = "GET:/lru";
  for (int i = 1; i <= 3; ++i) ASSERT_FALSE(fill_variant(primary, vary(i), "v", {"origin"}, 3));
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE(has(primary + vary(1)));
    auto looked = run(store().lookup_for_fill(primary + vary(1)));
    ASSERT_TRUE(looked.has_value() && looked->value);
    EXPECT_TRUE(has(primary));
  }
  ASSERT_FALSE(fill_variant(primary, vary(4), "v", {"origin"}, 3));
  EXPECT_FALSE(has(primary + vary(1)));  // oldest stored, however often it was hit
  EXPECT_TRUE(has(primary + vary(2)));
  EXPECT_EQ(members(primary), (std::vector<std::string>{vary(2), vary(3), vary(4)}));
}

TEST_P(StoreConformance, AnIndexWithOtherFieldsIsReplacedWithItsVariants) {
  const std::string primary = "GET:/fields";
  ASSERT_FALSE(fill_variant(primary, vary(1), "v", {"origin"}));
  ASSERT_FALSE(fill_variant(primary, vary(2), "v", {"origin"}));
  ASSERT_FALSE(fill_variant(primary, vary(3), "v", {"accept-encoding", "origin"}));
  EXPECT_FALSE(has(primary + vary(1)));
  EXPECT_FALSE(has(primary + vary(2)));
  EXPECT_TRUE(has(primary + vary(3)));
  auto index = get(primary);
  ASSERT_TRUE(index);
  EXPECT_EQ(variant_index_fields(*index), (std::vector<std::string>{"accept-encoding", "origin"}));
  EXPECT_EQ(variant_index_members(*index), std::vector<std::string>{vary(3)});
  EXPECT_EQ(count(), 1u);
}

// The origin started or stopped sending Vary.
TEST_P(StoreConformance, APlainEntryAndAnIndexReplaceEachOther) {
  const std::string primary = "GET:/plain host=h";
  put(primary, "plain");
  ASSERT_FALSE(fill_variant(primary, vary(1), "v1"));
  ASSERT_FALSE(fill_variant(primary, vary(2), "v2"));
  EXPECT_EQ(members(primary), (std::vector<std::string>{vary(1), vary(2)}));
  EXPECT_EQ(count(), 2u);

  auto token = run(store().read_fill_token(primary));
  ASSERT_TRUE(token.has_value());
  EXPECT_FALSE(run(store().fill(primary, "plain again", 60s, "", *token, {})));
  EXPECT_EQ(get(primary), "plain again");
  EXPECT_FALSE(has(primary + vary(1)));
  EXPECT_FALSE(has(primary + vary(2)));
  EXPECT_EQ(count(), 1u);

  ASSERT_FALSE(fill_variant(primary, vary(3), "v3"));
  put(primary, "put");  // put() too
  EXPECT_FALSE(has(primary + vary(3)));
  EXPECT_EQ(count(), 1u);
}

// Every variant of a key is invalidated with it, whatever the host.
TEST_P(StoreConformance, ErasesAndClearsTakeTheIndexAndEveryVariant) {
  struct Case {
    std::string name;
    std::function<std::uint64_t()> apply;
    std::uint64_t removed;
  };
  const std::vector<Case> cases{
      {"exact erase of the logical key",
       [&] {
         return erase({{Kind::Exact, "GET:/e?x=1"}});
       },
       4},
      {"path erase",
       [&] {
         return erase({{Kind::PathAndVariants, "GET:/e"}});
       },
       4},
      {"prefix erase",
       [&] {
         return erase({{Kind::Prefix, "GET:/e"}});
       },
       4},
      {"namespace clear", [&] { return clear(std::string("ns")); }, 4},
      {"full clear", [&] { return clear(std::nullopt); }, 5},  // and GET:/other
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (const std::string host : {"h1", "h2"}) {
      const std::string primary = "GET:/e?x=1 host=" + host;
      ASSERT_FALSE(fill_variant(primary, vary(1), "v", {"origin"}, 8, 60s, "ns"));
      ASSERT_FALSE(fill_variant(primary, vary(2), "v", {"origin"}, 8, 60s, "ns"));
    }
    put("GET:/other", "v");
    EXPECT_EQ(count(), 5u);
    EXPECT_EQ(c.apply(), c.removed);  // the variants; an index is not an entry
    for (const std::string host : {"h1", "h2"}) {
      const std::string primary = "GET:/e?x=1 host=" + host;
      EXPECT_FALSE(has(primary));
      EXPECT_FALSE(has(primary + vary(1)));
      EXPECT_FALSE(has(primary + vary(2)));
    }
    EXPECT_EQ(count(), c.name == "full clear" ? 0u : 1u);
    // A variant stored afterwards starts a fresh index.
    ASSERT_FALSE(fill_variant("GET:/e?x=1 host=h1", vary(3), "v"));
    EXPECT_EQ(members("GET:/e?x=1 host=h1"), std::vector<std::string>{vary(3)});
    clear(std::nullopt);
  }
}

// The index outlives each of its variants: never shortened by a shorter-lived one.
TEST_P(StoreConformance, TheIndexLivesAsLongAsItsLongestLivedVariant) {
  const std::string primary = "GET:/ttl";
  ASSERT_FALSE(fill_variant(primary, vary(1), "short", {"origin"}, 8, 150ms));
  ASSERT_FALSE(fill_variant(primary, vary(2), "long", {"origin"}, 8, 60s));
  ASSERT_FALSE(fill_variant(primary, vary(3), "short", {"origin"}, 8, 150ms));
  EXPECT_TRUE(
      test::wait_until([&] { return !has(primary + vary(1)) && !has(primary + vary(3)); }, 10s));
  EXPECT_EQ(get(primary + vary(2)), "long");
  EXPECT_TRUE(has(primary));
  EXPECT_EQ(count(), 1u);
  // Listed variants that expired neither count towards max_variants nor stay listed.
  ASSERT_FALSE(fill_variant(primary, vary(4), "v", {"origin"}, 2));
  EXPECT_EQ(members(primary), (std::vector<std::string>{vary(2), vary(4)}));
  EXPECT_TRUE(has(primary + vary(2)));
}

// A revalidation's 304 re-stores the entry with the token read before the conditional request.
TEST_P(StoreConformance, AFreshenedEntryReplacesTheOldOne) {
  put("GET:/f", "old");
  auto token = run(store().read_fill_token("GET:/f"));  // before the conditional request
  ASSERT_TRUE(token.has_value());
  EXPECT_FALSE(run(store().fill("GET:/f", "freshened", 60s, "", *token, {})));
  EXPECT_EQ(get("GET:/f"), "freshened");
  EXPECT_EQ(count(), 1u);
  auto again = run(store().read_fill_token("GET:/f"));
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(run(store().fill("GET:/f", "short", 150ms, "", *again, {})));
  EXPECT_TRUE(test::wait_until([&] { return !has("GET:/f"); }, 10s));  // the new TTL applies
}

TEST_P(StoreConformance, FresheningOvertakenByAnEraseIsDropped) {
  put("GET:/f", "old");
  auto token = run(store().read_fill_token("GET:/f"));
  ASSERT_TRUE(token.has_value());
  erase({{Kind::Exact, "GET:/f"}});
  EXPECT_EQ(run(store().fill("GET:/f", "freshened", 60s, "", *token, {})), errc::fill_overtaken);
  EXPECT_FALSE(has("GET:/f"));
}

TEST_P(StoreConformance, AFreshenedVariantReplacesTheOldOne) {
  const std::string primary = "GET:/fv host=h";
  ASSERT_FALSE(fill_variant(primary, vary(1), "old one"));
  ASSERT_FALSE(fill_variant(primary, vary(2), "two"));
  auto token = run(store().read_fill_token(primary + vary(1)));
  ASSERT_TRUE(token.has_value());
  EXPECT_FALSE(fill_variant_with(primary, vary(1), "freshened", *token));
  EXPECT_EQ(get(primary + vary(1)), "freshened");
  EXPECT_EQ(get(primary + vary(2)), "two");
  EXPECT_EQ(members(primary), (std::vector<std::string>{vary(2), vary(1)}));
  EXPECT_EQ(count(), 2u);
  auto again = run(store().read_fill_token(primary + vary(1)));
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(fill_variant_with(primary, vary(1), "short", *again, {"origin"}, 8, 150ms));
  EXPECT_TRUE(test::wait_until([&] { return !has(primary + vary(1)); }, 10s));
  EXPECT_EQ(get(primary + vary(2)), "two");
}

TEST_P(StoreConformance, FresheningAVariantOvertakenByAnEraseIsDropped) {
  const std::string primary = "GET:/fv host=h";
  ASSERT_FALSE(fill_variant(primary, vary(1), "old"));
  auto token = run(store().read_fill_token(primary + vary(1)));
  ASSERT_TRUE(token.has_value());
  erase({{Kind::Exact, "GET:/fv"}});
  EXPECT_EQ(fill_variant_with(primary, vary(1), "freshened", *token), errc::fill_overtaken);
  EXPECT_FALSE(has(primary + vary(1)));
  EXPECT_FALSE(has(primary));
}

TEST_P(StoreConformance, PingAndHealth) {
  auto rtt = run(store().ping());
  ASSERT_TRUE(rtt.has_value()) << rtt.error().message();
  EXPECT_GE(rtt->count(), 0);
  const auto health = store().health();
  EXPECT_TRUE(health.connected);
  EXPECT_EQ(health.state, BreakerState::Closed);
}

// Tags (surrogate keys): a Tag erase deletes every entry stored with the tag, without scanning.
TEST_P(StoreConformance, ATagEraseDeletesEveryEntryWithTheTagAndCountsThem) {
  put_tagged("GET:/products/1", {"product:1", "products"});
  put_tagged("GET:/products/2", {"product:2", "products"});
  put_tagged("GET:/products", {"products"});
  put("GET:/users/1", "v");
  EXPECT_EQ(erase_tag("product:1"), 1u);
  EXPECT_FALSE(has("GET:/products/1"));
  EXPECT_TRUE(has("GET:/products/2"));
  EXPECT_EQ(erase_tag("products"), 2u);
  EXPECT_FALSE(has("GET:/products/2"));
  EXPECT_FALSE(has("GET:/products"));
  EXPECT_TRUE(has("GET:/users/1"));
  EXPECT_EQ(erase_tag("products"), 0u);  // already purged
  EXPECT_EQ(erase_tag("never-used"), 0u);
  EXPECT_EQ(erase_tag("product:2"), 0u);  // its entry went with "products"
  EXPECT_EQ(count(), 1u);
}

// Every query variant and every Vary variant carries its own tags; the variant index goes once
// it lists no live variant (Souin and xkey both lost track of variants here).
TEST_P(StoreConformance, ATagEraseTakesEveryVariantAndTheIndexesLeftEmpty) {
  const std::string primary = "GET:/p?page=1 host=h";
  ASSERT_FALSE(fill_tagged_variant(primary, vary(1), {"p"}));
  ASSERT_FALSE(fill_tagged_variant(primary, vary(2), {"p"}));
  const std::string other = "GET:/p?page=2 host=h";
  ASSERT_FALSE(fill_tagged_variant(other, vary(1), {"p"}));
  ASSERT_FALSE(fill_tagged_variant(other, vary(2), {"q"}));  // not tagged p: stays, with its index
  put_tagged("GET:/p host=h", {"p"});
  put_tagged("GET:/p?page=3 host=h", {"p"});
  EXPECT_EQ(count(), 6u);
  EXPECT_EQ(erase_tag("p"), 5u);
  EXPECT_FALSE(has(primary + vary(1)));
  EXPECT_FALSE(has(primary + vary(2)));
  EXPECT_FALSE(has(primary)) << "an index listing no live variant is deleted";
  EXPECT_FALSE(has(other + vary(1)));
  EXPECT_EQ(get(other + vary(2)), "v");
  ASSERT_TRUE(has(other)) << "an index with a live variant stays";
  EXPECT_FALSE(has("GET:/p host=h"));
  EXPECT_FALSE(has("GET:/p?page=3 host=h"));
  EXPECT_EQ(count(), 1u);
  EXPECT_EQ(erase_tag("q"), 1u);
  EXPECT_FALSE(has(other));
  EXPECT_EQ(count(), 0u);
}

// A re-put replaces the entry's tags: an old tag no longer deletes the new value, the new ones
// do. The same for a re-filled variant (its sibling keeps its own tags).
TEST_P(StoreConformance, ARePutReplacesTheEntrysTags) {
  put_tagged("GET:/a", {"old", "both"}, 60s, "one");
  put_tagged("GET:/a", {"new", "both"}, 60s, "two");
  EXPECT_EQ(erase_tag("old"), 0u);
  EXPECT_EQ(get("GET:/a"), "two");
  EXPECT_EQ(erase_tag("new"), 1u);
  EXPECT_FALSE(has("GET:/a"));

  put_tagged("GET:/b", {"old"});
  put("GET:/b", "untagged");
  EXPECT_EQ(erase_tag("old"), 0u);
  EXPECT_EQ(get("GET:/b"), "untagged");

  const std::string primary = "GET:/v host=h";
  ASSERT_FALSE(fill_tagged_variant(primary, vary(1), {"old"}));
  ASSERT_FALSE(fill_tagged_variant(primary, vary(2), {"old"}));
  ASSERT_FALSE(fill_tagged_variant(primary, vary(1), {"new"}, "refilled"));
  EXPECT_EQ(erase_tag("old"), 1u);
  EXPECT_FALSE(has(primary + vary(2)));
  EXPECT_EQ(get(primary + vary(1)), "refilled");
  EXPECT_TRUE(has(primary)) << "the index still has a live variant";
  EXPECT_EQ(erase_tag("new"), 1u);
  EXPECT_FALSE(has(primary));
}

// A plain entry that replaces a tagged variant index takes its own tags only; the variants it
// replaces leave theirs.
TEST_P(StoreConformance, APlainEntryReplacingAnIndexLeavesTheVariantsTags) {
  const std::string primary = "GET:/v host=h";
  ASSERT_FALSE(fill_tagged_variant(primary, vary(1), {"t"}));
  put_tagged(primary, {"plain"}, 60s, "plain");
  EXPECT_EQ(erase_tag("t"), 0u);
  EXPECT_EQ(get(primary), "plain");
  EXPECT_EQ(erase_tag("plain"), 1u);
}

// Entries that expired are not counted (and not resurrected); tags of later entries still work.
TEST_P(StoreConformance, ATagEraseAfterItsEntriesExpiredCountsNothing) {
  put_tagged("GET:/short", {"t"}, 100ms);
  put_tagged("GET:/long", {"u"}, 60s);
  ASSERT_TRUE(test::wait_until([&] { return !has("GET:/short"); }, 10s));
  put_tagged("GET:/other", {"x"});  // a later put: the store may prune what expired
  EXPECT_EQ(erase_tag("t"), 0u);
  EXPECT_EQ(count(), 2u);
  put_tagged("GET:/short", {"t"}, 60s);
  EXPECT_EQ(erase_tag("t"), 1u);
  EXPECT_TRUE(has("GET:/long"));
}

// At most kMaxTagsPerEntry tags per entry: the first ones given; the rest (and tags that are too
// long or malformed) are dropped and counted.
TEST_P(StoreConformance, AtMost32TagsPerEntryTheRestAreDroppedAndCounted) {
  static_assert(kMaxTagsPerEntry == 32);
  const auto dropped_before = store().health().tags_dropped;
  std::vector<std::string> tags;
  for (int i = 1; i <= 33; ++i) tags.push_back("t" + std::to_string(i));
  tags.push_back(std::string(kMaxTagBytes + 1, 'x'));
  tags.push_back("t1");  // a repeat is neither kept twice nor dropped
  put_tagged("GET:/many-tags", tags);
  EXPECT_EQ(store().health().tags_dropped - dropped_before, 2u);
  EXPECT_EQ(erase_tag("t33"), 0u);
  EXPECT_EQ(erase_tag(std::string(kMaxTagBytes + 1, 'x')), 0u);
  EXPECT_TRUE(has("GET:/many-tags"));
  EXPECT_EQ(erase_tag("t32"), 1u);
  EXPECT_FALSE(has("GET:/many-tags"));
  put_tagged("GET:/longest", {std::string(kMaxTagBytes, 'y')});
  EXPECT_EQ(erase_tag(std::string(kMaxTagBytes, 'y')), 1u);
}

// Erases, namespace clears and clears take an entry's tag membership with it: a later entry
// under the same key without the tag is not purged by it.
TEST_P(StoreConformance, EntriesDeletedOtherwiseLeaveTheirTags) {
  put_tagged("GET:/e", {"t"});
  ASSERT_EQ(erase({{Kind::Exact, "GET:/e"}}), 1u);
  put("GET:/e", "v");
  put_tagged("GET:/n", {"t"});
  put("GET:/n2", "v", 60s, "ns", {"t"});
  ASSERT_EQ(clear("ns"), 1u);
  put("GET:/n2", "v");
  EXPECT_EQ(erase_tag("t"), 1u);  // GET:/n only
  EXPECT_TRUE(has("GET:/e"));
  EXPECT_TRUE(has("GET:/n2"));
  put_tagged("GET:/c", {"t"});
  ASSERT_EQ(clear(std::nullopt), 3u);
  put("GET:/c", "v");
  EXPECT_EQ(erase_tag("t"), 0u);
  EXPECT_TRUE(has("GET:/c"));
}

// A fill in flight may be about to store an entry with the tag: a Tag erase overtakes every
// fill token read before it.
TEST_P(StoreConformance, ATagEraseOvertakesTheFillsInFlight) {
  const FillToken before = token_for("GET:/f");
  EXPECT_EQ(erase_tag("t"), 0u);
  EXPECT_EQ(run(store().fill("GET:/f", "pre-purge", 60s, "", before, {"t"})), errc::fill_overtaken);
  EXPECT_FALSE(has("GET:/f"));
  const FillToken after = token_for("GET:/f");
  EXPECT_FALSE(run(store().fill("GET:/f", "v", 60s, "", after, {"t"})));
  EXPECT_EQ(erase_tag("t"), 1u);
}

// An entry Redis evicted (a DEL here) is simply gone: the purge counts what still existed and
// the bookkeeping forgets the rest.
TEST_P(StoreConformance, ATagEraseAfterAnEvictionCountsWhatExisted) {
  if (harness_->redis() == nullptr) GTEST_SKIP() << "memory:// evicts entries with their tags";
  put_tagged("GET:/kept", {"t"});
  put_tagged("GET:/evicted", {"t"});
  harness_->redis()->command({"DEL", harness_->redis_name("GET:/evicted")});
  EXPECT_EQ(erase_tag("t"), 1u);
  EXPECT_FALSE(has("GET:/kept"));
  put_tagged("GET:/evicted", {"u"});
  EXPECT_EQ(erase_tag("t"), 0u);
  EXPECT_EQ(count(), 1u);
}

// cache.key_hash: sha256: no key name cachecar writes holds a URL, a query string or a tag, and
// every name is the prefix plus 64 hex digits, whatever was stored, erased or tagged.
TEST_F(RedisSha256Only, NoKeyNameHoldsAUrlAndEveryNameIsThePrefixAndADigest) {
  RedisServer* server = server_;
  put("GET:/users?email=alice@example.com", "v", 60s, "people", {"user:alice"});
  put("GET:/users/alice host=api.example.com", "v", 60s, "", {"user:alice", "users"});
  ASSERT_FALSE(fill_tagged_variant("GET:/users/bob?token=secret host=h", vary(1), {"user:bob"}));
  ASSERT_FALSE(fill_tagged_variant("GET:/users/bob?token=secret host=h", vary(2), {"user:bob"}));
  ASSERT_FALSE(run(store().fill("GET:/users/carol", "v", 60s, "people",
                                token_for("GET:/users/carol"), {"user:carol"})));
  EXPECT_EQ(erase({{Kind::PathAndVariants, "GET:/users/dave"}}), 0u);  // a path generation
  EXPECT_EQ(erase({{Kind::Exact, "GET:/users/erin?x=1"}}), 0u);
  EXPECT_EQ(erase_tag("user:bob"), 2u);
  put("GET:/users/bob?token=secret", "v", 60s, "", {"user:bob"});
  EXPECT_EQ(count(), 4u);
  auto keys = server->command({"KEYS", "*"});
  ASSERT_GE(keys.elements.size(), 10u);
  // (std::regex trips a GCC 12 maybe-uninitialized warning: checked by hand.)
  const auto hashed = [](std::string_view name) {
    constexpr std::string_view kPrefix = "cc-test:";
    return name.size() == kPrefix.size() + 64 && name.starts_with(kPrefix) &&
           name.substr(kPrefix.size()).find_first_not_of("0123456789abcdef") ==
               std::string_view::npos;
  };
  for (const auto& key : keys.elements) {
    EXPECT_TRUE(hashed(key.str)) << key.str;
    for (auto text : {"users", "alice", "bob", "secret", "example", "GET", "__", "people"}) {
      EXPECT_EQ(key.str.find(text), std::string::npos) << key.str;
    }
  }
  // Everything still works on logical keys.
  EXPECT_EQ(erase({{Kind::Prefix, "GET:/users/"}}), 3u);
  EXPECT_EQ(get("GET:/users?email=alice@example.com"), "v");
  EXPECT_EQ(clear("people"), 1u);
  EXPECT_EQ(count(), 0u);
}

// The names are KeyNames': the entry under the prefix and the SHA-256 of the stored key.
TEST_F(RedisSha256Only, AnEntrysNameIsThePrefixAndTheSha256OfItsKey) {
  put("GET:/a?b=c", "v");
  EXPECT_EQ(server_->command({"EXISTS", "cc-test:" + core::sha256_hex("GET:/a?b=c")}).integer, 1);
  EXPECT_EQ(server_->command({"EXISTS", "cc-test:GET:/a?b=c"}).integer, 0);
}

// Other data in the same database must never be touched.
TEST_F(RedisStoreOnly, ForeignKeysInTheSameRedisSurvive) {
  RedisServer* server = server_;
  server->command({"SET", "foreign", "1"});
  server->command({"SET", "cc-test", "prefix without colon"});
  server->command({"SET", "cc-test:GET:/planted", "not in the index"});
  server->command({"HSET", "foreign:hash", "f", "v"});

  // A second cachecar instance with another prefix, sharing the database.
  redis::RedisStore other(ctx_.get_executor(), client_options(*server), "other:");
  ASSERT_FALSE(run(other.put("GET:/x", "v", 60s, "ns", {})));

  put("GET:/a", "v", 60s, "ns");
  put("GET:/b", "v");
  EXPECT_EQ(count(), 2u);
  EXPECT_EQ(erase({{Kind::Prefix, "GET:/"}}), 2u);
  put("GET:/a", "v", 60s, "ns");
  EXPECT_EQ(clear("ns"), 1u);
  put("GET:/a", "v");
  EXPECT_EQ(clear(std::nullopt), 1u);
  EXPECT_EQ(count(), 0u);

  EXPECT_EQ(server->command({"GET", "foreign"}).str, "1");
  EXPECT_EQ(server->command({"GET", "cc-test"}).str, "prefix without colon");
  EXPECT_EQ(server->command({"EXISTS", "foreign:hash"}).integer, 1);
  auto other_value = run(other.get("GET:/x"));
  ASSERT_TRUE(other_value.has_value());
  ASSERT_TRUE(*other_value);
  EXPECT_EQ(**other_value, "v");
  auto other_count = run(other.count());
  ASSERT_TRUE(other_count.has_value());
  EXPECT_EQ(*other_count, 1u);
  // Nothing under our prefix is left behind except the planted key that was never ours to
  // index, the epoch that entries and fill tokens are checked against, and the empty
  // bookkeeping structures, kept with a sentinel member so that an eviction shows.
  auto keys = server->command({"KEYS", "cc-test:*"});
  std::vector<std::string> names;
  for (const auto& key : keys.elements) names.push_back(key.str);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names,
            (std::vector<std::string>{"cc-test:GET:/planted", "cc-test:__gen", "cc-test:__gens",
                                      "cc-test:__index", "cc-test:__keyns", "cc-test:__keytags",
                                      "cc-test:__namespaces", "cc-test:__tags"}));
  EXPECT_EQ(server->command({"ZCARD", "cc-test:__index"}).integer, 1);
  other.stop();
}

// The locally computed script SHA-1s are the ones Redis computes.
TEST_F(RedisStoreOnly, ScriptHashesMatchTheServer) {
  RedisServer* server = server_;
  for (const auto* script :
       {&redis::RedisStore::put_script(), &redis::RedisStore::fill_variant_script(),
        &redis::RedisStore::erase_script(), &redis::RedisStore::clear_script(),
        &redis::RedisStore::count_script(), &redis::RedisStore::setup_script()}) {
    EXPECT_EQ(server->command({"SCRIPT", "LOAD", script->body}).str, script->sha1);
  }
}

// After SCRIPT FLUSH the store falls back to EVAL and carries on.
TEST_F(RedisStoreOnly, ScriptsSurviveScriptFlush) {
  RedisServer* server = server_;
  put("GET:/a", "v");
  server->command({"SCRIPT", "FLUSH"});
  put("GET:/b", "v");
  EXPECT_EQ(count(), 2u);
}

// The proxy stores fills in detached coroutines and relies on a later get (same thread, one
// connection) being ordered after the put on the wire.
TEST_F(RedisStoreOnly, PutIssuedBeforeAGetIsOrderedBeforeIt) {
  put("GET:/warm", "v");  // connected, scripts cached
  for (int i = 0; i < 20; ++i) {
    const std::string key = "GET:/ordered/" + std::to_string(i);
    std::optional<result<Value>> seen;
    boost::asio::co_spawn(
        ctx_,
        [&]() -> boost::asio::awaitable<void> {
          (void)co_await store().put(key, "v", 60s, "", {});
        },
        boost::asio::detached);
    boost::asio::co_spawn(
        ctx_, [&]() -> boost::asio::awaitable<void> { seen = co_await store().get(key); },
        boost::asio::detached);
    ASSERT_TRUE(test::wait_until(
        [&] {
          ctx_.run_one_for(10ms);
          return seen.has_value();
        },
        10s, 0ms));
    ASSERT_TRUE(seen->has_value()) << seen->error().message();
    ASSERT_TRUE(**seen) << key;
    EXPECT_EQ(***seen, "v") << key;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllStores, StoreConformance,
    ::testing::Values(StoreCase{"Memory", false,
                                [](boost::asio::io_context&) -> std::unique_ptr<Harness> {
                                  return std::make_unique<MemoryHarness>();
                                }},
                      StoreCase{"Redis", true,
                                [](boost::asio::io_context& ctx) -> std::unique_ptr<Harness> {
                                  return std::make_unique<RedisHarness>(ctx);
                                }},
                      // cache.key_hash: sha256: every key name is the prefix + 64 hex digits.
                      StoreCase{"RedisSha256", true,
                                [](boost::asio::io_context& ctx) -> std::unique_ptr<Harness> {
                                  return std::make_unique<RedisHarness>(ctx,
                                                                        redis::KeyHash::Sha256);
                                }},
                      StoreCase{"RedisTlsAcl", true,
                                [](boost::asio::io_context& ctx) -> std::unique_ptr<Harness> {
                                  return std::make_unique<RedisTlsAclHarness>(ctx);
                                },
                                true}),
    [](const ::testing::TestParamInfo<StoreCase>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace cachecar::store
