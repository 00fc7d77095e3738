// cachecar command line: --config FILE [--check-config], --version, --help.
#include "app/app.hpp"
#include "config/config.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kUsage =
    "Usage: cachecar --config FILE [--check-config]\n"
    "       cachecar --version | --help\n"
    "\n"
    "A caching reverse proxy: forwards requests to an upstream HTTP API and caches GET\n"
    "responses in Redis (or in memory) according to the YAML route rules in FILE.\n"
    "\n"
    "Options:\n"
    "  --config FILE     configuration file (YAML); see config/cachecar.yaml\n"
    "  --check-config    validate the configuration, print the verdict, exit 0 (valid) or 1\n"
    "  --version         print the version and exit\n"
    "  --help            print this help and exit\n"
    "\n"
    "Signals: SIGHUP reloads FILE (settings that need a restart keep their running values);\n"
    "SIGINT and SIGTERM shut down gracefully.\n"
    "\n"
    "Environment overrides: CACHECAR_LISTEN, CACHECAR_UPSTREAM_URL, CACHECAR_REDIS_URL,\n"
    "CACHECAR_ADMIN_LISTEN, CACHECAR_ADMIN_TOKEN, CACHECAR_LOG_LEVEL.\n";

// SIGHUP reloads the configuration and waits for the next signal; SIGINT and SIGTERM stop.
void handle_signals(boost::asio::signal_set& signals, cachecar::app::App& app) {
  signals.async_wait([&signals, &app](const boost::system::error_code& ec, int signal) {
    if (!ec && signal == SIGHUP) {
      spdlog::info("received SIGHUP, reloading the configuration");
      app.reload();  // logs what it did
      handle_signals(signals, app);
      return;
    }
    if (!ec) spdlog::info("received signal {}, shutting down", signal);
    app.stop();
  });
}

int usage_error(std::string_view message) {
  std::fprintf(stderr, "cachecar: %.*s\n%.*s", static_cast<int>(message.size()), message.data(),
               static_cast<int>(kUsage.size()), kUsage.data());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("cachecar %s\n", CACHECAR_VERSION);
      return 0;
    }
    if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      config_path = std::string(arg.substr(9));
    } else {
      return usage_error("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (config_path.empty()) return usage_error("--config FILE is required");

  cachecar::config::Config config;
  try {
    config = cachecar::config::load_config_file(config_path, cachecar::config::process_env());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachecar: invalid configuration: %s\n", e.what());
    return 1;
  }
  if (check_only) {
    // The store is named without its URL: that may carry a password.
    const std::string store = config.store.memory ? std::string("memory://")
                                                  : "redis at " + config.store.address.to_string();
    std::printf("%s: configuration OK (%zu rules, upstream %s, store %s)\n", config_path.c_str(),
                config.rules.rules().size(), config.upstream.address.to_string().c_str(),
                store.c_str());
    return 0;
  }

  try {
    // Signals are handled on the main thread (a reload's file read included); workers only
    // serve traffic. Registered first: a signal sent during start-up waits for the handler
    // instead of killing the process (SIGHUP's default action).
    boost::asio::io_context signals_context;
    boost::asio::signal_set signals(signals_context, SIGINT, SIGTERM, SIGHUP);
    cachecar::app::setup_logging(config.log);
    // A reload reads the same file and the environment again.
    cachecar::app::App app(std::move(config), [config_path] {
      return cachecar::config::load_config_file(config_path, cachecar::config::process_env());
    });
    app.start();
    handle_signals(signals, app);
    std::signal(SIGPIPE, SIG_IGN);
    signals_context.run();
    app.wait();
    spdlog::info("cachecar stopped");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cachecar: %s\n", e.what());
    return 1;
  }
  return 0;
}
