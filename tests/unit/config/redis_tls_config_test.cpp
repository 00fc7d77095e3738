// redis.tls, ACL users and the secrets kept outside the YAML (CACHECAR_REDIS_PASSWORD,
// redis.password_file): what they set, which one wins, and the errors --check-config gives.
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace cachecar::config {
namespace {

EnvLookup env_of(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const std::string kUp = "upstream:\n  url: http://h:1\n";

// A temp directory with files written by the test.
class RedisSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "cc-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string file(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  Config load(const std::string& yaml, const EnvLookup& env = env_of({})) {
    return load_config_text(kUp + yaml, "test.yaml", env);
  }
  std::string error_of(const std::string& yaml, const EnvLookup& env = env_of({})) {
    try {
      load(yaml, env);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }

  std::filesystem::path dir_;
};

TEST_F(RedisSecretsTest, RedissWithEveryTlsSetting) {
  const auto ca = file("ca.pem", "x");
  const auto cert = file("client.pem", "x");
  const auto key = file("client.key", "x");
  const auto c =
      load("redis:\n  url: rediss://cc:pw@redis.internal:6380/2\n  tls:\n    ca_file: " + ca +
           "\n    cert_file: " + cert + "\n    key_file: " + key +
           "\n    verify: false\n    server_name: redis.example.com\n");
  EXPECT_TRUE(c.store.tls.enabled);
  EXPECT_EQ(c.store.tls.ca_file, ca);
  EXPECT_EQ(c.store.tls.cert_file, cert);
  EXPECT_EQ(c.store.tls.key_file, key);
  EXPECT_FALSE(c.store.tls.verify);
  EXPECT_EQ(c.store.tls.server_name, "redis.example.com");
  EXPECT_EQ(c.store.user, "cc");
  EXPECT_EQ(c.store.password, "pw");
  EXPECT_EQ(c.store.db, 2);
}

TEST_F(RedisSecretsTest, RedissAloneVerifiesAgainstTheSystemCas) {
  const auto c = load("redis:\n  url: rediss://h\n");
  EXPECT_TRUE(c.store.tls.enabled);
  EXPECT_TRUE(c.store.tls.verify);
  EXPECT_EQ(c.store.tls.ca_file, "");
  EXPECT_FALSE(load("redis:\n  url: redis://h\n").store.tls.enabled);
}

TEST_F(RedisSecretsTest, PasswordFileReplacesTheUrlsPasswordAndKeepsItsUser) {
  const auto path = file("pw", "from-file\n");
  const auto c = load("redis:\n  url: redis://cc:from-url@h\n  password_file: " + path + "\n");
  EXPECT_EQ(c.store.user, "cc");
  EXPECT_EQ(c.store.password, "from-file");  // the trailing newline is not part of it
  EXPECT_EQ(load("redis:\n  url: redis://h\n  password_file: " + file("crlf", "p w\r\n") + "\n")
                .store.password,
            "p w");
  EXPECT_EQ(load("redis:\n  url: redis://h\n  password_file: " + file("bare", "bare") + "\n")
                .store.password,
            "bare");
}

TEST_F(RedisSecretsTest, EnvironmentPasswordWinsOverFileAndUrl) {
  const auto path = file("pw", "from-file\n");
  const auto env = env_of({{"CACHECAR_REDIS_PASSWORD", "from-env"}});
  auto c = load("redis:\n  url: redis://cc:from-url@h\n  password_file: " + path + "\n", env);
  EXPECT_EQ(c.store.user, "cc");
  EXPECT_EQ(c.store.password, "from-env");
  c = load("redis:\n  url: redis://cc@h\n", env);  // a user whose password is only in the env
  EXPECT_EQ(c.store.password, "from-env");
  c = load("redis:\n  url: redis://h\n", env);  // the default user
  EXPECT_EQ(c.store.user, "");
  EXPECT_EQ(c.store.password, "from-env");
}

TEST_F(RedisSecretsTest, Errors) {
  const std::string missing = (dir_ / "missing.pem").string();
  struct Case {
    std::string yaml;
    std::string prefix;   // "test.yaml:<line>: <field>: "
    std::string message;  // part of what follows
  };
  const std::vector<Case> cases = {
      {"redis:\n  url: redis://h\n  tls:\n    verify: true\n",
       "test.yaml:5: redis.tls: ", "TLS settings need a rediss:// URL"},
      {"redis:\n  url: rediss://h\n  tls:\n    ca_file: " + missing + "\n",
       "test.yaml:6: redis.tls.ca_file: ", "cannot read '" + missing + "': No such file"},
      {"redis:\n  url: rediss://h\n  tls:\n    ca_file: " + dir_.string() + "\n",
       "test.yaml:6: redis.tls.ca_file: ", "is a directory"},
      {"redis:\n  url: rediss://h\n  tls:\n    cert_file: " + file("c.pem", "x") + "\n",
       "test.yaml:5: redis.tls.key_file: ", "cert_file and key_file go together"},
      {"redis:\n  url: rediss://h\n  tls:\n    verify: maybe\n",
       "test.yaml:6: redis.tls.verify: ", ""},
      {"redis:\n  url: rediss://h\n  tls:\n    server_name: \"a b\"\n",
       "test.yaml:6: redis.tls.server_name: ", "expected a host name"},
      {"redis:\n  url: rediss://h\n  tls:\n    sni: h\n", "test.yaml:6: redis.tls.sni: ",
       "allowed keys: ca_file, cert_file, key_file, verify, server_name"},
      {"redis:\n  url: redis://h\n  password_file: " + missing + "\n",
       "test.yaml:5: redis.password_file: ", "cannot read"},
      {"redis:\n  url: redis://h\n  password_file: " + file("two", "a\nb\n") + "\n",
       "test.yaml:5: redis.password_file: ", "one line"},
      {"redis:\n  url: redis://h\n  password_file: " + file("empty", "\n") + "\n",
       "test.yaml:5: redis.password_file: ", "is empty"},
      {"redis:\n  url: memory://\n  password_file: " + file("pw", "x") + "\n",
       "test.yaml:5: redis.password_file: ", "memory:// takes no password"},
      {"redis:\n  url: redis://cc@h\n",
       "test.yaml:3: redis.url: ", "the user 'cc' needs a password"},
  };
  for (const auto& c : cases) {
    const auto message = error_of(c.yaml);
    EXPECT_EQ(message.substr(0, c.prefix.size()), c.prefix) << c.yaml << "\n" << message;
    EXPECT_NE(message.find(c.message), std::string::npos) << c.yaml << "\n" << message;
  }
}

TEST_F(RedisSecretsTest, NoErrorEchoesAPassword) {
  const auto env = env_of({{"CACHECAR_REDIS_PASSWORD", ""}});
  const auto message = error_of("redis:\n  url: redis://cc:hunter2@h\n", env);
  EXPECT_NE(message.find("CACHECAR_REDIS_PASSWORD"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  const auto file_message =
      error_of("redis:\n  url: redis://h\n  password_file: " + file("two", "hunter2\nx") + "\n");
  EXPECT_EQ(file_message.find("hunter2"), std::string::npos) << file_message;
}

}  // namespace
}  // namespace cachecar::config
