// RedisStore's bookkeeping (index, expiry, namespaces, generations) when Redis runs out of
// memory: under noeviction invalidations still succeed; under eviction the bookkeeping stays
// bounded, and a lost bookkeeping key never lets cachecar serve or store what it can no longer
// invalidate. Evictions of single keys are reproduced with DEL, which is what Redis does.
#include "store/redis/redis_store.hpp"
#include "store/variant_index.hpp"
#include "support/redis_server.hpp"
#include "support/run_awaitable.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace cachecar::store::redis {
namespace {

using namespace std::chrono_literals;
using Kind = EraseTarget::Kind;
using test::RedisServer;

constexpr std::string_view kPrefix = "cc-book:";

class RedisBookkeeping : public ::testing::Test {
 protected:
  void TearDown() override {
    if (store_) store_->stop();
    ctx_.restart();
    ctx_.run_for(5s);
    store_.reset();
  }

  // A redis-server with `extra` arguments and a store on it.
  void start(std::vector<std::string> extra = {}, KeyHash hash = KeyHash::None) {
    if (!RedisServer::binary()) GTEST_SKIP() << "redis-server is not installed";
    server_ = std::make_unique<RedisServer>(std::move(extra));
    Client::Options o;
    o.host = server_->host();
    o.port = server_->port();
    o.command_timeout = 2s;
    o.connect_timeout = 2s;
    names_ = KeyNames(std::string(kPrefix), hash);
    store_ = std::make_unique<RedisStore>(ctx_.get_executor(), o, std::string(kPrefix),
                                          Client::Observer{}, RedisStore::PolicyHandler{}, hash);
  }

  template <class T>
  T run(boost::asio::awaitable<T> coroutine) {
    return test::run_awaitable(ctx_, std::move(coroutine));
  }

  boost::system::error_code put(const std::string& key, const std::string& value,
                                const std::string& ns = "", const FillToken* token = nullptr,
                                std::vector<std::string> tags = {}) {
    if (token == nullptr) return run(store_->put(key, value, 1h, ns, std::move(tags)));
    return run(store_->fill(key, value, 1h, ns, *token, std::move(tags)));
  }
  boost::system::error_code put_tagged(const std::string& key, std::vector<std::string> tags,
                                       std::chrono::milliseconds ttl = 1h) {
    return run(store_->put(key, "v", ttl, "", std::move(tags)));
  }
  std::uint64_t erase_tag(const std::string& tag) {
    auto erased = run(store_->erase({{Kind::Tag, tag}}));
    EXPECT_TRUE(erased.has_value()) << erased.error().message();
    return erased ? *erased : 0;
  }
  std::optional<std::string> get(const std::string& key) {
    auto r = run(store_->get(key));
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return r && *r ? std::optional<std::string>(**r) : std::nullopt;
  }
  FillToken token_for(const std::string& key) {
    auto r = run(store_->lookup_for_fill(key));
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return r ? r->token : FillToken{};
  }
  // A variant of `primary` (secondary key " vary=<n>") stored with a token read just before.
  boost::system::error_code fill_variant(const std::string& primary, int n,
                                         const std::string& ns = "") {
    const std::string key = primary + " vary=" + std::to_string(n);
    auto token = run(store_->read_fill_token(key));
    EXPECT_TRUE(token.has_value());
    return run(store_->fill_variant({primary, {"origin"}, key, 8}, "v", 1h, ns,
                                    token ? *token : FillToken{}, {}));
  }
  std::vector<std::string> listed(const std::string& primary) {
    auto index = get(primary);
    return index ? variant_index_members(*index) : std::vector<std::string>{};
  }
  bool exists(const std::string& key) const {
    return server_->command({"EXISTS", name(key)}).integer == 1;
  }
  // The Redis name of a logical name, as the store under test names it.
  std::string name(std::string_view suffix) const { return names_.of(suffix); }
  long long zcard(std::string_view suffix) const {
    return server_->command({"ZCARD", name(suffix)}).integer;
  }
  long long live_entries() const {
    return static_cast<long long>(server_->command({"KEYS", name("GET:*")}).elements.size());
  }

  // `fills` puts of `value_bytes` each, distinct keys; returns how many were refused.
  int flood(int fills, std::size_t value_bytes) {
    const std::string value(value_bytes, 'v');
    int refused = 0;
    for (int i = 0; i < fills; ++i) {
      if (put("GET:/flood/" + std::to_string(i), value)) ++refused;
    }
    return refused;
  }

  boost::asio::io_context ctx_;
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisStore> store_;
  KeyNames names_{std::string(kPrefix), KeyHash::None};
};

// A full Redis under noeviction refuses fills, but a write's invalidation must still happen,
// generation bump included: a fill that read its token before the erase must not store
// afterwards, when memory is free again.
TEST_F(RedisBookkeeping, InvalidationsSucceedWhenRedisIsFullUnderNoeviction) {
  start({"--maxmemory", "3mb", "--maxmemory-policy", "noeviction"});
  ASSERT_FALSE(put("GET:/victim", "old"));
  ASSERT_FALSE(put("GET:/ns/1", "old", "ns"));
  FillToken before_erase = token_for("GET:/victim?x=1");

  const std::string value(32 * 1024, 'v');
  bool full = false;
  for (int i = 0; i < 2000 && !full; ++i) {
    full = static_cast<bool>(put("GET:/fill/" + std::to_string(i), value));
  }
  ASSERT_TRUE(full) << "the fills never met maxmemory";
  EXPECT_TRUE(put("GET:/one-more", value)) << "a fill under OOM must fail (and be a miss)";

  auto erased = run(store_->erase({{Kind::PathAndVariants, "GET:/victim"}}));
  ASSERT_TRUE(erased.has_value()) << erased.error().message();
  EXPECT_EQ(*erased, 1u);
  EXPECT_EQ(get("GET:/victim"), std::nullopt);
  auto prefix = run(store_->erase({{Kind::Prefix, "GET:/fill/1"}}));
  ASSERT_TRUE(prefix.has_value()) << prefix.error().message();
  auto cleared = run(store_->clear(std::string("ns")));
  ASSERT_TRUE(cleared.has_value()) << cleared.error().message();
  EXPECT_EQ(*cleared, 1u);
  EXPECT_EQ(get("GET:/ns/1"), std::nullopt);

  server_->command({"CONFIG", "SET", "maxmemory", "0"});
  EXPECT_EQ(put("GET:/victim?x=1", "pre-write", "", &before_erase), errc::fill_overtaken);
  EXPECT_EQ(get("GET:/victim?x=1"), std::nullopt);
  auto all = run(store_->clear(std::nullopt));
  ASSERT_TRUE(all.has_value()) << all.error().message();
}

// Entries evicted by Redis leave the index and the expiry set within a bounded number of puts,
// whatever their TTLs (an hour here).
TEST_F(RedisBookkeeping, FloodUnderAllkeysLruKeepsTheIndexBounded) {
  start({"--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"});
  flood(6000, 16 * 1024);
  const long long live = live_entries();
  const long long index = zcard("__index");
  const long long expiry = zcard("__expiry");
  std::cout << "allkeys-lru: " << live << " entries alive, " << index << " index members, "
            << expiry << " expiry members\n";
  EXPECT_GT(live, 0);
  EXPECT_LE(index, 2 * live + 16);
  EXPECT_LE(expiry, 2 * live + 16);
  // Redis may evict the index itself at any command, these reads included, so an entry can be
  // served while its index member is already gone; what matters is that an erase reaches it
  // (the erase notices the lost index first, and its rebuild retires every older entry).
  std::vector<std::string> served;
  for (const auto& key : server_->command({"KEYS", name("GET:*")}).elements) {
    const std::string logical = key.str.substr(kPrefix.size());
    if (get(logical)) served.push_back(logical);
  }
  std::vector<store::EraseTarget> everything{{Kind::Prefix, "GET:/flood/"}};
  auto erased = run(store_->erase(std::move(everything)));
  ASSERT_TRUE(erased.has_value()) << erased.error().message();
  int still_served = 0;
  for (const auto& logical : served) {
    if (get(logical)) ++still_served;
  }
  std::cout << "allkeys-lru: " << served.size() << " served before a prefix erase, " << still_served
            << " after\n";
  EXPECT_EQ(still_served, 0);
}

// Under volatile-* only keys with a TTL are evicted: the entries, never the bookkeeping. Fills
// go on working and what is stored stays valid.
TEST_F(RedisBookkeeping, FloodUnderVolatileLruEvictsEntriesNeverTheBookkeeping) {
  start({"--maxmemory", "3mb", "--maxmemory-policy", "volatile-lru"});
  ASSERT_FALSE(put("GET:/ns/first", "v", "ns"));
  const std::string epoch = server_->command({"GET", name("__gen")}).str;
  const int refused = flood(6000, 16 * 1024);
  EXPECT_EQ(refused, 0);
  const long long live = live_entries();
  const long long index = zcard("__index");
  std::cout << "volatile-lru: " << live << " entries alive, " << index << " index members\n";
  for (auto key : {"__index", "__expiry", "__keyns", "__namespaces", "__gen"}) {
    EXPECT_EQ(server_->command({"EXISTS", name(key)}).integer, 1) << key;
  }
  EXPECT_EQ(server_->command({"GET", name("__gen")}).str, epoch);
  EXPECT_LE(index, 2 * live + 16);
  EXPECT_LE(zcard("__expiry"), 2 * live + 16);
  ASSERT_FALSE(put("GET:/last", "v"));
  EXPECT_EQ(get("GET:/last"), "v");
}

// The index lost (evicted under allkeys-*): a later erase cannot find the variants stored
// before, so they must not be served any more.
TEST_F(RedisBookkeeping, EntriesStoredBeforeTheIndexWasLostAreNotServed) {
  start();
  ASSERT_FALSE(put("GET:/a?page=2", "old"));
  ASSERT_FALSE(put("GET:/b", "old"));
  server_->command({"DEL", name("__index")});
  auto erased = run(store_->erase({{Kind::PathAndVariants, "GET:/a"}}));
  ASSERT_TRUE(erased.has_value()) << erased.error().message();
  EXPECT_EQ(get("GET:/a?page=2"), std::nullopt);
  EXPECT_EQ(get("GET:/b"), std::nullopt);     // no erase can reach it either
  ASSERT_FALSE(put("GET:/a?page=2", "new"));  // caching resumes
  EXPECT_EQ(get("GET:/a?page=2"), "new");
  auto again = run(store_->erase({{Kind::PathAndVariants, "GET:/a"}}));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, 1u);
}

TEST_F(RedisBookkeeping, EntriesOfALostNamespaceSetAreNotServedAfterItsClear) {
  start();
  ASSERT_FALSE(put("GET:/n/1", "old", "posts"));
  ASSERT_FALSE(put("GET:/n/2", "old", "posts"));
  server_->command({"DEL", name("__ns:posts")});
  auto cleared = run(store_->clear(std::string("posts")));
  ASSERT_TRUE(cleared.has_value()) << cleared.error().message();
  EXPECT_EQ(get("GET:/n/1"), std::nullopt);
  EXPECT_EQ(get("GET:/n/2"), std::nullopt);
}

TEST_F(RedisBookkeeping, ALostNamespaceMapInvalidatesWhatWasStoredBefore) {
  start();
  ASSERT_FALSE(put("GET:/n/1", "old", "posts"));
  server_->command({"DEL", name("__keyns")});
  ASSERT_FALSE(put("GET:/n/1", "moved", "users"));  // the old namespace can no longer be found
  ASSERT_FALSE(put("GET:/n/2", "v", "posts"));
  auto cleared = run(store_->clear(std::string("users")));
  ASSERT_TRUE(cleared.has_value()) << cleared.error().message();
  EXPECT_EQ(get("GET:/n/1"), std::nullopt);
  EXPECT_EQ(get("GET:/n/2"), "v");
}

// A fill read no epoch (none had been needed yet); a prefix erase created it; Redis evicted it.
// The put must not find "absent" equal to "absent".
TEST_F(RedisBookkeeping, AnEvictedEpochNeverLetsAnOvertakenFillStore) {
  start();
  FillToken token = token_for("GET:/p/1");
  auto erased = run(store_->erase({{Kind::Prefix, "GET:/p/"}}));
  ASSERT_TRUE(erased.has_value());
  server_->command({"DEL", name("__gen")});
  EXPECT_EQ(put("GET:/p/1", "pre-write", "", &token), errc::fill_overtaken);
  EXPECT_EQ(get("GET:/p/1"), std::nullopt);
}

// Same with the path generation, which a lookup usually finds absent.
TEST_F(RedisBookkeeping, AnEvictedPathGenerationNeverLetsAnOvertakenFillStore) {
  start();
  ASSERT_FALSE(put("GET:/warm", "v"));  // the bookkeeping exists
  FillToken token = token_for("GET:/u/1?full=1");
  auto erased = run(store_->erase({{Kind::PathAndVariants, "GET:/u/1"}}));
  ASSERT_TRUE(erased.has_value());
  server_->command({"DEL", name("__gen:GET:/u/1")});
  EXPECT_EQ(put("GET:/u/1?full=1", "pre-write", "", &token), errc::fill_overtaken);
  EXPECT_EQ(get("GET:/u/1?full=1"), std::nullopt);

  // An erase after the eviction makes a generation a token taken before it has never seen.
  FillToken second = token_for("GET:/u/1");
  ASSERT_TRUE(run(store_->erase({{Kind::Exact, "GET:/u/1"}})).has_value());
  server_->command({"DEL", name("__gen:GET:/u/1")});
  ASSERT_TRUE(run(store_->erase({{Kind::Exact, "GET:/u/1"}})).has_value());
  EXPECT_EQ(put("GET:/u/1", "pre-write", "", &second), errc::fill_overtaken);

  FillToken fresh = token_for("GET:/u/1");  // read after everything: stores
  EXPECT_FALSE(put("GET:/u/1", "new", "", &fresh));
  EXPECT_EQ(get("GET:/u/1"), "new");
}

// An invalidation whose generation bump fails reports an error (the caller keeps it pending)
// and deletes nothing: a deletion without its bump would let an overtaken fill store later.
TEST_F(RedisBookkeeping, AnEraseThatCannotBumpItsGenerationFailsWithoutDeleting) {
  start();
  ASSERT_FALSE(put("GET:/a", "v"));
  server_->command({"DEL", name("__gen")});
  server_->command({"HSET", name("__gen"), "not", "a string"});  // WRONGTYPE for GET and SET
  auto erased = run(store_->erase({{Kind::Exact, "GET:/a"}}));
  EXPECT_FALSE(erased.has_value());
  EXPECT_EQ(server_->command({"EXISTS", name("GET:/a")}).integer, 1);
}

// Scripts name the keys they know up front in KEYS (ACLs check them, Redis Cluster routes by
// them). The slow log records every command with its arguments.
TEST_F(RedisBookkeeping, ScriptsDeclareTheKeysTheyKnowUpFront) {
  start({"--slowlog-log-slower-than", "0", "--slowlog-max-len", "1000"});
  ASSERT_FALSE(put("GET:/k?x=1", "v", "ns"));
  ASSERT_TRUE(run(store_->erase({{Kind::PathAndVariants, "GET:/k"}})).has_value());
  ASSERT_TRUE(run(store_->clear(std::string("ns"))).has_value());
  ASSERT_TRUE(run(store_->count()).has_value());
  auto log = server_->command({"SLOWLOG", "GET", "1000"});
  std::vector<std::set<std::string>> declared;  // per script call, oldest last
  for (const auto& entry : log.elements) {
    if (entry.elements.size() < 4) continue;
    const auto& args = entry.elements[3].elements;
    if (args.size() < 3 || (args[0].str != "EVALSHA" && args[0].str != "EVAL")) continue;
    const std::size_t n = std::stoul(args[2].str);
    std::set<std::string> keys;
    for (std::size_t i = 3; i < 3 + n && i < args.size(); ++i) keys.insert(args[i].str);
    declared.push_back(std::move(keys));
  }
  ASSERT_GE(declared.size(), 4u);
  std::reverse(declared.begin(), declared.end());
  const auto& put_keys = declared[declared.size() - 4];
  const auto& erase_keys = declared[declared.size() - 3];
  const auto& clear_keys = declared[declared.size() - 2];
  const auto& count_keys = declared[declared.size() - 1];
  for (auto key :
       {"GET:/k?x=1", "__index", "__expiry", "__gen", "__gen:GET:/k", "__keyns", "__ns:ns"}) {
    EXPECT_TRUE(put_keys.contains(name(key))) << "put: " << key;
  }
  for (auto key : {"GET:/k", "__index", "__expiry", "__gen", "__gen:GET:/k"}) {
    EXPECT_TRUE(erase_keys.contains(name(key))) << "erase: " << key;
  }
  for (auto key : {"__index", "__gen", "__ns:ns", "__namespaces"}) {
    EXPECT_TRUE(clear_keys.contains(name(key))) << "clear: " << key;
  }
  for (auto key : {"__index", "__expiry"}) {
    EXPECT_TRUE(count_keys.contains(name(key))) << "count: " << key;
  }
}

TEST_F(RedisBookkeeping, FillVariantDeclaresItsKeysUpFront) {
  start({"--slowlog-log-slower-than", "0", "--slowlog-max-len", "1000"});
  ASSERT_FALSE(fill_variant("GET:/k?x=1 host=h", 1, "ns"));
  auto log = server_->command({"SLOWLOG", "GET", "1000"});
  std::set<std::string> keys;
  for (const auto& entry : log.elements) {
    if (entry.elements.size() < 4) continue;
    const auto& args = entry.elements[3].elements;
    if (args.size() < 3 || args[0].str != "EVALSHA" ||
        args[1].str != RedisStore::fill_variant_script().sha1) {
      continue;
    }
    const std::size_t n = std::stoul(args[2].str);
    for (std::size_t i = 3; i < 3 + n && i < args.size(); ++i) keys.insert(args[i].str);
  }
  for (auto key : {"GET:/k?x=1 host=h vary=1", "GET:/k?x=1 host=h", "__gen:GET:/k", "__ns:ns",
                   "__index", "__expiry", "__gen", "__vary"}) {
    EXPECT_TRUE(keys.contains(name(key))) << key;
  }
}

// Redis may evict an index or its variants independently (reproduced with DEL): a missing
// variant is a miss and is no longer listed by the next fill; variants whose index is gone are
// unreachable by lookups but still erased with their key.
TEST_F(RedisBookkeeping, AnEvictedIndexOrVariantIsOnlyAMiss) {
  start();
  const std::string primary = "GET:/v host=h";
  ASSERT_FALSE(fill_variant(primary, 1));
  ASSERT_FALSE(fill_variant(primary, 2));
  server_->command({"DEL", name(primary + " vary=1")});
  EXPECT_EQ(listed(primary), (std::vector<std::string>{" vary=1", " vary=2"}));
  EXPECT_EQ(get(primary + " vary=1"), std::nullopt);
  ASSERT_FALSE(fill_variant(primary, 3));
  EXPECT_EQ(listed(primary), (std::vector<std::string>{" vary=2", " vary=3"}));
  EXPECT_EQ(run(store_->count()).value(), 2u);

  server_->command({"DEL", name(primary)});
  EXPECT_EQ(get(primary), std::nullopt);
  EXPECT_EQ(get(primary + " vary=2"), "v");  // stored; only a lookup through the index finds it
  EXPECT_EQ(run(store_->erase({{Kind::Exact, "GET:/v"}})).value(), 2u);
  EXPECT_FALSE(exists(primary + " vary=2"));
  EXPECT_FALSE(exists(primary + " vary=3"));
  EXPECT_EQ(run(store_->count()).value(), 0u);
}

// After a bookkeeping loss, an index stored under the old epoch is ignored by lookups; the
// next fill of the key replaces it and deletes its variants rather than listing them again.
TEST_F(RedisBookkeeping, AnIndexFromBeforeARebuildIsReplaced) {
  start();
  const std::string primary = "GET:/v";
  ASSERT_FALSE(fill_variant(primary, 1));
  server_->command({"DEL", name("__index")});
  ASSERT_FALSE(put("GET:/other", "v"));  // notices the loss, rebuilds under a new epoch
  EXPECT_EQ(get(primary), std::nullopt);
  ASSERT_FALSE(fill_variant(primary, 2));
  EXPECT_EQ(listed(primary), std::vector<std::string>{" vary=2"});
  EXPECT_FALSE(exists(primary + " vary=1"));
}

// P__vary only keeps counts honest: losing it makes them include indexes, nothing else.
TEST_F(RedisBookkeeping, LosingTheVaryListOnlyMakesCountsIncludeIndexes) {
  start();
  ASSERT_FALSE(fill_variant("GET:/v", 1));
  ASSERT_FALSE(fill_variant("GET:/v", 2));
  EXPECT_EQ(run(store_->count()).value(), 2u);
  server_->command({"DEL", name("__vary")});
  EXPECT_EQ(run(store_->count()).value(), 3u);
  ASSERT_FALSE(fill_variant("GET:/v", 3));  // listed again
  EXPECT_EQ(run(store_->count()).value(), 3u);
  EXPECT_EQ(run(store_->erase({{Kind::Exact, "GET:/v"}})).value(), 3u);
  EXPECT_FALSE(exists("GET:/v"));
}

// Tag sets have no Redis TTL (under volatile-* they are never evicted) and expire with their
// entries: the registry says when the longest-lived member expires, and the scripts delete
// the set once that time has passed.
TEST_F(RedisBookkeeping, TagSetsExpireWithTheirLongestLivedEntry) {
  start();
  ASSERT_FALSE(put_tagged("GET:/short", {"t"}, 200ms));
  ASSERT_FALSE(put_tagged("GET:/shorter", {"t"}, 100ms));
  const std::string set = name("__tag:t");
  EXPECT_EQ(server_->command({"PTTL", set}).integer, -1);  // no TTL: not an eviction candidate
  const auto until = std::stoll(server_->command({"ZSCORE", name("__tags"), set}).str);
  EXPECT_GE(until, std::stoll(server_->command({"ZSCORE", set, "GET:/short"}).str));
  EXPECT_GE(until, std::stoll(server_->command({"ZSCORE", set, "GET:/shorter"}).str));
  ASSERT_TRUE(test::wait_until(
      [&] {
        (void)put("GET:/other", "v");  // each put deletes tag sets whose time has passed
        return server_->command({"EXISTS", set}).integer == 0;
      },
      10s, 20ms));
  EXPECT_EQ(server_->command({"ZSCORE", name("__tags"), set}).type, RedisServer::Reply::Type::Nil);
  EXPECT_EQ(erase_tag("t"), 0u);
}

// Churn: entries re-put with other tags, erased or cleared leave their tag sets, so sets hold
// only current members (the sentinel '' aside).
TEST_F(RedisBookkeeping, TagSetsHoldOnlyCurrentMembersUnderChurn) {
  start();
  for (int i = 0; i < 300; ++i) ASSERT_FALSE(put_tagged("GET:/c/" + std::to_string(i), {"a"}));
  EXPECT_EQ(zcard("__tag:a"), 301);
  for (int i = 0; i < 300; ++i) ASSERT_FALSE(put_tagged("GET:/c/" + std::to_string(i), {"b"}));
  EXPECT_EQ(zcard("__tag:a"), 1);
  EXPECT_EQ(zcard("__tag:b"), 301);
  ASSERT_TRUE(run(store_->erase({{Kind::Prefix, "GET:/c/1"}})).has_value());
  EXPECT_EQ(zcard("__tag:b"), 301 - 111);
  EXPECT_EQ(server_->command({"HLEN", name("__keytags")}).integer, 1 + 300 - 111);
  ASSERT_TRUE(run(store_->clear(std::nullopt)).has_value());
  EXPECT_EQ(server_->command({"EXISTS", name("__tag:a"), name("__tag:b")}).integer, 0);
  EXPECT_EQ(server_->command({"HLEN", name("__keytags")}).integer, 1);
  EXPECT_EQ(zcard("__tags"), 1);
}

// Entries Redis evicts leave their tag sets as they leave the index (the puts' sampling), so
// a flood under allkeys-lru keeps the tag set near the live entries.
TEST_F(RedisBookkeeping, FloodUnderAllkeysLruKeepsTagSetsBounded) {
  start({"--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"});
  const std::string value(16 * 1024, 'v');
  for (int i = 0; i < 3000; ++i) {
    (void)run(store_->put("GET:/flood/" + std::to_string(i), value, 1h, "", {"flood"}));
  }
  const long long live = live_entries();
  const long long members = zcard("__tag:flood");
  std::cout << "allkeys-lru with tags: " << live << " entries alive, " << members
            << " tag set members\n";
  EXPECT_LE(members, 2 * live + 16);
  EXPECT_LE(server_->command({"HLEN", name("__keytags")}).integer, 2 * live + 16);
  // Whatever was lost, a purge leaves nothing servable that carried the tag.
  std::vector<std::string> served;
  for (const auto& key : server_->command({"KEYS", name("GET:*")}).elements) {
    const std::string logical = key.str.substr(kPrefix.size());
    if (get(logical)) served.push_back(logical);
  }
  (void)erase_tag("flood");
  for (const auto& logical : served) EXPECT_EQ(get(logical), std::nullopt) << logical;
}

// Under volatile-* the tag sets (no TTL) are never evicted: a purge finds every live entry.
TEST_F(RedisBookkeeping, FloodUnderVolatileLruNeverEvictsATagSet) {
  start({"--maxmemory", "3mb", "--maxmemory-policy", "volatile-lru"});
  const std::string value(16 * 1024, 'v');
  for (int i = 0; i < 3000; ++i) {
    ASSERT_FALSE(run(store_->put("GET:/flood/" + std::to_string(i), value, 1h, "", {"flood"})));
  }
  const std::string epoch = server_->command({"GET", name("__gen")}).str;
  const long long live = live_entries();
  for (auto key : {"__tag:flood", "__tags", "__keytags"}) {
    EXPECT_EQ(server_->command({"EXISTS", name(key)}).integer, 1) << key;
  }
  const auto purged = erase_tag("flood");
  EXPECT_GT(purged, 0u);
  EXPECT_LE(purged, static_cast<std::uint64_t>(live));  // Redis may evict more meanwhile
  EXPECT_EQ(live_entries(), 0);
  EXPECT_EQ(server_->command({"GET", name("__gen")}).str.substr(0, epoch.find(':')),
            epoch.substr(0, epoch.find(':')))
      << "no rebuild was needed";
}

// A tag set lost before its time (allkeys-*, reproduced with DEL): its entries can no longer be
// found by a purge, so neither a purge nor a put with the tag may go on as if nothing happened.
TEST_F(RedisBookkeeping, EntriesOfALostTagSetAreNotServedAfterItsPurge) {
  for (const auto hash : {KeyHash::None, KeyHash::Sha256}) {
    SCOPED_TRACE(core::to_string(hash));
    start({}, hash);
    ASSERT_FALSE(put_tagged("GET:/t/1", {"t"}));
    ASSERT_FALSE(put_tagged("GET:/t/2", {"t", "u"}));
    server_->command({"DEL", name("__tag:t")});
    (void)erase_tag("t");
    EXPECT_EQ(get("GET:/t/1"), std::nullopt);
    EXPECT_EQ(get("GET:/t/2"), std::nullopt);

    ASSERT_FALSE(put_tagged("GET:/t/3", {"u"}));
    server_->command({"DEL", name("__tag:u")});
    ASSERT_FALSE(put_tagged("GET:/t/4", {"u"}));  // notices the loss first
    EXPECT_EQ(get("GET:/t/3"), std::nullopt);
    EXPECT_EQ(get("GET:/t/4"), "v");
    EXPECT_EQ(erase_tag("u"), 1u);
    TearDown();
  }
}

// The tag registry, the key -> tags map and (sha256) the name map are bookkeeping like the
// index: losing one retires what was stored before.
TEST_F(RedisBookkeeping, ALostTagOrNameMapRetiresWhatWasStoredBefore) {
  for (const auto hash : {KeyHash::None, KeyHash::Sha256}) {
    for (auto lost : {"__tags", "__keytags", "__names"}) {
      if (hash == KeyHash::None && std::string_view(lost) == "__names") continue;
      SCOPED_TRACE(std::string(core::to_string(hash)) + " " + lost);
      start({}, hash);
      ASSERT_FALSE(put_tagged("GET:/m/1", {"t"}));
      ASSERT_FALSE(put("GET:/m/2?q=1", "v", "ns"));
      server_->command({"DEL", name(lost)});
      ASSERT_FALSE(put("GET:/other", "v"));
      EXPECT_EQ(get("GET:/m/1"), std::nullopt);
      EXPECT_EQ(get("GET:/m/2?q=1"), std::nullopt);
      EXPECT_EQ(get("GET:/other"), "v");
      EXPECT_EQ(erase_tag("t"), 0u);
      auto erased = run(store_->erase({{Kind::PathAndVariants, "GET:/other"}}));
      ASSERT_TRUE(erased.has_value());
      EXPECT_EQ(*erased, 1u);
      TearDown();
    }
  }
}

// With sha256, a lost index is as with plain names: what it named is no longer served.
TEST_F(RedisBookkeeping, HashedNamesSurviveTheLossOfTheIndex) {
  start({}, KeyHash::Sha256);
  ASSERT_FALSE(put("GET:/a?page=2", "old"));
  server_->command({"DEL", name("__index")});
  auto erased = run(store_->erase({{Kind::PathAndVariants, "GET:/a"}}));
  ASSERT_TRUE(erased.has_value()) << erased.error().message();
  EXPECT_EQ(get("GET:/a?page=2"), std::nullopt);
  ASSERT_FALSE(put("GET:/a?page=2", "new"));
  EXPECT_EQ(run(store_->erase({{Kind::PathAndVariants, "GET:/a"}})).value(), 1u);
}

// Puts and tag erases name the tag sets in KEYS (and with sha256 only hashed names appear).
TEST_F(RedisBookkeeping, TagSetsAreDeclaredUpFront) {
  for (const auto hash : {KeyHash::None, KeyHash::Sha256}) {
    SCOPED_TRACE(core::to_string(hash));
    start({"--slowlog-log-slower-than", "0", "--slowlog-max-len", "1000"}, hash);
    ASSERT_FALSE(put_tagged("GET:/k", {"a", "b"}));
    (void)erase_tag("a");
    auto log = server_->command({"SLOWLOG", "GET", "1000"});
    std::set<std::string> declared;
    for (const auto& entry : log.elements) {
      if (entry.elements.size() < 4) continue;
      const auto& args = entry.elements[3].elements;
      if (args.size() < 3 || (args[0].str != "EVALSHA" && args[0].str != "EVAL")) continue;
      const std::size_t n = std::stoul(args[2].str);
      for (std::size_t i = 3; i < 3 + n && i < args.size(); ++i) declared.insert(args[i].str);
    }
    for (auto key : {"GET:/k", "__tag:a", "__tag:b", "__tags", "__keytags", "__names"}) {
      EXPECT_TRUE(declared.contains(name(key))) << key;
    }
    TearDown();
  }
}

// cachecar reads the eviction policy when it connects (INFO, which works where CONFIG is
// renamed or denied) so that it can warn about policies that hurt it.
TEST_F(RedisBookkeeping, TheEvictionPolicyIsReadOnConnect) {
  start({"--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru", "--rename-command", "CONFIG",
         ""});
  ASSERT_FALSE(put("GET:/k", "v"));
  EXPECT_EQ(store_->maxmemory_policy(), "allkeys-lru");
  EXPECT_EQ(store_->maxmemory(), 3u << 20);
}

TEST(MaxmemoryPolicy, WarnsAboutPoliciesThatHurtTheCache) {
  constexpr std::uint64_t kLimit = 3 << 20;
  EXPECT_EQ(maxmemory_policy_warning("volatile-lru", kLimit), "");
  EXPECT_EQ(maxmemory_policy_warning("volatile-lfu", kLimit), "");
  EXPECT_EQ(maxmemory_policy_warning("", kLimit), "");  // unknown: nothing to say
  EXPECT_NE(maxmemory_policy_warning("noeviction", kLimit), "");
  EXPECT_NE(maxmemory_policy_warning("noeviction", 0), "");  // Redis's default: no limit
  EXPECT_NE(maxmemory_policy_warning("allkeys-lru", kLimit), "");
  EXPECT_NE(maxmemory_policy_warning("allkeys-lfu", kLimit), "");
  EXPECT_NE(maxmemory_policy_warning("allkeys-random", kLimit), "");
  EXPECT_EQ(maxmemory_policy_warning("allkeys-lru", 0), "");  // never evicts without a limit
}

}  // namespace
}  // namespace cachecar::store::redis
