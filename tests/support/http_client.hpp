// A small blocking HTTP/1.1 client for tests: keep-alive connection, raw writes for pipelining
// and malformed input, responses parsed by Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cachecar::test {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = true;
  std::string header(std::string_view name) const;  // case-insensitive, "" when absent
  bool has_header(std::string_view name) const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  // Connects to 127.0.0.1:port. Every read/write fails (throws) after `timeout`.
  explicit HttpClient(std::uint16_t port,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();

  HttpResponse request(const std::string& method, const std::string& target,
                       const Headers& headers = {}, const std::string& body = {});
  HttpResponse get(const std::string& target, const Headers& headers = {}) {
    return request("GET", target, headers);
  }

  void send_raw(const std::string& bytes);
  // Reads one response; `head_request` = the response to a HEAD (no body).
  HttpResponse read_response(bool head_request = false);
  // True when the server closed the connection (EOF on the next read).
  bool closed_by_server();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection (Connection: close).
HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const Headers& headers = {}, const std::string& body = {});
inline HttpResponse http_get(std::uint16_t port, const std::string& target,
                             const Headers& headers = {}) {
  return http_request(port, "GET", target, headers);
}

}  // namespace cachecar::test
