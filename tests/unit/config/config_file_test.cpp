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
TEST(ExampleConfig, LoadsAndDefinesTheDemoRules) {
  const std::string path = std::string(CACHECAR_SOURCE_DIR) + "/config/cachecar.yaml";
  const Config c = load_config_file(path, kNoEnv);
  EXPECT_EQ(c.upstream.address.to_string(), "127.0.0.1:8000");
  EXPECT_TRUE(c.admin.token.empty());
  EXPECT_EQ(c.admin.listen.host, "127.0.0.1");

  policy::Params params;
  const auto* get_user = c.rules.match("GET", "/api/users/42", &params);
  ASSERT_NE(get_user, nullptr);
  EXPECT_TRUE(get_user->ttl.has_value());
  EXPECT_EQ(params, (policy::Params{{"id", "42"}}));

  const auto* put_user = c.rules.match("PUT", "/api/users/42", &params);
  ASSERT_NE(put_user, nullptr);
  ASSERT_FALSE(put_user->invalidate.empty());
  EXPECT_EQ(put_user->invalidate.front().fill(params).key, "GET:/api/users/42");

  const auto* list_posts = c.rules.match("GET", "/api/posts/", nullptr);
  ASSERT_NE(list_posts, nullptr);
  EXPECT_TRUE(list_posts->key_query.has_value());
}

}  // namespace
}  // namespace cachecar::config
