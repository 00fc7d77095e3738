// A real HTTP upstream for integration tests: serves programmable replies on 127.0.0.1:<free
// port> from its own thread and records every request it receives.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace cachecar::test {

struct SeenRequest {
  std::string method;
  std::string target;  // path and query as received
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(std::string_view name) const;  // case-insensitive, "" when absent
};

struct StubReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  std::string body;  // empty = {"path": ..., "n": <requests to this path>}
  std::chrono::milliseconds delay{0};
  // Set: the reply (computed now) is sent only once *hold is true (polled; gives up after 10 s),
  // so a test can keep a response in flight while it does something else.
  std::shared_ptr<std::atomic<bool>> hold;
  bool chunked = false;  // Transfer-Encoding: chunked instead of Content-Length
  // Raw interim response heads written, in order, before the reply (after `delay`,
  // before `hold`), e.g.
  // "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n".
  std::vector<std::string> interim;
};

class UpstreamStub {
 public:
  using Handler = std::function<StubReply(const SeenRequest&, std::size_t count)>;

  UpstreamStub();  // listening and serving when constructed
  ~UpstreamStub();
  UpstreamStub(const UpstreamStub&) = delete;
  UpstreamStub& operator=(const UpstreamStub&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Reply for requests whose path (without query) equals `path`. count = requests to that path
  // so far, including this one.
  void on(const std::string& path, StubReply reply);
  void on(const std::string& path, Handler handler);

  std::size_t requests(const std::string& path) const;  // by path, any method and query
  std::size_t total_requests() const;
  std::size_t connections_accepted() const;
  std::vector<SeenRequest> seen() const;
  SeenRequest last() const;

  // Stops serving (connections closed, port released): the upstream is "down".
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace cachecar::test
