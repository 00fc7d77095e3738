// The cachecar binary's command line: exit codes and messages a user sees.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult run(const std::string& args) {
  const std::string command = std::string(CACHECAR_BINARY_PATH) + " " + args + " 2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  while (auto n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("cachecar-cli-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(CliTest, VersionAndHelp) {
  auto version = run("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.output.rfind("cachecar ", 0), 0u) << version.output;
  auto help = run("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--check-config"), std::string::npos);
}

TEST(CliTest, UnknownArgumentIsAUsageError) {
  auto result = run("--bogus");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("--bogus"), std::string::npos);
}

TEST(CliTest, CheckConfigAcceptsTheShippedExample) {
  auto result =
      run("--config " + std::string(CACHECAR_SOURCE_DIR) + "/config/cachecar.yaml --check-config");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("configuration OK"), std::string::npos) << result.output;
}

TEST(CliTest, CheckConfigRejectsABadFieldNamingIt) {
  auto path = write_temp("bad.yaml",
                         "upstream:\n  url: \"http://127.0.0.1:8000\"\n"
                         "rules:\n  - match: \"GET /a/{id}\"\n    ttl: soon\n");
  auto result = run("--config " + path + " --check-config");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("rules[0].ttl"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(":5"), std::string::npos) << result.output;
  std::filesystem::remove(path);
}

TEST(CliTest, CheckConfigKnowsTheHttpCachingKeys) {
  const std::string head =
      "upstream:\n  url: \"http://127.0.0.1:8000\"\n"
      "cache:\n  keep: 30m\n  max_stale: 10m\n"
      "rules:\n  - match: \"GET /a/{id}\"\n    freshness: upstream\n    heuristic: true\n"
      "    client_cache_control: honor\n    max_variants: 16\n";
  auto good = write_temp("http-caching.yaml", head + "    stale_if_error: 10m\n");
  auto accepted = run("--config " + good + " --check-config");
  EXPECT_EQ(accepted.exit_code, 0) << accepted.output;
  std::filesystem::remove(good);

  auto bad = write_temp("http-caching-bad.yaml", head + "    stale_while_revalidate: 1h\n");
  auto rejected = run("--config " + bad + " --check-config");
  EXPECT_EQ(rejected.exit_code, 1);
  EXPECT_NE(rejected.output.find(":12: rules[0].stale_while_revalidate: 1h is greater than "
                                 "cache.max_stale (10m)"),
            std::string::npos)
      << rejected.output;
  std::filesystem::remove(bad);
}

TEST(CliTest, StartingWithABadConfigFailsWithExitCode1) {
  auto path =
      write_temp("unknown.yaml", "upstream:\n  url: \"http://127.0.0.1:8000\"\nlisten_port: 80\n");
  auto result = run("--config " + path);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("listen_port"), std::string::npos) << result.output;
  std::filesystem::remove(path);
}

TEST(CliTest, MissingConfigFileIsReported) {
  auto result = run("--config /nonexistent/cachecar.yaml --check-config");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("/nonexistent/cachecar.yaml"), std::string::npos);
}

}  // namespace
