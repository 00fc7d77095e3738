#include "support/http_client.hpp"

#include "core/strings.hpp"
#include "net/http_types.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <stdexcept>

namespace cachecar::test {

namespace asio = net::asio;
namespace beast = net::beast;
namespace http = net::http;

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (core::iequals(n, name)) return v;
  }
  return {};
}

bool HttpResponse::has_header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (core::iequals(n, name)) return true;
  }
  return false;
}

struct HttpClient::Impl {
  asio::io_context context;
  beast::tcp_stream stream{context};
  beast::flat_buffer buffer;
  std::chrono::milliseconds timeout;
};

HttpClient::HttpClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  impl_->stream.expires_after(timeout);
  impl_->stream.connect(net::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

HttpClient::~HttpClient() = default;

// Runs one async operation on the private context so the stream's timeout applies.
template <class Op>
static auto run_with_timeout(asio::io_context& context, Op&& op) {
  context.restart();
  net::error_code result_ec;
  std::size_t result_n = 0;
  op([&](net::error_code ec, std::size_t n) {
    result_ec = ec;
    result_n = n;
  });
  context.run();
  return std::pair{result_ec, result_n};
}

void HttpClient::send_raw(const std::string& bytes) {
  impl_->stream.expires_after(impl_->timeout);
  auto [ec, n] = run_with_timeout(impl_->context, [&](auto handler) {
    asio::async_write(impl_->stream, asio::buffer(bytes), handler);
  });
  if (ec) throw std::runtime_error("send failed: " + ec.message());
}

HttpResponse HttpClient::read_response(bool head_request) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ULL << 30);
  if (head_request) parser.skip(true);
  impl_->stream.expires_after(impl_->timeout);
  auto [ec, n] = run_with_timeout(impl_->context, [&](auto handler) {
    http::async_read(impl_->stream, impl_->buffer, parser, handler);
  });
  if (ec) throw std::runtime_error("read failed: " + ec.message());
  HttpResponse response;
  auto& message = parser.get();
  response.status = message.result_int();
  for (const auto& field : message) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = message.body();
  response.keep_alive = message.keep_alive();
  return response;
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const Headers& headers, const std::string& body) {
  // A caller's own Host replaces the default one (send_raw() for duplicates).
  const bool own_host = std::any_of(headers.begin(), headers.end(), [](const auto& field) {
    return core::iequals(field.first, "host");
  });
  std::string raw = method + " " + target + " HTTP/1.1\r\n";
  if (!own_host) raw += "Host: test.local\r\n";
  bool has_length = false;
  for (const auto& [name, value] : headers) {
    raw += name + ": " + value + "\r\n";
    if (core::iequals(name, "content-length") || core::iequals(name, "transfer-encoding")) {
      has_length = true;
    }
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")) {
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "\r\n" + body;
  send_raw(raw);
  return read_response(method == "HEAD");
}

bool HttpClient::closed_by_server() {
  char byte;
  impl_->stream.expires_after(impl_->timeout);
  auto [ec, n] = run_with_timeout(impl_->context, [&](auto handler) {
    impl_->stream.async_read_some(asio::buffer(&byte, 1), handler);
  });
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const Headers& headers, const std::string& body) {
  HttpClient client(port);
  auto all = headers;
  all.emplace_back("Connection", "close");
  return client.request(method, target, all, body);
}

}  // namespace cachecar::test
