#include "support/redis_server.hpp"

#include "support/process.hpp"

#include "support/wait_until.hpp"

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace cachecar::test {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr int kStartAttempts = 5;  // a free port can be taken by someone else before we bind

std::uint16_t pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "bind to a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

RedisServer::Reply convert(const redisReply* r) {
  RedisServer::Reply out;
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      out.type = RedisServer::Reply::Type::Status;
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisServer::Reply::Type::Error;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisServer::Reply::Type::Integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisServer::Reply::Type::String;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisServer::Reply::Type::Array;
      break;
    default:
      out.type = RedisServer::Reply::Type::Nil;
      break;
  }
  out.integer = r->integer;
  if (r->str != nullptr) out.str.assign(r->str, r->len);
  for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
  return out;
}

// One command on a fresh synchronous connection; nullopt if the server cannot be reached
// or does not answer within `timeout`.
std::optional<RedisServer::Reply> sync_command(std::uint16_t port,
                                               const std::vector<std::string>& args,
                                               std::chrono::milliseconds timeout) {
  const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  redisContext* ctx = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (ctx == nullptr) return std::nullopt;
  if (ctx->err != 0 || redisSetTimeout(ctx, tv) != REDIS_OK) {
    redisFree(ctx);
    return std::nullopt;
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
  std::optional<RedisServer::Reply> out;
  if (reply != nullptr) {
    out = convert(reply);
    freeReplyObject(reply);
  }
  redisFree(ctx);
  return out;
}

}  // namespace

std::optional<std::string> RedisServer::binary() {
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  path += ":/usr/sbin:/usr/local/sbin";
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

RedisServer::RedisServer(Tls tls, std::vector<std::string> extra_args)
    : RedisServer(std::optional<Tls>(std::move(tls)), std::move(extra_args), nullptr) {}

RedisServer::RedisServer(std::vector<std::string> extra_args)
    : RedisServer(std::nullopt, std::move(extra_args), nullptr) {}

RedisServer::RedisServer(std::optional<Tls> tls, std::vector<std::string> extra_args,
                         std::nullptr_t)
    : extra_args_(std::move(extra_args)), tls_(std::move(tls)) {
  auto path = binary();
  if (!path) throw std::runtime_error("redis-server is not installed");
  binary_ = *path;
  std::string templ = (std::filesystem::temp_directory_path() / "cachecar-redis-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  dir_ = templ;
  for (int attempt = 1;; ++attempt) {
    port_ = pick_free_port();
    if (tls_) {
      do {
        tls_port_ = pick_free_port();
      } while (tls_port_ == port_);
    }
    try {
      start(kStartTimeout);
      return;
    } catch (const std::exception&) {
      kill();
      if (attempt == kStartAttempts) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
        throw;
      }
    }
  }
}

RedisServer::~RedisServer() {
  kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void RedisServer::start(std::chrono::milliseconds timeout) {
  const std::string port = std::to_string(port_);
  const std::string dir = dir_.string();
  std::vector<std::string> args{binary_, "--port",       port, "--bind", "127.0.0.1", "--save",
                                "",      "--appendonly", "no", "--dir",  dir,         "--daemonize",
                                "no"};
  if (tls_) {
    args.insert(args.end(),
                {"--tls-port", std::to_string(tls_port_), "--tls-cert-file", tls_->cert_file,
                 "--tls-key-file", tls_->key_file, "--tls-ca-cert-file", tls_->ca_file,
                 "--tls-auth-clients", tls_->auth_clients ? "yes" : "no"});
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  process_.emplace(std::move(args), ChildProcess::Env{}, dir_ / "redis.log");
  pid_ = process_->pid();

  bool exited = false;
  const bool ready = wait_until(
      [&] {
        if (!process_->running()) {
          exited = true;
          pid_ = -1;
          return true;
        }
        return answers_as_ours();
      },
      timeout, std::chrono::milliseconds(10));
  if (exited || !ready) {
    throw std::runtime_error("redis-server did not start on port " + port + ": " + log());
  }
}

// PING alone could be answered by someone else's server on the same port: check the pid.
bool RedisServer::answers_as_ours() const {
  auto info = sync_command(port_, {"INFO", "server"}, std::chrono::milliseconds(200));
  if (!info || info->type != Reply::Type::String) return false;
  return info->str.find("process_id:" + std::to_string(pid_) + "\r\n") != std::string::npos;
}

void RedisServer::kill() {
  if (process_) process_->kill();
  process_.reset();
  pid_ = -1;
}

void RedisServer::pause() {
  if (process_) process_->signal(SIGSTOP);
}

void RedisServer::resume() {
  if (process_) process_->signal(SIGCONT);
}

void RedisServer::restart() {
  kill();
  start(kStartTimeout);
}

RedisServer::Reply RedisServer::command(const std::vector<std::string>& args) const {
  auto reply = sync_command(port_, args, std::chrono::seconds(2));
  if (!reply)
    throw std::runtime_error("redis-server on port " + std::to_string(port_) + " did not answer " +
                             (args.empty() ? "" : args[0]));
  return *reply;
}

std::string RedisServer::log() const {
  std::ifstream in(dir_ / "redis.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace cachecar::test
