#include "net/listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/socket.h>

namespace cachecar::net {

ConnectionTracker::Registration::Registration(ConnectionTracker& tracker, tcp::socket& socket)
    : tracker_(tracker),
      handle_(tracker.slots_.insert(tracker.slots_.end(), Slot{&socket, true})) {}

ConnectionTracker::Registration::~Registration() {
  tracker_.slots_.erase(handle_);
}

void ConnectionTracker::shutdown() {
  stopping_ = true;
  for (auto& slot : slots_) {
    if (slot.idle) {
      error_code ignored;
      slot.socket->shutdown(tcp::socket::shutdown_both, ignored);
      slot.socket->close(ignored);
    }
  }
}

void ConnectionTracker::close_all() {
  stopping_ = true;
  for (auto& slot : slots_) {
    error_code ignored;
    slot.socket->shutdown(tcp::socket::shutdown_both, ignored);
    slot.socket->close(ignored);
  }
}

Listener::Listener(asio::any_io_executor executor, const tcp::endpoint& endpoint, bool reuse_port,
                   Handler handler)
    : acceptor_(executor), handler_(std::move(handler)) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (reuse_port) {
    using reuse_port_option = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    acceptor_.set_option(reuse_port_option(true));
  }
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void Listener::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

void Listener::stop() {
  error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> Listener::accept_loop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      // EMFILE and friends: keep serving existing connections, try again shortly.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(acceptor_.get_executor(), handler_(std::move(socket)), asio::detached);
  }
}

tcp::endpoint resolve_bind_endpoint(const std::string& host, unsigned short port) {
  if (host.empty() || host == "localhost") {
    return {host.empty() ? asio::ip::address_v4::any() : asio::ip::address_v4::loopback(), port};
  }
  return {asio::ip::make_address(host), port};
}

}  // namespace cachecar::net
