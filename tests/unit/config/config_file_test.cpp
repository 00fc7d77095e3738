#include "config/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cachecar::config {
namespace {

const EnvLookup kNoEnv = [](std::string_view) { return std::optional<std::string>{}; };

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string error_of_file(const std::string& path) {
  try {
    load_config_file(path, kNoEnv);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LoadConfigFile, LoadsAFileAndRemembersItsPath) {
  const auto path = write_temp("cachecar_ok.yaml", "upstream:\n  url: http://h:1\n");
  const Config c = load_config_file(path, kNoEnv);
  EXPECT_EQ(c.source, path);
  EXPECT_EQ(c.upstream.address.to_string(), "h:1");
  std::filesystem::remove(path);
}

TEST(LoadConfigFile, ErrorsNameTheFilePath) {
  const auto path = write_temp("cachecar_bad.yaml", "upstream:\n  url: http://h:1\nthreads: x\n");
  EXPECT_EQ(error_of_file(path).rfind(path + ":3: threads: ", 0), 0U) << error_of_file(path);
  std::filesystem::remove(path);
}

TEST(LoadConfigFile, MissingFileNamesThePath) {
  const std::string path = testing::TempDir() + "does/not/exist.yaml";
  const std::string message = error_of_file(path);
  EXPECT_EQ(message.rfind(path + ": cannot open config file", 0), 0U) << message;
  EXPECT_NE(message.find("No such file"), std::string::npos) << message;
}

TEST(LoadConfigFile, DirectoryIsRejected) {
  const std::string message = error_of_file(testing::TempDir());
  EXPECT_NE(message.find("is a directory"), std::string::npos) << message;
}

TEST(LoadConfigFile, EmptyFileIsAnError) {
  const auto path = write_temp("cachecar_empty.yaml", "");
  EXPECT_NE(error_of_file(path).find("empty configuration"), std::string::npos);
  std::filesystem::remove(path);
}

// The documented example shipped in config/ must always load.
TEST(ExampleConfig, LoadsAndDefinesTheProductApiRules) {
  const std::string path = std::string(CACHECAR_SOURCE_DIR) + "/config/cachecar.yaml";
  const Config c = load_config_file(path, kNoEnv);
  EXPECT_EQ(c.upstream.address.to_string(), "127.0.0.1:8000");
  EXPECT_TRUE(c.admin.token.empty());
  EXPECT_EQ(c.admin.listen.host, "127.0.0.1");

  policy::Params params;
  const auto* get_product = c.rules.match("GET", "/products/42", &params);
  ASSERT_NE(get_product, nullptr);
  EXPECT_EQ(get_product->ttl, std::chrono::seconds(3600));  // CACHE_TTL_SECONDS unset
  EXPECT_EQ(params, (policy::Params{{"id", "42"}}));

  const auto* put_product = c.rules.match("PUT", "/products/42", &params);
  ASSERT_NE(put_product, nullptr);
  ASSERT_EQ(put_product->invalidate.size(), 2u);
  EXPECT_EQ(put_product->invalidate[0].fill(params).key, "GET:/products/42");
  EXPECT_EQ(put_product->invalidate[1].fill(params).key, "GET:/products");

  const auto* list = c.rules.match("GET", "/products", nullptr);
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->key_query, (std::vector<std::string>{"limit", "offset"}));
  // It shows both freshness modes.
  EXPECT_EQ(get_product->freshness, policy::FreshnessMode::Rule);
  EXPECT_EQ(list->freshness, policy::FreshnessMode::Upstream);
  EXPECT_EQ(list->ttl, std::chrono::seconds(60));
  EXPECT_EQ(list->stale_if_error, std::chrono::minutes(5));
  EXPECT_NE(c.rules.match("POST", "/products", nullptr), nullptr);
  EXPECT_NE(c.rules.match("DELETE", "/products/42", nullptr), nullptr);
}

TEST(ExampleConfig, ProductTtlComesFromTheEnvironment) {
  const std::string path = std::string(CACHECAR_SOURCE_DIR) + "/config/cachecar.yaml";
  const Config c = load_config_file(path, [](std::string_view name) -> std::optional<std::string> {
    if (name == "CACHE_TTL_SECONDS") return "120";
    return std::nullopt;
  });
  EXPECT_EQ(c.rules.match("GET", "/products/1", nullptr)->ttl, std::chrono::seconds(120));
}

}  // namespace
}  // namespace cachecar::config
