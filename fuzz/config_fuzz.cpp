// The YAML config loader: any text either loads or throws ConfigError naming the source and a
// line ("fuzz.yaml:3: ..."); no other exception, crash or hang. Environment lookups answer for
// every name except the CACHECAR_* overrides (which would replace the fuzzed values).
#include "config/config.hpp"
#include "fuzz_support.hpp"

#include <cctype>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto yaml = cachecar::fuzz::as_text(data, size);
  const cachecar::config::EnvLookup env = [](std::string_view name) -> std::optional<std::string> {
    if (name.starts_with("CACHECAR_")) return std::nullopt;
    if (name == "UNSET") return std::nullopt;
    return "${" + std::string(name) + "}";  // expansion must not recurse
  };
  try {
    const auto config = cachecar::config::load_config_text(yaml, "fuzz.yaml", env);
    FUZZ_CHECK(!config.upstream.url.empty());
    for (const auto& rule : config.rules.rules()) FUZZ_CHECK(!rule.name.empty());
  } catch (const cachecar::config::ConfigError& e) {
    const std::string_view message = e.what();
    FUZZ_CHECK(message.starts_with("fuzz.yaml:"));
    FUZZ_CHECK(message.size() > 10 && std::isdigit(static_cast<unsigned char>(message[10])));
  }
  return 0;
}
