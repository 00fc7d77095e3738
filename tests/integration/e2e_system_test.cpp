// The user stories of the full system with real processes: redis-server, product-api and
// cachecar (with the shipped config/cachecar.yaml) on free loopback ports.
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <filesystem>

namespace cachecar::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

bool accepts_connections(std::uint16_t port) {
  try {
    HttpClient client(port, std::chrono::seconds(1));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

class SystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cachecar-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
    backend_port_ = free_port();
    start_backend();
    proxy_port_ = free_port();
    admin_port_ = free_port();
    cachecar_.emplace(
        std::vector<std::string>{CACHECAR_BINARY_PATH, "--config",
                                 std::string(CACHECAR_SOURCE_DIR) + "/config/cachecar.yaml"},
        ChildProcess::Env{
            {"CACHECAR_LISTEN", "127.0.0.1:" + std::to_string(proxy_port_)},
            {"CACHECAR_ADMIN_LISTEN", "127.0.0.1:" + std::to_string(admin_port_)},
            {"CACHECAR_UPSTREAM_URL", "http://127.0.0.1:" + std::to_string(backend_port_)},
            {"CACHECAR_REDIS_URL", "redis://127.0.0.1:" + std::to_string(redis_.port()) + "/0"},
            {"CACHECAR_LOG_LEVEL", "warn"}},
        dir_ / "cachecar.log");
    ASSERT_TRUE(
        wait_until([&] { return accepts_connections(proxy_port_); }, std::chrono::seconds(10)))
        << cachecar_->log();
  }

  void TearDown() override {
    cachecar_.reset();
    backend_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void start_backend() {
    backend_.emplace(std::vector<std::string>{PRODUCT_API_BINARY_PATH, "--listen",
                                              "127.0.0.1:" + std::to_string(backend_port_), "--db",
                                              (dir_ / "products.db").string()},
                     ChildProcess::Env{}, dir_ / "product-api.log");
    ASSERT_TRUE(
        wait_until([&] { return accepts_connections(backend_port_); }, std::chrono::seconds(10)))
        << backend_->log();
  }

  HttpResponse proxy(const std::string& method, const std::string& target,
                     const std::string& body = {}) {
    return http_request(proxy_port_, method, target, {{"Content-Type", "application/json"}}, body);
  }
  HttpResponse backend(const std::string& method, const std::string& target,
                       const std::string& body = {}) {
    return http_request(backend_port_, method, target, {{"Content-Type", "application/json"}},
                        body);
  }
  HttpResponse admin(const std::string& method, const std::string& target) {
    return http_request(admin_port_, method, target);
  }

  std::string create_product(const std::string& name, double price) {
    auto created = proxy("POST", "/products",
                         "{\"name\": \"" + name + "\", \"price\": " + std::to_string(price) +
                             ", \"stock_quantity\": 5}");
    EXPECT_EQ(created.status, 201) << created.body;
    return json::parse(created.body).as_object().at("id").as_string().c_str();
  }

  static bool list_contains(const HttpResponse& list, const std::string& id) {
    const json::value parsed = json::parse(list.body);  // must outlive the loop
    for (const auto& item : parsed.as_array()) {
      if (item.as_object().at("id").as_string() == id) return true;
    }
    return false;
  }

  static inline int counter_ = 0;
  fs::path dir_;
  RedisServer redis_;
  std::uint16_t backend_port_ = 0, proxy_port_ = 0, admin_port_ = 0;
  std::optional<ChildProcess> backend_;
  std::optional<ChildProcess> cachecar_;
};

TEST_F(SystemTest, ProductLifecycleThroughTheCache) {
  ASSERT_EQ(proxy("GET", "/products").header("X-Cache"), "MISS");
  const auto id = create_product("Desk lamp", 24.5);
  const auto path = "/products/" + id;

  // The create invalidated the list: it shows the new product at once.
  auto list = proxy("GET", "/products");
  EXPECT_EQ(list.header("X-Cache"), "MISS");
  EXPECT_TRUE(list_contains(list, id));

  auto miss = proxy("GET", path);
  EXPECT_EQ(miss.status, 200);
  EXPECT_EQ(miss.header("X-Cache"), "MISS");
  auto hit = proxy("GET", path);
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(hit.body, miss.body);

  auto updated = proxy("PUT", path, "{\"price\": 19.99}");
  EXPECT_EQ(updated.status, 200);
  auto after_update = proxy("GET", path);
  EXPECT_EQ(after_update.header("X-Cache"), "MISS");
  EXPECT_EQ(json::parse(after_update.body).as_object().at("price").to_number<double>(), 19.99);

  ASSERT_TRUE(list_contains(proxy("GET", "/products"), id));
  EXPECT_EQ(proxy("DELETE", path).status, 204);
  auto gone = proxy("GET", path);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, "{\"detail\":\"Product with id '" + id + "' not found\"}");
  EXPECT_EQ(proxy("GET", path).header("X-Cache"), "MISS");  // the 404 was not cached
  auto final_list = proxy("GET", "/products");
  EXPECT_FALSE(list_contains(final_list, id))
      << final_list.header("X-Cache") << " " << final_list.header("Cache-Status");
}

TEST_F(SystemTest, BypassAndAdminInvalidationReachTheBackend) {
  const auto id = create_product("Chair", 80);
  const auto path = "/products/" + id;
  proxy("GET", path);
  ASSERT_EQ(proxy("GET", path).header("X-Cache"), "HIT");

  // Change the product behind cachecar's back: only a bypass or a purge can see it.
  ASSERT_EQ(backend("PUT", path, "{\"name\": \"Armchair\"}").status, 200);
  EXPECT_EQ(json::parse(proxy("GET", path).body).as_object().at("name").as_string(), "Chair");
  auto bypass = proxy("GET", path + "?nocache=true");
  EXPECT_EQ(bypass.header("X-Cache"), "BYPASS");
  EXPECT_EQ(json::parse(bypass.body).as_object().at("name").as_string(), "Armchair");

  ASSERT_EQ(backend("PUT", path, "{\"name\": \"Stool\"}").status, 200);
  auto purge = admin("DELETE", "/invalidate/GET:" + path);
  EXPECT_EQ(purge.status, 200) << purge.body;
  auto after_purge = proxy("GET", path);
  EXPECT_EQ(after_purge.header("X-Cache"), "MISS");
  EXPECT_EQ(json::parse(after_purge.body).as_object().at("name").as_string(), "Stool");

  // Counters are updated right after each response is written, so await the last one.
  json::object counters;
  ASSERT_TRUE(wait_until(
      [&] {
        auto stats = admin("GET", "/metrics/cache");
        if (stats.status != 200) return false;
        counters = json::parse(stats.body).as_object();
        return counters.at("hits").to_number<int>() + counters.at("misses").to_number<int>() +
                   counters.at("bypasses").to_number<int>() >=
               5;
      },
      std::chrono::seconds(5)));
  // Lookups: MISS, HIT, HIT (stale name), MISS after the purge; one bypass.
  EXPECT_EQ(counters.at("hits").to_number<int>(), 2);
  EXPECT_EQ(counters.at("misses").to_number<int>(), 2);
  EXPECT_EQ(counters.at("bypasses").to_number<int>(), 1);
}

TEST_F(SystemTest, BackendValidationAndErrorsPassThroughUnchanged) {
  const std::string invalid = "{\"name\": \"\", \"price\": 0, \"color\": \"red\"}";
  auto through_proxy = proxy("POST", "/products", invalid);
  auto direct = backend("POST", "/products", invalid);
  EXPECT_EQ(through_proxy.status, 422);
  EXPECT_EQ(through_proxy.body, direct.body);
  EXPECT_EQ(proxy("POST", "/products", "{not json").status, 400);
  auto missing = proxy("GET", "/products/does-not-exist");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, backend("GET", "/products/does-not-exist").body);
  EXPECT_EQ(proxy("GET", "/products?limit=0").status, 422);
}

TEST_F(SystemTest, BackendDownMissesGet502AndHitsStillServe) {
  const auto id = create_product("Shelf", 45);
  proxy("GET", "/products/" + id);
  ASSERT_EQ(proxy("GET", "/products/" + id).header("X-Cache"), "HIT");
  backend_->stop();
  auto hit = proxy("GET", "/products/" + id);
  EXPECT_EQ(hit.status, 200);
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  auto miss = proxy("GET", "/products?limit=3");
  EXPECT_EQ(miss.status, 502);
  EXPECT_EQ(proxy("POST", "/products", "{}").status, 502);
}

}  // namespace
}  // namespace cachecar::test

namespace cachecar::test {
namespace {

TEST_F(SystemTest, BothServersStopCleanlyOnSigtermWithConnectionsOpen) {
  HttpClient to_proxy(proxy_port_);
  HttpClient to_backend(backend_port_);
  EXPECT_EQ(to_proxy.get("/products?limit=1").status, 200);
  EXPECT_EQ(to_backend.get("/products?limit=1").status, 200);
  // Both connections are now idle keep-alive connections.
  EXPECT_EQ(cachecar_->stop(), 0) << cachecar_->log();
  EXPECT_EQ(backend_->stop(), 0) << backend_->log();
}

}  // namespace
}  // namespace cachecar::test
