// Wires concrete classes together: one worker thread per core, each with its own io_context,
// listener (SO_REUSEPORT), upstream pool and Redis connection(s); graceful shutdown.
#pragma once

#include "admin/admin.hpp"
#include "config/config.hpp"
#include "metrics/metrics.hpp"

#include <cstdint>
#include <functional>
#include <memory>

namespace cachecar::app {

struct Worker;  // one worker thread's objects (app.cpp)

// Reads the configuration again for a reload (the file the process started with, and the
// environment); throws config::ConfigError (or another std::exception) when it cannot.
using ConfigLoader = std::function<config::Config()>;

class App {
 public:
  // Binds the listeners and connects nothing yet. Throws on start-up failures (bind errors).
  // Without `reload_from`, reload() fails with a message saying so.
  explicit App(config::Config config, ConfigLoader reload_from = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Starts the worker threads and returns.
  void start();
  // Graceful: stop accepting, close idle connections, let in-flight requests finish (bounded),
  // then stop the threads. Idempotent; callable from any thread.
  void stop();
  // Blocks until every worker thread has exited.
  void wait();

  // SIGHUP and POST /config/reload: loads the configuration with the loader and hands each
  // worker its new settings (a task posted to its io_context: requests that start after it
  // runs use them). Restart-only settings (config::keep_restart_only) keep their running
  // values and are named in the result and a warning; shared state (the cache tiers, pools,
  // connections, pending invalidations, metrics) is kept. A configuration that does not load
  // changes nothing and is logged with its file:line. Thread-safe (reloads are serialised);
  // blocks while the file is read. Never throws.
  admin::ConfigReloadResult reload();

  std::uint16_t proxy_port() const;
  // The admin API's port (the kernel's choice when admin.listen says port 0).
  std::uint16_t admin_port() const;
  // The running configuration (a reload replaces it: not to be read during one).
  const config::Config& config() const;
  metrics::Metrics& metrics();

 private:
  struct State;
  void start_admin(Worker& worker);
  std::unique_ptr<State> state_;
};

// Configures spdlog (level, text/JSON access log) from the config. Call once at start-up.
void setup_logging(const config::LogConfig& log);

}  // namespace cachecar::app
