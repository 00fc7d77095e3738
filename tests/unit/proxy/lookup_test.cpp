// The lookup tier over real parts (MemoryStore, L1Cache, PendingInvalidations, FillCoalescer,
// Metrics), no sockets: what a lookup answers, when a fill is kept, and the order of writes
// across L1 and the store. Coroutines run on an io_context the test drives itself; a store
// operation that is "in flight" is one the test holds open (ControlledStore), as a Redis round
// trip would be.
#include "proxy/lookup.hpp"

#include "policy/entry.hpp"
#include "store/memory_store.hpp"
#include "store/variant_index.hpp"
#include "support/run_awaitable.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cachecar::proxy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using store::EraseTarget;

constexpr auto kLifetime = 60s;  // the rule's lifetime, and the store TTL of every fill

// A CacheStore over a MemoryStore whose operations a test can make fail, or hold in flight
// until release(): a held lookup has read its value and not yet returned it; a held erase has
// not reached the store yet.
class ControlledStore final : public store::CacheStore {
 public:
  explicit ControlledStore(store::MemoryStore& inner) : inner_(inner) {}

  bool fail_lookup = false;
  bool fail_fill = false;
  bool fail_erase = false;
  bool hold_lookup = false;
  bool hold_erase = false;

  std::size_t held() const { return held_.size(); }
  void release() {
    auto timers = std::move(held_);
    held_.clear();
    for (auto& timer : timers) timer->cancel();
  }

  asio::awaitable<result<store::Value>> get(std::string key) override {
    co_return co_await inner_.get(std::move(key));
  }
  asio::awaitable<result<store::Lookup>> lookup_for_fill(std::string key) override {
    if (fail_lookup) co_return make_error_code(errc::store_unavailable);
    auto found = inner_.lookup_for_fill_sync(key);
    if (hold_lookup) co_await hold();
    co_return found;
  }
  asio::awaitable<result<store::FillToken>> read_fill_token(std::string key) override {
    co_return co_await inner_.read_fill_token(std::move(key));
  }
  asio::awaitable<boost::system::error_code> put(std::string key, std::string value,
                                                 std::chrono::milliseconds ttl, std::string ns,
                                                 std::vector<std::string> tags) override {
    co_return co_await inner_.put(std::move(key), std::move(value), ttl, std::move(ns),
                                  std::move(tags));
  }
  asio::awaitable<boost::system::error_code> fill(std::string key, std::string value,
                                                  std::chrono::milliseconds ttl, std::string ns,
                                                  store::FillToken token,
                                                  std::vector<std::string> tags) override {
    if (fail_fill) co_return make_error_code(errc::store_unavailable);
    co_return co_await inner_.fill(std::move(key), std::move(value), ttl, std::move(ns),
                                   std::move(token), std::move(tags));
  }
  asio::awaitable<boost::system::error_code> fill_variant(
      store::VariantFill variant, std::string value, std::chrono::milliseconds ttl, std::string ns,
      store::FillToken token, std::vector<std::string> tags) override {
    if (fail_fill) co_return make_error_code(errc::store_unavailable);
    co_return co_await inner_.fill_variant(std::move(variant), std::move(value), ttl, std::move(ns),
                                           std::move(token), std::move(tags));
  }
  asio::awaitable<result<std::uint64_t>> erase(std::vector<EraseTarget> targets) override {
    if (hold_erase) co_await hold();
    if (fail_erase) co_return make_error_code(errc::store_unavailable);
    co_return co_await inner_.erase(std::move(targets));
  }
  asio::awaitable<result<std::uint64_t>> clear(std::optional<std::string> ns) override {
    co_return co_await inner_.clear(std::move(ns));
  }
  asio::awaitable<result<std::uint64_t>> count() override { co_return co_await inner_.count(); }
  asio::awaitable<result<std::chrono::microseconds>> ping() override {
    co_return co_await inner_.ping();
  }
  store::StoreHealth health() const override { return inner_.health(); }
  std::string_view kind() const noexcept override { return "controlled"; }

 private:
  asio::awaitable<void> hold() {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    timer->expires_after(24h);  // ends by release()'s cancel, never by expiry
    held_.push_back(timer);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }

  store::MemoryStore& inner_;
  std::vector<std::shared_ptr<asio::steady_timer>> held_;
};

// `key` and `out` outlive the coroutine (fixture members or the test's locals).
asio::awaitable<void> lookup_into(LookupTier& tier, const std::string& key, bool bypass,
                                  std::optional<LookupResult>& out) {
  LookupRequest request;
  request.bypass = bypass;
  out = co_await tier.lookup(key, request);
}

asio::awaitable<void> lookup_with_into(LookupTier& tier, const std::string& key,
                                       const LookupRequest& request,
                                       std::optional<LookupResult>& out) {
  out = co_await tier.lookup(key, request);
}

asio::awaitable<void> invalidate_into(LookupTier& tier, const std::vector<EraseTarget>& targets,
                                      std::optional<InvalidateResult>& out) {
  auto copy = targets;
  out = co_await tier.invalidate(std::move(copy));
}

std::vector<EraseTarget> path_and_variants(const std::string& key) {
  return {EraseTarget{EraseTarget::Kind::PathAndVariants, key}};
}

struct Tiers {
  bool controlled = false;  // ControlledStore in front of the MemoryStore
  bool l1 = false;          // with L1 (active)
  bool coalesce = false;
};

class LookupTierTest : public ::testing::Test {
 protected:
  LookupTier& use(Tiers tiers) {
    if (tiers.l1) l1_.set_active(true);
    store::CacheStore& store = tiers.controlled ? static_cast<store::CacheStore&>(controlled_)
                                                : static_cast<store::CacheStore&>(memory_);
    tier_.emplace(LookupParts{
        .store = store,
        .l1 = tiers.l1 ? &l1_ : nullptr,
        .pending = &pending_,
        .coalescer = tiers.coalesce ? &coalescer_ : nullptr,
        .coalesce_wait = tiers.coalesce ? std::chrono::milliseconds(10min) : 0ms,
        .max_pending_invalidations = 16,
        .metrics = metrics_,
        .store_error_log = store_error_log_,
        .invalidation_error_log = invalidation_error_log_,
        .now_ms = [this] { return now_ms_; },
    });
    return *tier_;
  }

  std::string entry(const std::string& body, std::int64_t generated_at_ms) const {
    const policy::HeaderList headers{{"Content-Type", "text/plain"}};
    policy::Freshness freshness;
    freshness.request_ms = generated_at_ms;
    freshness.response_ms = generated_at_ms;
    freshness.lifetime_ms = std::chrono::milliseconds(kLifetime).count();
    return policy::encode_entry(freshness, 200, "OK", headers, body);
  }
  // An entry in the store as a fill would have left it, generated `age` ago.
  void put(const std::string& key, const std::string& body, std::chrono::milliseconds age = 0ms) {
    memory_.put_sync(key, entry(body, now_ms_ - age.count()), kLifetime, "");
  }
  std::string stored_body(const std::string& key) {
    auto value = memory_.get_sync(key);
    if (!value) return "(none)";
    auto decoded = policy::decode_entry(*value);
    return decoded ? std::string(decoded->body) : "(corrupt)";
  }

  LookupResult lookup(const std::string& key, bool bypass = false) {
    LookupRequest request;
    request.bypass = bypass;
    return test::run_awaitable(ctx_, tier_->lookup(key, request));
  }
  StoreResult store(const std::string& key, Fill fill, const std::string& body) {
    std::string bytes = entry(body, now_ms_);
    std::string ns;
    std::vector<std::string> tags;
    const std::optional<store::VariantFill> no_variant;
    return test::run_awaitable(ctx_, tier_->store(key, no_variant, fill, std::move(bytes),
                                                  kLifetime, std::move(ns), std::move(tags),
                                                  body.size()));
  }
  InvalidateResult invalidate(std::vector<EraseTarget> targets) {
    return test::run_awaitable(ctx_, tier_->invalidate(std::move(targets)));
  }
  // A lookup started and run as far as it goes without the test's help (it may be waiting).
  void start_lookup(const std::string& key, std::optional<LookupResult>& out) {
    asio::co_spawn(ctx_, lookup_into(*tier_, key, false, out), asio::detached);
    poll();
  }
  void poll() {
    ctx_.restart();
    ctx_.poll();
  }
  // Runs the context until `done`, within a liveness bound far above what it takes.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      ctx_.restart();
      ctx_.run_one_for(10ms);
    }
    return done();
  }
  // How often lookups of `logical_key` were counted (the top keys of the cache statistics).
  std::uint64_t lookups_of(const std::string& logical_key) const {
    for (const auto& top : metrics_.cache_stats().top_keys) {
      if (top.key == logical_key) return top.count;
    }
    return 0;
  }
  std::string prometheus() const { return metrics_.prometheus_text({.store_kind = "memory"}); }

  const std::string key_ = "GET:/a host=x";
  const std::string variant_ = "GET:/a?x=1 host=x";  // a query variant of key_'s path
  std::int64_t now_ms_ = store::MemoryStore::system_now_ms();
  store::MemoryStore memory_{1 << 20, [this] { return now_ms_; }};
  ControlledStore controlled_{memory_};
  store::L1Cache l1_{1 << 20, kLifetime};
  store::PendingInvalidations pending_{16};
  FillCoalescer coalescer_;
  metrics::Metrics metrics_;
  core::LogLimiter store_error_log_, invalidation_error_log_;
  std::optional<LookupTier> tier_;
  asio::io_context ctx_;  // last: destroyed first, with any coroutine still suspended on it
};

// --- hits and misses --------------------------------------------------------------------

TEST_F(LookupTierTest, AnEntryInTheStoreIsAHitDecodedAndCounted) {
  use({});
  put(key_, "from the store");
  const auto found = lookup(key_);
  EXPECT_EQ(found.kind, LookupKind::Hit);
  EXPECT_EQ(found.detail, Detail::None);
  ASSERT_TRUE(found.value);
  EXPECT_EQ(found.entry.status, 200);
  EXPECT_EQ(found.entry.body, "from the store");
  EXPECT_EQ(found.entry.body.data() - found.value->data() + found.entry.body.size(),
            found.value->size());  // a view into the shared value, not a copy
  EXPECT_FALSE(found.fill);
  EXPECT_EQ(lookups_of("GET:/a"), 1u);
}

TEST_F(LookupTierTest, AMissGivesAFillWhoseStoreIsTheNextHit) {
  use({});
  auto found = lookup(key_);
  EXPECT_EQ(found.kind, LookupKind::Miss);
  EXPECT_EQ(found.detail, Detail::None);
  EXPECT_FALSE(found.value);
  ASSERT_TRUE(found.fill);
  EXPECT_FALSE(found.fill->token.empty());
  EXPECT_FALSE(found.fill->lease);  // no coalescer
  EXPECT_EQ(lookups_of("GET:/a"), 1u);

  EXPECT_EQ(store(key_, std::move(*found.fill), "filled"), StoreResult::Stored);
  EXPECT_EQ(stored_body(key_), "filled");
  EXPECT_EQ(metrics_.snapshot().stores, 1u);
  const auto again = lookup(key_);
  EXPECT_EQ(again.kind, LookupKind::Hit);
  EXPECT_EQ(again.entry.body, "filled");
}

TEST_F(LookupTierTest, AStoreFailureOnLookupIsAMissWithoutAFill) {
  use({.controlled = true});
  controlled_.fail_lookup = true;
  const auto found = lookup(key_);
  EXPECT_EQ(found.kind, LookupKind::Miss);
  EXPECT_EQ(found.detail, Detail::StoreError);
  EXPECT_FALSE(found.fill);  // a put without a token would be unconditional
  EXPECT_EQ(metrics_.snapshot().store_errors, 1u);
  EXPECT_NE(prometheus().find(R"(cachecar_store_errors_total{operation="get"} 1)"),
            std::string::npos);
}

// --- L1 -----------------------------------------------------------------------------------

TEST_F(LookupTierTest, AStoreHitFillsAnActiveL1AndTheNextLookupIsServedFromIt) {
  use({.l1 = true});
  put(key_, "v");
  EXPECT_EQ(lookup(key_).detail, Detail::None);     // from the store
  memory_.erase_sync(path_and_variants("GET:/a"));  // behind the tier's back: only L1 has it now
  const auto found = lookup(key_);
  EXPECT_EQ(found.kind, LookupKind::Hit);
  EXPECT_EQ(found.detail, Detail::L1);
  EXPECT_EQ(found.entry.body, "v");
  EXPECT_EQ(lookups_of("GET:/a"), 2u);
}

TEST_F(LookupTierTest, AnInactiveL1IsNotFilled) {
  use({.l1 = true});
  l1_.set_active(false);  // its invalidation channel is down
  put(key_, "v");
  EXPECT_EQ(lookup(key_).detail, Detail::None);
  EXPECT_EQ(lookup(key_).detail, Detail::None);
  EXPECT_EQ(l1_.bytes_used(), 0u);
}

TEST_F(LookupTierTest, L1KeepsAnEntryOnlyForTheLifetimeItHasLeft) {
  use({.l1 = true});
  const std::string expired = "GET:/old host=x", young = "GET:/young host=x";
  put(expired, "old", kLifetime + 1s);  // older than the rule's lifetime, still in the store
  put(young, "young", kLifetime - 1s);
  for (int i = 0; i < 2; ++i) {
    const auto found = lookup(expired);
    EXPECT_EQ(found.kind, LookupKind::Revalidate) << i;  // stale: asked about, kept as fallback
    EXPECT_TRUE(found.has_entry()) << i;
    EXPECT_EQ(found.detail, Detail::None) << i;  // ... and never from L1
  }
  EXPECT_FALSE(l1_.get(expired));
  EXPECT_EQ(lookup(young).detail, Detail::None);
  EXPECT_EQ(lookup(young).detail, Detail::L1);
}

TEST_F(LookupTierTest, InvalidateDropsTheKeyFromL1) {
  use({.l1 = true});
  put(key_, "v");
  lookup(key_);
  ASSERT_EQ(lookup(key_).detail, Detail::L1);
  const auto done = invalidate(path_and_variants("GET:/a"));
  EXPECT_TRUE(done.erased);
  EXPECT_EQ(done.entries, 1u);
  EXPECT_EQ(metrics_.snapshot().invalidations, 1u);
  EXPECT_FALSE(l1_.get(key_));
  const auto found = lookup(key_);
  EXPECT_EQ(found.kind, LookupKind::Miss);
  EXPECT_TRUE(found.fill);
}

// While the store's erase is in flight, L1 still serves the old entry: were L1 cleared first,
// a lookup meanwhile would miss L1, read the old entry from the store and put it back in L1,
// where it would outlive the erase.
TEST_F(LookupTierTest, L1IsClearedAfterTheStoresErase) {
  use({.controlled = true, .l1 = true});
  put(key_, "old");
  lookup(key_);  // fills L1
  controlled_.hold_erase = true;
  const auto targets = path_and_variants("GET:/a");
  std::optional<InvalidateResult> done;
  asio::co_spawn(ctx_, invalidate_into(*tier_, targets, done), asio::detached);
  poll();
  ASSERT_EQ(controlled_.held(), 1u);
  lookup(key_);  // during the erase's round trip

  controlled_.release();
  ASSERT_TRUE(run_until([&] { return done.has_value(); }));
  EXPECT_TRUE(done->erased);
  EXPECT_FALSE(l1_.get(key_));
  const auto found = lookup(key_);
  EXPECT_EQ(found.kind, LookupKind::Miss);
  EXPECT_NE(found.detail, Detail::L1);
}

// A lookup read the old entry from the store, then an invalidation ran to completion before the
// lookup's reply arrived: the old entry is served this once but not kept in L1.
TEST_F(LookupTierTest, ALookupOvertakenByAnInvalidationDoesNotFillL1) {
  use({.controlled = true, .l1 = true});
  put(key_, "old");
  controlled_.hold_lookup = true;
  std::optional<LookupResult> found;
  start_lookup(key_, found);
  ASSERT_EQ(controlled_.held(), 1u);
  controlled_.hold_lookup = false;
  EXPECT_TRUE(invalidate(path_and_variants("GET:/a")).erased);

  controlled_.release();
  ASSERT_TRUE(run_until([&] { return found.has_value(); }));
  EXPECT_EQ(found->kind, LookupKind::Hit);
  EXPECT_EQ(found->entry.body, "old");
  EXPECT_FALSE(l1_.get(key_));
  EXPECT_EQ(lookup(key_).kind, LookupKind::Miss);
}

// --- overtaken fills ------------------------------------------------------------------------

// Each invalidation that names the key's path: the path itself, one of its query variants, a
// prefix of it.
class OvertakenFill : public LookupTierTest, public ::testing::WithParamInterface<EraseTarget> {};

TEST_P(OvertakenFill, IsNotStored) {
  use({});
  auto found = lookup(key_);
  ASSERT_TRUE(found.fill);
  EXPECT_TRUE(invalidate({GetParam()}).erased);
  EXPECT_EQ(store(key_, std::move(*found.fill), "predates the write"), StoreResult::Overtaken);
  EXPECT_EQ(stored_body(key_), "(none)");
  EXPECT_EQ(metrics_.snapshot().stores, 0u);
  EXPECT_EQ(lookup(key_).kind, LookupKind::Miss);
}

INSTANTIATE_TEST_SUITE_P(
    LookupTier, OvertakenFill,
    ::testing::Values(EraseTarget{EraseTarget::Kind::PathAndVariants, "GET:/a"},
                      EraseTarget{EraseTarget::Kind::Exact, "GET:/a"},
                      EraseTarget{EraseTarget::Kind::PathAndVariants, "GET:/a?x=1"},
                      EraseTarget{EraseTarget::Kind::Prefix, "GET:/"}));

TEST_F(LookupTierTest, AFillIsKeptWhenTheInvalidationNamesAnotherPath) {
  use({});
  auto found = lookup(key_);
  ASSERT_TRUE(found.fill);
  invalidate(path_and_variants("GET:/b"));
  EXPECT_EQ(store(key_, std::move(*found.fill), "v"), StoreResult::Stored);
  EXPECT_EQ(stored_body(key_), "v");
}

// --- coalescing -------------------------------------------------------------------------------

TEST_F(LookupTierTest, AWaiterGetsTheLeadersStoredEntry) {
  use({.coalesce = true});
  auto leader = lookup(key_);
  ASSERT_EQ(leader.kind, LookupKind::Miss);
  ASSERT_TRUE(leader.fill);
  ASSERT_TRUE(leader.fill->lease);
  std::optional<LookupResult> waiter;
  start_lookup(key_, waiter);
  EXPECT_FALSE(waiter);  // waits for the leader

  EXPECT_EQ(store(key_, std::move(*leader.fill), "shared"), StoreResult::Stored);
  ASSERT_TRUE(run_until([&] { return waiter.has_value(); }));
  EXPECT_EQ(waiter->kind, LookupKind::Collapsed);
  EXPECT_EQ(waiter->entry.body, "shared");
  EXPECT_FALSE(waiter->fill);
}

TEST_F(LookupTierTest, AnOvertakenFillReleasesItsWaitersUnpublished) {
  use({.coalesce = true});
  auto leader = lookup(key_);
  ASSERT_TRUE(leader.fill && leader.fill->lease);
  std::optional<LookupResult> waiter;
  start_lookup(key_, waiter);
  ASSERT_FALSE(waiter);
  invalidate(path_and_variants("GET:/a"));

  EXPECT_EQ(store(key_, std::move(*leader.fill), "predates the write"), StoreResult::Overtaken);
  ASSERT_TRUE(run_until([&] { return waiter.has_value(); }));
  EXPECT_EQ(waiter->kind, LookupKind::Miss);  // fetches for itself
  EXPECT_FALSE(waiter->value);
  ASSERT_TRUE(waiter->fill);
  EXPECT_FALSE(waiter->fill->lease);
  EXPECT_EQ(stored_body(key_), "(none)");
}

TEST_F(LookupTierTest, AFailedFillStillHandsTheEntryToTheWaiters) {
  use({.controlled = true, .coalesce = true});
  auto leader = lookup(key_);
  ASSERT_TRUE(leader.fill && leader.fill->lease);
  std::optional<LookupResult> waiter;
  start_lookup(key_, waiter);
  ASSERT_FALSE(waiter);
  controlled_.fail_fill = true;

  EXPECT_EQ(store(key_, std::move(*leader.fill), "storable"), StoreResult::StoreError);
  ASSERT_TRUE(run_until([&] { return waiter.has_value(); }));
  EXPECT_EQ(waiter->kind, LookupKind::Collapsed);
  EXPECT_EQ(waiter->entry.body, "storable");
  EXPECT_EQ(stored_body(key_), "(none)");
  EXPECT_EQ(metrics_.snapshot().stores, 0u);
  EXPECT_NE(prometheus().find(R"(cachecar_store_errors_total{operation="put"} 1)"),
            std::string::npos);
}

// --- pending invalidations ------------------------------------------------------------------

TEST_F(LookupTierTest, AFailedEraseKeepsItsTargetsPendingAndTheirKeysUncached) {
  use({.controlled = true, .l1 = true});
  put(key_, "old");
  lookup(key_);                    // in L1 too
  auto before = lookup(variant_);  // a fill taken before the write
  ASSERT_TRUE(before.fill);
  controlled_.fail_erase = true;

  const auto done = invalidate(path_and_variants("GET:/a"));
  EXPECT_FALSE(done.erased);
  EXPECT_EQ(pending_.size(), 1u);
  EXPECT_TRUE(pending_.covers(key_));
  EXPECT_NE(prometheus().find(R"(cachecar_store_errors_total{operation="invalidate"} 1)"),
            std::string::npos);
  EXPECT_EQ(stored_body(key_), "old");  // the store still has it: only pending says no

  for (const auto& key : {key_, variant_}) {
    const auto found = lookup(key);
    EXPECT_EQ(found.kind, LookupKind::Miss) << key;
    EXPECT_EQ(found.detail, Detail::PendingInvalidation) << key;
    EXPECT_FALSE(found.fill) << key;
  }
  EXPECT_EQ(store(variant_, std::move(*before.fill), "predates the write"), StoreResult::Overtaken);
  EXPECT_EQ(stored_body(variant_), "(none)");

  // Other paths are not affected.
  const std::string other = "GET:/b host=x";
  auto found = lookup(other);
  ASSERT_TRUE(found.fill);
  EXPECT_EQ(store(other, std::move(*found.fill), "v"), StoreResult::Stored);
}

// --- bypass ---------------------------------------------------------------------------------

TEST_F(LookupTierTest, ABypassServesNothingAndItsFillIsStored) {
  use({.l1 = true});
  put(key_, "old");
  lookup(key_);  // in L1 too
  auto found = lookup(key_, /*bypass=*/true);
  EXPECT_EQ(found.kind, LookupKind::Bypass);
  EXPECT_FALSE(found.value);
  ASSERT_TRUE(found.fill);
  EXPECT_FALSE(found.fill->token.empty());

  EXPECT_EQ(store(key_, std::move(*found.fill), "refreshed"), StoreResult::Stored);
  EXPECT_EQ(stored_body(key_), "refreshed");
}

TEST_F(LookupTierTest, ABypassFillOvertakenByAWriteIsNotStored) {
  use({});
  auto found = lookup(key_, /*bypass=*/true);
  ASSERT_TRUE(found.fill);
  invalidate(path_and_variants("GET:/a"));
  EXPECT_EQ(store(key_, std::move(*found.fill), "predates the write"), StoreResult::Overtaken);
  EXPECT_EQ(stored_body(key_), "(none)");
}

TEST_F(LookupTierTest, ABypassWhileTheKeyIsPendingGetsNoFill) {
  use({.controlled = true});
  controlled_.fail_erase = true;
  invalidate(path_and_variants("GET:/a"));
  const auto found = lookup(key_, /*bypass=*/true);
  EXPECT_EQ(found.kind, LookupKind::Bypass);
  EXPECT_FALSE(found.fill);
}

// --- corrupt entries ------------------------------------------------------------------------

TEST_F(LookupTierTest, ACorruptEntryIsAMissThatMayBeRefilled) {
  use({});
  memory_.put_sync(key_, std::string("not an entry"), kLifetime, "");
  auto found = lookup(key_);
  EXPECT_EQ(found.kind, LookupKind::Miss);
  EXPECT_EQ(found.detail, Detail::None);
  ASSERT_TRUE(found.fill);
  EXPECT_FALSE(found.fill->token.empty());  // read after the decode failed
  EXPECT_NE(prometheus().find(R"(cachecar_store_errors_total{operation="decode"} 1)"),
            std::string::npos);

  EXPECT_EQ(store(key_, std::move(*found.fill), "repaired"), StoreResult::Stored);
  EXPECT_EQ(lookup(key_).entry.body, "repaired");
}

// --- freshness, variants, authorization ---------------------------------------------------

class LookupFreshnessTest : public LookupTierTest {
 protected:
  // An entry received `age` ago, fresh for `lifetime`, with these windows and flags.
  void put_entry(const std::string& key, const std::string& body, std::chrono::milliseconds age,
                 std::chrono::milliseconds lifetime, std::chrono::milliseconds swr = 0ms,
                 std::uint32_t flags = 0) {
    policy::Freshness freshness;
    freshness.request_ms = now_ms_ - age.count();
    freshness.response_ms = freshness.request_ms;
    freshness.lifetime_ms = lifetime.count();
    freshness.stale_while_revalidate_ms = swr.count();
    freshness.flags = flags;
    const policy::HeaderList headers{{"ETag", "\"v1\""}};
    memory_.put_sync(key, policy::encode_entry(freshness, 200, "OK", headers, body), 1h, "");
  }
  LookupResult lookup_with(const std::string& key, const LookupRequest& request) {
    return test::run_awaitable(ctx_, tier_->lookup(key, request));
  }
};

TEST_F(LookupFreshnessTest, AStaleEntryWithoutAWindowIsRevalidatedWithAFillAndKeptAsFallback) {
  use({});
  put_entry(key_, "stale", 10s, 5s, 0ms, policy::kHasValidator);
  auto found = lookup(key_);
  EXPECT_EQ(found.kind, LookupKind::Revalidate);
  ASSERT_TRUE(found.has_entry());
  EXPECT_EQ(found.entry.body, "stale");
  EXPECT_LT(found.reuse.ttl_s, 0);
  ASSERT_TRUE(found.fill);
  EXPECT_FALSE(found.fill->token.empty());
}

TEST_F(LookupFreshnessTest, StaleWhileRevalidateLetsOnlyOneRequestRevalidate) {
  use({.coalesce = true});
  put_entry(key_, "stale", 10s, 5s, 60s, policy::kHasValidator);
  auto first = lookup(key_);
  auto second = lookup(key_);
  EXPECT_EQ(first.kind, LookupKind::Stale);
  EXPECT_EQ(second.kind, LookupKind::Stale);
  EXPECT_EQ(first.entry.body, "stale");
  ASSERT_TRUE(first.fill);  // the background revalidation's permission
  EXPECT_TRUE(first.fill->lease);
  EXPECT_FALSE(second.fill);  // already being revalidated
  first.fill.reset();         // released: the next stale answer may revalidate again
  EXPECT_TRUE(lookup(key_).fill);
}

TEST_F(LookupFreshnessTest, OnlyIfCachedNeitherReadsATokenNorWaits) {
  use({.coalesce = true});
  LookupRequest request;
  request.only_if_cached = true;
  const auto missing = lookup_with(key_, request);
  EXPECT_EQ(missing.kind, LookupKind::Miss);
  EXPECT_FALSE(missing.fill);
  put_entry(key_, "stale", 10s, 5s);
  const auto stale = lookup_with(key_, request);
  EXPECT_EQ(stale.kind, LookupKind::Revalidate);
  EXPECT_FALSE(stale.fill);
}

TEST_F(LookupFreshnessTest, AnAuthorizedRequestIsServedOnlySharedEntries) {
  use({});
  LookupRequest request;
  request.needs_shared_authorization = true;
  put_entry(key_, "for anyone without credentials", 0ms, 60s);
  auto found = lookup_with(key_, request);
  EXPECT_EQ(found.kind, LookupKind::Miss);
  EXPECT_TRUE(found.fill);  // its own answer may replace it, if the origin marks it shareable
  put_entry(key_, "public", 0ms, 60s, 0ms, policy::kSharedWithAuthorization);
  found = lookup_with(key_, request);
  EXPECT_EQ(found.kind, LookupKind::Hit);
  EXPECT_EQ(found.entry.body, "public");
}

TEST_F(LookupFreshnessTest, AClientsNoCacheHonouredMakesAFreshEntryRevalidate) {
  use({.l1 = true});
  put_entry(key_, "fresh", 0ms, 60s);
  ASSERT_EQ(lookup(key_).kind, LookupKind::Hit);
  ASSERT_EQ(lookup(key_).detail, Detail::L1);
  policy::RequestCacheControl client;
  client.no_cache = true;
  LookupRequest request;
  request.client = &client;
  const auto found = lookup_with(key_, request);
  EXPECT_EQ(found.kind, LookupKind::Revalidate);  // not even from L1
  EXPECT_TRUE(found.fill);
}

TEST_F(LookupFreshnessTest, AVariantIndexLeadsToTheRequestsVariant) {
  use({.l1 = true});
  const std::string index = store::encode_variant_index({"origin"}, {" vary=a", " vary=b"});
  memory_.put_sync(key_, index, 1h, "");
  put_entry(key_ + " vary=b", "for b", 0ms, 60s);
  LookupRequest request;
  std::vector<std::string> asked;
  std::string secondary = " vary=b";
  request.secondary_key = [&](const std::vector<std::string>& fields) {
    asked = fields;
    return secondary;
  };
  auto found = lookup_with(key_, request);
  EXPECT_EQ(asked, std::vector<std::string>{"origin"});
  ASSERT_EQ(found.kind, LookupKind::Hit);
  EXPECT_EQ(found.entry.body, "for b");
  EXPECT_EQ(found.stored_key, key_ + " vary=b");
  EXPECT_EQ(lookup_with(key_, request).detail, Detail::L1);  // index and variant in L1
  secondary = " vary=a";  // stored index member, but no entry: a miss filling that variant
  found = lookup_with(key_, request);
  EXPECT_EQ(found.kind, LookupKind::Miss);
  EXPECT_EQ(found.stored_key, key_ + " vary=a");
  EXPECT_TRUE(found.fill);
}

TEST_F(LookupFreshnessTest, StaleWhileRevalidateLetsOnlyOneRequestRevalidateWithoutCoalescing) {
  use({});  // coalesce_wait 0: misses do not wait, but revalidations are still one per key
  put_entry(key_, "stale", 10s, 5s, 60s, policy::kHasValidator);
  auto first = lookup(key_);
  auto second = lookup(key_);
  EXPECT_EQ(second.kind, LookupKind::Stale);
  EXPECT_TRUE(first.fill);
  EXPECT_FALSE(second.fill);
}

TEST_F(LookupFreshnessTest, AnAuthorizedRequestNeverWaitsForAnotherRequestsFill) {
  use({.coalesce = true});
  auto leader = lookup(key_);  // an anonymous miss leads the fill
  ASSERT_TRUE(leader.fill && leader.fill->lease);
  LookupRequest request;
  request.needs_shared_authorization = true;
  std::optional<LookupResult> authorized;
  asio::co_spawn(ctx_, lookup_with_into(*tier_, key_, request, authorized), asio::detached);
  poll();
  ASSERT_TRUE(authorized);  // did not wait for the anonymous answer
  EXPECT_EQ(authorized->kind, LookupKind::Miss);
  ASSERT_TRUE(authorized->fill);
  EXPECT_FALSE(authorized->fill->lease);
}

TEST_F(LookupFreshnessTest, AWaiterIsNotHandedAnEntryThatMustBeRevalidated) {
  use({.coalesce = true});
  auto leader = lookup(key_);
  std::optional<LookupResult> waiter;
  start_lookup(key_, waiter);
  ASSERT_FALSE(waiter);  // waiting for the leader
  policy::Freshness no_cache;
  no_cache.request_ms = now_ms_;
  no_cache.response_ms = now_ms_;
  no_cache.flags = policy::kNoCache | policy::kHasValidator;
  const policy::HeaderList headers{{"ETag", "\"v1\""}};
  std::string bytes = policy::encode_entry(no_cache, 200, "OK", headers, "validate me");
  std::string ns;
  std::vector<std::string> tags;
  const std::optional<store::VariantFill> no_variant;
  ASSERT_EQ(test::run_awaitable(ctx_, tier_->store(key_, no_variant, *leader.fill, std::move(bytes),
                                                   kLifetime, std::move(ns), std::move(tags), 11)),
            StoreResult::Stored);
  ASSERT_TRUE(run_until([&] { return waiter.has_value(); }));
  EXPECT_NE(waiter->kind, LookupKind::Collapsed);  // RFC 9111 §5.2.2.4: validated first
  EXPECT_TRUE(waiter->fill);
}
}  // namespace
}  // namespace cachecar::proxy
