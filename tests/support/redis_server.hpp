// Test fixture: a private redis-server on a free loopback port, in its own temp directory,
// that tests can kill, pause (SIGSTOP), resume and restart. Always killed on destruction.
#pragma once

#include "support/process.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::test {

class RedisServer {
 public:
  // A reply from command(), decoupled from the store's own codec.
  struct Reply {
    enum class Type { Status, Error, Integer, String, Nil, Array };
    Type type = Type::Nil;
    long long integer = 0;
    std::string str;
    std::vector<Reply> elements;
  };

  // Path of the redis-server binary, or nullopt when it is not installed (tests then skip).
  static std::optional<std::string> binary();

  // Starts the server and waits until it answers PING. Throws std::runtime_error on failure.
  // `extra_args` are appended to the command line (e.g. {"--maxmemory", "3mb"}), restarts too.
  explicit RedisServer(std::vector<std::string> extra_args = {});

  // TLS on a second port (redis-server --tls-port, Debian's build has TLS). The plain port
  // stays open for command(), which speaks plain RESP as the default user.
  struct Tls {
    std::string cert_file;
    std::string key_file;
    std::string ca_file;        // the CA that client certificates must chain to
    bool auth_clients = false;  // tls-auth-clients: a client certificate is required
  };
  RedisServer(Tls tls, std::vector<std::string> extra_args);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::string host() const { return "127.0.0.1"; }
  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t tls_port() const noexcept { return tls_port_; }  // 0 without Tls
  bool running() const noexcept { return pid_ > 0; }

  void kill();     // SIGKILL and reap; idempotent
  void pause();    // SIGSTOP: accepts TCP connections (kernel backlog) but never answers
  void resume();   // SIGCONT
  void restart();  // kill, then start again on the same port (empty data set)

  // Runs one command over a short-lived synchronous connection. Throws std::runtime_error
  // if the server cannot be reached.
  Reply command(const std::vector<std::string>& args) const;

  // The server's stdout/stderr so far, for failure messages.
  std::string log() const;

 private:
  RedisServer(std::optional<Tls> tls, std::vector<std::string> extra_args, std::nullptr_t);
  void start(std::chrono::milliseconds timeout);
  bool answers_as_ours() const;

  std::string binary_;
  std::vector<std::string> extra_args_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::optional<Tls> tls_;
  std::uint16_t tls_port_ = 0;
  pid_t pid_ = -1;
  std::optional<ChildProcess> process_;
};

}  // namespace cachecar::test
