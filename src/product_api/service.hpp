// The product API's HTTP routes. Runs on the event loop; every database call hops to the single
// database thread and back, so SQLite never blocks request handling.
#pragma once

#include "net/simple_server.hpp"
#include "product_api/catalog.hpp"

#include <boost/asio/thread_pool.hpp>

#include <chrono>

namespace cachecar::product_api {

namespace asio = net::asio;

struct ServiceOptions {
  std::chrono::milliseconds delay{0};  // artificial latency added to every response
};

class Service {
 public:
  // `catalog` is used only on `database`'s thread; both must outlive the service.
  Service(asio::thread_pool& database, Catalog& catalog, ServiceOptions options);

  asio::awaitable<net::SimpleResponse> handle(net::SimpleRequest& request);

 private:
  asio::awaitable<net::SimpleResponse> route(net::SimpleRequest& request);
  // Runs work() on the database thread, then resumes on the caller's executor (also when it
  // throws). Takes a named lambda by reference: GCC 12 destroys non-trivial by-value coroutine
  // arguments that are temporaries twice, so none are passed here.
  template <class Fn>
  asio::awaitable<std::invoke_result_t<Fn&>> on_database(Fn& work);

  asio::thread_pool& database_;
  Catalog& catalog_;
  ServiceOptions options_;
};

}  // namespace cachecar::product_api
