// TCP listener: accepts on one executor and runs one handler coroutine per connection, plus the
// per-thread registry of open connections used for graceful shutdown. Knows nothing of HTTP.
#pragma once

#include "net/http_types.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <list>

namespace cachecar::net {

// Tracks the client connections of one thread so shutdown can close idle keep-alive connections
// at once and let busy ones finish their current request. Single-threaded: use it only on the
// executor that owns it.
class ConnectionTracker {
 public:
  struct Slot {
    tcp::socket* socket;
    bool idle;
  };
  using Handle = std::list<Slot>::iterator;

  // RAII registration held by a session for its lifetime.
  class Registration {
   public:
    Registration(ConnectionTracker& tracker, tcp::socket& socket);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    // Idle = waiting for the next request; shutdown closes idle connections immediately.
    void set_idle(bool idle) { handle_->idle = idle; }

   private:
    ConnectionTracker& tracker_;
    Handle handle_;
  };

  // Stops new requests: idle connections are closed now, busy ones close after their response.
  void shutdown();
  // Closes every connection, busy or not (end of the shutdown grace period).
  void close_all();
  bool stopping() const noexcept { return stopping_; }
  std::size_t open_connections() const noexcept { return slots_.size(); }

 private:
  std::list<Slot> slots_;
  bool stopping_ = false;
};

class Listener {
 public:
  using Handler = std::function<asio::awaitable<void>(tcp::socket)>;

  // Binds and listens immediately; throws boost::system::system_error (start-up only).
  // reuse_port lets one listener per thread share the port (SO_REUSEPORT).
  Listener(asio::any_io_executor executor, const tcp::endpoint& endpoint, bool reuse_port,
           Handler handler);

  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  // Stops accepting. Must run on the listener's executor.
  void stop();

 private:
  asio::awaitable<void> accept_loop();

  tcp::acceptor acceptor_;
  Handler handler_;
};

// Resolves "host" + port into an endpoint for binding ("localhost" = 127.0.0.1). Throws on
// failure (start-up only).
tcp::endpoint resolve_bind_endpoint(const std::string& host, unsigned short port);

}  // namespace cachecar::net
