#include "support/http_upstream.hpp"

#include "core/strings.hpp"
#include "net/listener.hpp"
#include "net/simple_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <future>
#include <thread>

namespace cachecar::test {

namespace asio = net::asio;
namespace http = net::http;

std::string SeenRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (core::iequals(n, name)) return v;
  }
  return {};
}

struct UpstreamStub::Impl {
  net::ConnectionTracker tracker;  // outlives the context: frames destroyed with it use it
  asio::io_context context{1};
  std::unique_ptr<net::Listener> listener;
  std::thread thread;
  mutable std::mutex mutex;
  std::map<std::string, Handler> handlers;
  std::map<std::string, std::size_t> counts;
  std::vector<SeenRequest> seen;
  bool stopped = false;
  std::atomic<std::size_t> accepted{0};

  asio::awaitable<net::SimpleResponse> handle(net::SimpleRequest& request) {
    SeenRequest s;
    s.method = std::string(request.message.method_string());
    s.target = std::string(request.message.target());
    s.path = s.target.substr(0, s.target.find('?'));
    for (const auto& field : request.message) {
      s.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    s.body = request.message.body();
    Handler handler;
    std::size_t count = 0;
    {
      std::lock_guard lock(mutex);
      count = ++counts[s.path];
      seen.push_back(s);
      if (auto it = handlers.find(s.path); it != handlers.end()) handler = it->second;
    }
    StubReply reply;
    if (handler) reply = handler(s, count);
    if (reply.body.empty() && !handler) {
      reply.body = "{\"path\": \"" + s.path + "\", \"n\": " + std::to_string(count) + "}";
    }
    if (reply.delay.count() > 0) {
      asio::steady_timer timer(context, reply.delay);
      co_await timer.async_wait(net::use_nothrow);
    }
    for (const auto& head : reply.interim) {
      if (request.connection == nullptr) break;
      if (co_await request.connection->send(head)) break;
    }
    if (reply.hold) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      asio::steady_timer poll(context);
      while (!reply.hold->load() && std::chrono::steady_clock::now() < give_up) {
        poll.expires_after(std::chrono::milliseconds(2));
        co_await poll.async_wait(net::use_nothrow);
      }
    }
    net::SimpleResponse response{static_cast<http::status>(reply.status),
                                 request.message.version()};
    response.keep_alive(request.message.keep_alive());
    for (const auto& [name, value] : reply.headers) response.insert(name, value);
    response.body() = reply.body;
    if (reply.chunked) {
      response.chunked(true);
    } else {
      response.prepare_payload();
    }
    co_return response;
  }
};

UpstreamStub::UpstreamStub() : impl_(std::make_unique<Impl>()) {
  auto* impl = impl_.get();
  net::SimpleServerLimits limits;
  limits.max_body_bytes = 256ULL << 20;
  impl->listener = std::make_unique<net::Listener>(
      impl->context.get_executor(), net::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
      false, [impl, limits](net::tcp::socket socket) {
        ++impl->accepted;
        net::SimpleHandler handler = [impl](net::SimpleRequest& request) {
          return impl->handle(request);
        };
        return net::serve_simple(std::move(socket), std::move(handler), limits, impl->tracker);
      });
  port_ = impl->listener->local_endpoint().port();
  impl->listener->start();
  impl->thread = std::thread([impl] { impl->context.run(); });
}

UpstreamStub::~UpstreamStub() {
  stop();
}

void UpstreamStub::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  std::promise<void> done;
  asio::post(impl_->context, [this, &done] {
    impl_->listener->stop();
    impl_->tracker.close_all();
    done.set_value();
  });
  done.get_future().wait();
  impl_->context.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void UpstreamStub::on(const std::string& path, StubReply reply) {
  on(path, [reply](const SeenRequest&, std::size_t) { return reply; });
}

void UpstreamStub::on(const std::string& path, Handler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->handlers[path] = std::move(handler);
}

std::size_t UpstreamStub::requests(const std::string& path) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->counts.find(path);
  return it == impl_->counts.end() ? 0 : it->second;
}

std::size_t UpstreamStub::total_requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->seen.size();
}

std::size_t UpstreamStub::connections_accepted() const {
  return impl_->accepted.load();
}

std::vector<SeenRequest> UpstreamStub::seen() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->seen;
}

SeenRequest UpstreamStub::last() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->seen.empty() ? SeenRequest{} : impl_->seen.back();
}

}  // namespace cachecar::test
