// Inputs found by fuzz/config_fuzz.cpp (the crash files live in fuzz/crashes/config/): whatever
// the text, loading ends with a Config or a ConfigError.
#include "config/config.hpp"
#include "support/wait_until.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace cachecar::config {
namespace {

struct Outcome {
  std::atomic<bool> done{false};
  std::string message;
};

// Loads on another thread, so that a load that never ends fails the test instead of hanging it.
std::shared_ptr<Outcome> load_in_background(std::string yaml) {
  auto outcome = std::make_shared<Outcome>();
  std::thread([outcome, yaml = std::move(yaml)] {
    try {
      load_config_text(yaml, "test.yaml", [](std::string_view) { return std::nullopt; });
      outcome->message = "(no error)";
    } catch (const ConfigError& e) {
      outcome->message = e.what();
    }
    outcome->done = true;
  }).detach();
  return outcome;
}

// yaml-cpp's LoadAll reports empty documents forever after this one (its memory grows until
// the process is killed): the loader must not ask it for every document.
TEST(ConfigYaml, TextOnWhichYamlCppNeverFinishesIsAnError) {
  const auto outcome = load_in_background("#am:\n !url:,/000\n");
  ASSERT_TRUE(test::wait_until([&] { return outcome->done.load(); }, std::chrono::seconds(10)))
      << "load_config_text did not return";
  EXPECT_EQ(outcome->message.rfind("test.yaml:", 0), 0U) << outcome->message;
}

}  // namespace
}  // namespace cachecar::config
