// Admin API security: the bearer token over real sockets, the refusal to start on a public
// address without one (the real binary), and the admin action log.
#include "integration/harness.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cachecar::test {
namespace {

namespace json = boost::json;

const std::string kRules =
    "  - match: \"GET /api/items/{id}\"\n"
    "    ttl: 60s\n"
    "  - match: \"GET /api/users/{id}\"\n"
    "    ttl: 60s\n"
    "    namespace: users\n";
const std::string kToken = "s3cret-t0ken";

HarnessOptions with_token() {
  return HarnessOptions{.rules = kRules, .admin = "  token: \"" + kToken + "\"\n"};
}

Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

struct StateChangingRoute {
  const char* method;
  const char* target;
};
constexpr std::array<StateChangingRoute, 4> kStateChanging{{
    {"DELETE", "/invalidate/GET:/api/items/1"},
    {"DELETE", "/cache/clear"},
    {"POST", "/cache/clear/users"},
    {"POST", "/cache/reset-stats"},
}};

TEST(AdminSecurityTest, TokenRequiredForEveryStateChangingRoute) {
  Harness h{with_token()};
  ASSERT_EQ(h.get("/api/items/1").status, 200);
  ASSERT_TRUE(h.redis_has("GET:/api/items/1"));
  for (const auto& route : kStateChanging) {
    auto missing = h.admin(route.method, route.target);
    EXPECT_EQ(missing.status, 401) << route.target;
    EXPECT_EQ(missing.header("WWW-Authenticate"), "Bearer realm=\"cachecar-admin\"");
    EXPECT_EQ(json::parse(missing.body).at("error"), "unauthorized");
    EXPECT_EQ(h.admin(route.method, route.target, bearer("wrong")).status, 401) << route.target;
    EXPECT_EQ(h.admin(route.method, route.target, bearer(kToken + "x")).status, 401);
    EXPECT_EQ(h.admin(route.method, route.target, {{"Authorization", "Basic " + kToken}}).status,
              401);
  }
  EXPECT_TRUE(h.redis_has("GET:/api/items/1"));  // nothing was deleted
  EXPECT_EQ(json::parse(h.admin("GET", "/metrics/cache").body).at("misses"), 1);  // nor reset
}

TEST(AdminSecurityTest, TheRightTokenIsAccepted) {
  Harness h{with_token()};
  ASSERT_EQ(h.get("/api/items/1").status, 200);
  ASSERT_TRUE(h.redis_has("GET:/api/items/1"));
  auto deleted = h.admin("DELETE", "/invalidate/GET:/api/items/1", bearer(kToken));
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(json::parse(deleted.body), json::parse(R"({"deleted": 1})"));
  EXPECT_FALSE(h.redis_has("GET:/api/items/1"));
  EXPECT_EQ(h.admin("DELETE", "/cache/clear", bearer(kToken)).status, 200);
  EXPECT_EQ(h.admin("POST", "/cache/clear/users", bearer(kToken)).status, 200);
  EXPECT_EQ(h.admin("POST", "/cache/reset-stats", {{"authorization", "bearer " + kToken}}).status,
            200);
}

TEST(AdminSecurityTest, ReadOnlyRoutesStayOpenWithAToken) {
  Harness h{with_token()};
  for (const char* target : {"/metrics", "/metrics/cache", "/health", "/cache/ping"}) {
    EXPECT_EQ(h.admin("GET", target).status, 200) << target;
  }
}

TEST(AdminSecurityTest, WithoutATokenOnLoopbackEverythingIsOpen) {
  Harness h{HarnessOptions{.rules = kRules}};
  EXPECT_EQ(h.admin("POST", "/cache/reset-stats").status, 200);
  EXPECT_EQ(h.admin("DELETE", "/cache/clear").status, 200);
}

// --- the real binary -------------------------------------------------------------------------

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs the cachecar binary (bounded by `timeout`, so a wrongly started server cannot hang the
// test) with `env` prepended.
CommandResult run_cachecar(const std::string& env, const std::string& args) {
  const std::string command =
      env + " timeout 20 " + std::string(CACHECAR_BINARY_PATH) + " " + args + " 2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  while (auto n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    result.output.append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string write_config(const std::string& name, const std::string& admin_section) {
  auto path = std::filesystem::temp_directory_path() /
              ("cachecar-admin-" + std::to_string(::getpid()) + "-" + name + ".yaml");
  std::ofstream(path) << "listen: \"127.0.0.1:0\"\n"
                         "threads: 1\n"
                         "upstream:\n  url: \"http://127.0.0.1:9\"\n"
                         "redis:\n  url: \"memory://\"\n"
                      << admin_section << "rules: []\n";
  return path.string();
}

TEST(AdminSecurityTest, RefusesToStartOnAPublicAdminAddressWithoutAToken) {
  const auto path = write_config("public", "admin:\n  listen: \"0.0.0.0:0\"\n");
  // Not --check-config: this is the real start-up path, which must exit instead of serving.
  const auto result = run_cachecar("env -u CACHECAR_ADMIN_TOKEN", "--config " + path);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("admin.listen"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("no token"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("admin.allow_unauthenticated"), std::string::npos);

  // A token from the environment, or an explicit opt-out, makes the same address acceptable.
  EXPECT_EQ(
      run_cachecar("CACHECAR_ADMIN_TOKEN=abc", "--config " + path + " --check-config").exit_code,
      0);
  const auto opt_out =
      write_config("optout", "admin:\n  listen: \"0.0.0.0:0\"\n  allow_unauthenticated: true\n");
  EXPECT_EQ(run_cachecar("env -u CACHECAR_ADMIN_TOKEN", "--config " + opt_out + " --check-config")
                .exit_code,
            0);
  std::filesystem::remove(path);
  std::filesystem::remove(opt_out);
}

// --- the admin action log -------------------------------------------------------------------

// Captures what the default logger writes while it lives (install before the App starts,
// remove after it stopped: spdlog's sink list is not thread-safe to change).
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_)) {
    sink_->set_pattern("%l %v");
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() {
    spdlog::default_logger()->flush();
    return stream_.str();
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST(AdminSecurityTest, AdminActionsAreLoggedWithClientAndAuth) {
  LogCapture capture;
  std::string text;
  {
    Harness h{with_token()};
    ASSERT_EQ(h.get("/api/users/1").status, 200);
    ASSERT_TRUE(h.redis_has("GET:/api/users/1"));
    EXPECT_EQ(h.admin("POST", "/cache/clear/users", bearer(kToken)).status, 200);
    EXPECT_EQ(h.admin("DELETE", "/invalidate/GET:/api/x*", bearer(kToken)).status, 404);
    EXPECT_EQ(h.admin("DELETE", "/cache/clear").status, 401);
    h.stop();
    text = capture.text();
  }
  EXPECT_NE(text.find("info admin: action=clear subject=\"namespace users\" deleted=1 "
                      "client=127.0.0.1:"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("auth=token"), std::string::npos) << text;
  EXPECT_NE(text.find("action=invalidate subject=\"GET:/api/x*\" deleted=0"), std::string::npos)
      << text;
  EXPECT_NE(text.find("warning admin: refused DELETE \"/cache/clear\" from 127.0.0.1:"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(kToken), std::string::npos) << "the token must never be logged";
}

TEST(AdminSecurityTest, AdminActionsAreJsonWhenTheLogFormatIsJson) {
  LogCapture capture;
  std::string text;
  {
    HarnessOptions options{.rules = kRules, .log = "  format: json\n"};
    Harness h{options};
    EXPECT_EQ(h.admin("POST", "/cache/reset-stats").status, 200);
    h.stop();
    text = capture.text();
  }
  const auto start = text.find("info {\"event\"");
  ASSERT_NE(start, std::string::npos) << text;
  const auto line = text.substr(start + 5, text.find('\n', start) - start - 5);
  const auto entry = json::parse(line);
  EXPECT_EQ(entry.at("action"), "reset-stats");
  EXPECT_EQ(entry.at("auth"), "none");
  EXPECT_TRUE(entry.at("client").as_string().starts_with("127.0.0.1:"));
}

}  // namespace
}  // namespace cachecar::test
