// Processes for tests: run a command to completion, or keep a server process running for the
// length of a test (always stopped on destruction), plus a free loopback port.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace cachecar::test {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or not started
  std::string output;  // stdout and stderr together
};

// Runs `command` through /bin/sh and waits for it.
CommandResult run_command(const std::string& command);

// A port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
std::uint16_t free_port();

class ChildProcess {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  // Starts argv[0] (a path) with extra environment variables; output is appended to `log`.
  // Inherited file descriptors are closed in the child. Throws std::runtime_error on failure.
  ChildProcess(std::vector<std::string> argv, Env env, std::filesystem::path log);
  ~ChildProcess();  // stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  bool running();
  void signal(int signal_number);  // e.g. SIGSTOP / SIGCONT; no-op once it has exited
  void kill();                     // SIGKILL and reap at once
  // SIGTERM, then SIGKILL if it has not exited within `grace`; returns the exit code (-1 if
  // killed by a signal). Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::filesystem::path log_;
};

}  // namespace cachecar::test
