// POST /invalidate/tag/<tag>: routing, the token, the answer, and a store that fails.
#include "admin/admin.hpp"
#include "admin/routes.hpp"

#include "store/memory_store.hpp"
#include "store/pending_invalidations.hpp"
#include "support/run_awaitable.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace cachecar::admin {
namespace {

namespace http = net::http;
namespace json = boost::json;
using namespace std::chrono_literals;
using Kind = RouteMatch::Kind;

TEST(TagRoute, MatchesPostAndDecodesTheTag) {
  auto m = match_route("POST", "/invalidate/tag/product:42");
  ASSERT_EQ(m.kind, Kind::Matched) << m.error;
  EXPECT_EQ(m.route, Route::InvalidateTag);
  EXPECT_EQ(m.argument, "product:42");
  m = match_route("POST", "/invalidate/tag/product%3A42%2Fx");
  ASSERT_EQ(m.kind, Kind::Matched);
  EXPECT_EQ(m.argument, "product:42/x");
  EXPECT_EQ(to_string(Route::InvalidateTag), "invalidate_tag");
  EXPECT_TRUE(is_state_changing(Route::InvalidateTag));
}

TEST(TagRoute, RefusesWhatIsNotATag) {
  for (const char* target : {"/invalidate/tag/", "/invalidate/tag/a%20b", "/invalidate/tag/a,b",
                             "/invalidate/tag/a%2", "/invalidate/tag/%C3%A9"}) {
    const auto m = match_route("POST", target);
    EXPECT_EQ(m.kind, Kind::BadRequest) << target;
    EXPECT_EQ(m.route, Route::InvalidateTag) << target;
    EXPECT_FALSE(m.error.empty()) << target;
  }
  const std::string too_long = "/invalidate/tag/" + std::string(257, 'a');
  EXPECT_EQ(match_route("POST", too_long).kind, Kind::BadRequest);
}

TEST(TagRoute, OtherMethods) {
  const auto get = match_route("GET", "/invalidate/tag/a");
  EXPECT_EQ(get.kind, Kind::MethodNotAllowed);
  EXPECT_EQ(get.allow, "POST, DELETE");
  // DELETE keeps meaning a key invalidation (no logical key starts with "tag/").
  const auto del = match_route("DELETE", "/invalidate/tag/a");
  EXPECT_EQ(del.kind, Kind::Matched);
  EXPECT_EQ(del.route, Route::Invalidate);
  EXPECT_EQ(del.argument, "tag/a");
}

// A store whose erase fails (a Redis that does not answer); the rest is a MemoryStore.
class FailingEraseStore final : public store::CacheStore {
 public:
  boost::asio::awaitable<result<store::Value>> get(std::string key) override {
    return inner.get(std::move(key));
  }
  boost::asio::awaitable<result<store::Lookup>> lookup_for_fill(std::string key) override {
    return inner.lookup_for_fill(std::move(key));
  }
  boost::asio::awaitable<result<store::FillToken>> read_fill_token(std::string key) override {
    return inner.read_fill_token(std::move(key));
  }
  boost::asio::awaitable<boost::system::error_code> put(std::string key, std::string value,
                                                        std::chrono::milliseconds ttl,
                                                        std::string ns,
                                                        std::vector<std::string> tags) override {
    return inner.put(std::move(key), std::move(value), ttl, std::move(ns), std::move(tags));
  }
  boost::asio::awaitable<boost::system::error_code> fill(std::string key, std::string value,
                                                         std::chrono::milliseconds ttl,
                                                         std::string ns, store::FillToken token,
                                                         std::vector<std::string> tags) override {
    return inner.fill(std::move(key), std::move(value), ttl, std::move(ns), std::move(token),
                      std::move(tags));
  }
  boost::asio::awaitable<boost::system::error_code> fill_variant(
      store::VariantFill variant, std::string value, std::chrono::milliseconds ttl, std::string ns,
      store::FillToken token, std::vector<std::string> tags) override {
    return inner.fill_variant(std::move(variant), std::move(value), ttl, std::move(ns),
                              std::move(token), std::move(tags));
  }
  boost::asio::awaitable<result<std::uint64_t>> erase(std::vector<store::EraseTarget>) override {
    co_return result<std::uint64_t>(make_error_code(errc::timeout));
  }
  boost::asio::awaitable<result<std::uint64_t>> clear(std::optional<std::string> ns) override {
    return inner.clear(std::move(ns));
  }
  boost::asio::awaitable<result<std::uint64_t>> count() override { return inner.count(); }
  boost::asio::awaitable<result<std::chrono::microseconds>> ping() override { return inner.ping(); }
  store::StoreHealth health() const override { return inner.health(); }
  std::string_view kind() const noexcept override { return "redis"; }

  store::MemoryStore inner{1 << 20};
};

struct Fixture {
  explicit Fixture(store::CacheStore& store, std::string token = {}) {
    AdminOptions options;
    options.token = std::move(token);
    AdminDependencies deps;
    deps.store = &store;
    deps.metrics = &metrics;
    deps.pending = &pending;
    service = std::make_unique<AdminService>(std::move(options), std::move(deps));
  }

  net::SimpleResponse call(http::verb method, std::string target, std::string authorization = {},
                           std::string origin = {}) {
    net::SimpleRequest request;
    request.message = http::request<http::string_body>(method, target, 11);
    if (!authorization.empty()) request.message.set(http::field::authorization, authorization);
    if (!origin.empty()) request.message.set(http::field::origin, origin);
    request.remote = net::tcp::endpoint(net::asio::ip::make_address("127.0.0.1"), 40000);
    return test::run_awaitable(context, service->handle(request));
  }

  json::value body(const net::SimpleResponse& response) { return json::parse(response.body()); }

  boost::asio::io_context context;
  metrics::Metrics metrics;
  store::PendingInvalidations pending{100};
  std::unique_ptr<AdminService> service;
};

std::string sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  const auto start = at + series.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

TEST(TagPurge, NeedsTheTokenAndNoWebPage) {
  store::MemoryStore store{1 << 20};
  Fixture guarded(store, "s3cret");
  EXPECT_EQ(guarded.call(http::verb::post, "/invalidate/tag/a").result_int(), 401);
  EXPECT_EQ(guarded.call(http::verb::post, "/invalidate/tag/a", "Bearer no").result_int(), 401);
  EXPECT_EQ(guarded.call(http::verb::post, "/invalidate/tag/a", "Bearer s3cret").result_int(), 200);
  Fixture open(store);
  EXPECT_EQ(
      open.call(http::verb::post, "/invalidate/tag/a", {}, "http://evil.example").result_int(),
      403);
  // The token is checked before the tag: a 400 tells nothing to who has no token.
  EXPECT_EQ(guarded.call(http::verb::post, "/invalidate/tag/a%20b").result_int(), 401);
  const auto bad = guarded.call(http::verb::post, "/invalidate/tag/a%20b", "Bearer s3cret");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_EQ(guarded.body(bad).at("error"), "bad_request");
}

TEST(TagPurge, AnswersWithTheCountAndTheTag) {
  store::MemoryStore store{1 << 20};
  Fixture f(store);
  store.put_sync("GET:/p/1", "v", 60s, "", {"product:1", "products"});
  store.put_sync("GET:/p/1?x=1", "v", 60s, "", {"product:1"});
  store.put_sync("GET:/p/2", "v", 60s, "", {"product:2", "products"});
  auto r = f.call(http::verb::post, "/invalidate/tag/product%3A1");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(f.body(r), json::parse(R"({"deleted": 2, "tag": "product:1"})"));
  EXPECT_FALSE(store.get_sync("GET:/p/1"));
  EXPECT_TRUE(store.get_sync("GET:/p/2"));
  // Nothing left with it: still a success, 0 deleted (a purge is idempotent).
  r = f.call(http::verb::post, "/invalidate/tag/product:1");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(f.body(r), json::parse(R"({"deleted": 0, "tag": "product:1"})"));
  const auto text = f.metrics.prometheus_text({});
  EXPECT_EQ(sample(text, R"(cachecar_tag_purges_total{source="admin"})"), "2");
  EXPECT_EQ(f.metrics.cache_stats().invalidations, 2u);
}

TEST(TagPurge, AStoreFailureIs503AndTheTagStaysPending) {
  FailingEraseStore store;
  Fixture f(store);
  const auto r = f.call(http::verb::post, "/invalidate/tag/products");
  EXPECT_EQ(r.result_int(), 503);
  const auto body = f.body(r);
  EXPECT_EQ(body.at("error"), "store_unavailable");
  EXPECT_NE(std::string(body.at("detail").as_string()).find("kept pending"), std::string::npos)
      << body;
  // Until a replay completes it, nothing is served from the store (a tag names any key).
  EXPECT_EQ(f.pending.size(), 1u);
  EXPECT_TRUE(f.pending.covers("GET:/anything"));
  const auto batch = f.pending.next_batch();
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->targets.size(), 1u);
  EXPECT_EQ(batch->targets[0].kind, store::EraseTarget::Kind::Tag);
  EXPECT_EQ(batch->targets[0].key, "products");
  EXPECT_EQ(sample(f.metrics.prometheus_text({}), "cachecar_invalidations_failed_total"), "1");
}

}  // namespace
}  // namespace cachecar::admin
