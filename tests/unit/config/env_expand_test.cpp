#include "config/env_expand.hpp"

#include <gtest/gtest.h>

#include <map>

namespace cachecar::config {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string expand(std::string_view text, std::map<std::string, std::string> vars = {}) {
  return expand_env_references(text, "t.yaml", env_of(std::move(vars)));
}

TEST(EnvExpandTest, ReplacesSetVariables) {
  EXPECT_EQ(expand("ttl: ${TTL}\n", {{"TTL", "90s"}}), "ttl: 90s\n");
  EXPECT_EQ(expand("url: \"redis://${HOST}:6379\"", {{"HOST", "cache"}}),
            "url: \"redis://cache:6379\"");
}

TEST(EnvExpandTest, DefaultAppliesOnlyWhenUnset) {
  EXPECT_EQ(expand("ttl: ${CACHE_TTL_SECONDS:-3600}"), "ttl: 3600");
  EXPECT_EQ(expand("ttl: ${CACHE_TTL_SECONDS:-3600}", {{"CACHE_TTL_SECONDS", "5"}}), "ttl: 5");
  EXPECT_EQ(expand("token: \"${TOKEN:-}\""), "token: \"\"");
}

TEST(EnvExpandTest, TextWithoutReferencesIsUnchanged) {
  const std::string text = "a: $b\nc: \"$ {x}\"\nprice: 5$\n";
  EXPECT_EQ(expand(text), text);
}

TEST(EnvExpandTest, DoubleDollarIsALiteral) {
  EXPECT_EQ(expand("a: $${X}"), "a: ${X}");
}

TEST(EnvExpandTest, CommentsAreLeftAlone) {
  EXPECT_EQ(expand("a: 1  # uses ${UNSET}\n# ${ALSO_UNSET}\n"),
            "a: 1  # uses ${UNSET}\n# ${ALSO_UNSET}\n");
  EXPECT_EQ(expand("a: \"x # ${V}\"", {{"V", "y"}}), "a: \"x # y\"");
}

TEST(EnvExpandTest, UnsetVariableWithoutDefaultNamesItAndTheLine) {
  try {
    expand("a: 1\nttl: ${MISSING}\n");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("t.yaml:2: ", 0), 0u) << message;
    EXPECT_NE(message.find("MISSING"), std::string::npos) << message;
  }
}

TEST(EnvExpandTest, MalformedReferencesAreErrors) {
  EXPECT_THROW(expand("a: ${UNTERMINATED\n"), ConfigError);
  EXPECT_THROW(expand("a: ${9BAD}"), ConfigError);
  EXPECT_THROW(expand("a: ${X-1}"), ConfigError);
}

TEST(EnvExpandTest, LoadedConfigSeesExpandedValues) {
  const auto config = load_config_text(
      "upstream:\n  url: \"${UP:-http://127.0.0.1:9000}\"\nrules:\n"
      "  - match: \"GET /p/{id}\"\n    ttl: ${CACHE_TTL_SECONDS:-3600}\n",
      "t.yaml", env_of({}));
  EXPECT_EQ(config.upstream.address.port, 9000);
  ASSERT_EQ(config.rules.rules().size(), 1u);
  EXPECT_EQ(config.rules.rules()[0].ttl, std::chrono::seconds(3600));
}

}  // namespace
}  // namespace cachecar::config

namespace cachecar::config {
namespace {

const char* kBase = "upstream:\n  url: \"http://127.0.0.1:9000\"\n";

TEST(CacheTiersConfigTest, L1AndCoalescingDefaultsAndValues) {
  const auto defaults = load_config_text(kBase, "t.yaml", env_of({}));
  EXPECT_FALSE(defaults.l1.enabled);
  EXPECT_EQ(defaults.coalesce_wait, std::chrono::seconds(5));
  const auto set = load_config_text(std::string(kBase) +
                                        "cache:\n  coalesce_wait: 0\n  l1:\n    enabled: true\n"
                                        "    max_bytes: 8MiB\n    max_ttl: 2s\n",
                                    "t.yaml", env_of({}));
  EXPECT_TRUE(set.l1.enabled);
  EXPECT_EQ(set.l1.max_bytes, 8u << 20);
  EXPECT_EQ(set.l1.max_ttl, std::chrono::seconds(2));
  EXPECT_EQ(set.coalesce_wait, std::chrono::milliseconds(0));
}

TEST(CacheTiersConfigTest, L1ErrorsNameTheField) {
  auto message = [](const std::string& yaml) {
    try {
      load_config_text(std::string(kBase) + yaml, "t.yaml", env_of({}));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("cache:\n  l1:\n    size: 1\n").find("cache.l1"), std::string::npos);
  EXPECT_NE(message("cache:\n  l1:\n    max_bytes: 0\n").find("cache.l1.max_bytes"),
            std::string::npos);
  EXPECT_NE(message("redis:\n  url: \"memory://\"\ncache:\n  l1:\n    enabled: true\n")
                .find("cache.l1.enabled"),
            std::string::npos);
}

}  // namespace
}  // namespace cachecar::config
