// Wires concrete classes together: one worker thread per core, each with its own io_context,
// listener (SO_REUSEPORT), upstream pool and Redis connection(s); graceful shutdown.
#pragma once

#include "config/config.hpp"
#include "metrics/metrics.hpp"

#include <cstdint>
#include <memory>

namespace cachecar::app {

struct Worker;  // one worker thread's objects (app.cpp)

class App {
 public:
  // Binds the listeners and connects nothing yet. Throws on start-up failures (bind errors).
  explicit App(config::Config config);
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

  std::uint16_t proxy_port() const;
  // The admin API's port (the kernel's choice when admin.listen says port 0).
  std::uint16_t admin_port() const;
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
