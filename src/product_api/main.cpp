// product-api: the bundled demo backend (CRUD over products in SQLite).
#include "core/units.hpp"
#include "net/listener.hpp"
#include "net/run_loop.hpp"
#include "net/simple_server.hpp"
#include "product_api/catalog.hpp"
#include "product_api/service.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kUsage =
    "Usage: product-api [--listen HOST:PORT] [--db PATH] [--delay DURATION] [--no-seed]\n"
    "       product-api --version | --help\n"
    "\n"
    "CRUD over products stored in SQLite: POST/GET /products, GET/PUT/DELETE /products/{id},\n"
    "GET /health.\n"
    "\n"
    "  --listen HOST:PORT  address to serve on (default 127.0.0.1:8000; env PRODUCT_API_LISTEN)\n"
    "  --db PATH           SQLite file, or :memory: (default product-api.db; env PRODUCT_API_DB)\n"
    "  --delay DURATION    artificial latency per response, e.g. 20ms (default 0;\n"
    "                      env PRODUCT_API_DELAY)\n"
    "  --no-seed           do not add sample products to an empty database\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "product-api: %s\n%.*s", message.c_str(), static_cast<int>(kUsage.size()),
               kUsage.data());
  return 2;
}

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cachecar;
  std::string listen = env_or("PRODUCT_API_LISTEN", "127.0.0.1:8000");
  std::string db_path = env_or("PRODUCT_API_DB", "product-api.db");
  std::string delay_text = env_or("PRODUCT_API_DELAY", "0ms");
  bool seed = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("product-api %s\n", CACHECAR_VERSION);
      return 0;
    } else if (arg == "--listen" && has_value) {
      listen = argv[++i];
    } else if (arg == "--db" && has_value) {
      db_path = argv[++i];
    } else if (arg == "--delay" && has_value) {
      delay_text = argv[++i];
    } else if (arg == "--no-seed") {
      seed = false;
    } else {
      return usage_error("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  const auto delay = core::parse_duration(delay_text);
  if (!delay) return usage_error("invalid --delay '" + delay_text + "' (use e.g. 20ms, 1s)");
  const auto colon = listen.rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos ||
      std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), port).ec !=
          std::errc{} ||
      port > 65535) {
    return usage_error("invalid --listen '" + listen + "' (use HOST:PORT)");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);

  try {
    product_api::Catalog catalog(db_path);
    if (seed) {
      if (int added = catalog.seed_if_empty()) spdlog::info("seeded {} sample products", added);
    }
    net::asio::thread_pool database(1);
    // Declared before the context: session frames destroyed with the context unregister
    // from the tracker.
    net::ConnectionTracker tracker;
    net::asio::io_context context(1);
    product_api::Service service(database, catalog, {*delay});
    net::Listener listener(
        context.get_executor(), net::resolve_bind_endpoint(host, static_cast<unsigned short>(port)),
        false, [&service, &tracker](net::tcp::socket socket) {
          net::SimpleHandler handler = [&service](net::SimpleRequest& request) {
            return service.handle(request);
          };
          return net::serve_simple(std::move(socket), std::move(handler), {}, tracker);
        });
    listener.start();
    net::asio::signal_set signals(context, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      listener.stop();
      tracker.close_all();
      context.stop();
    });
    spdlog::info("product-api listening on {}:{} (database {}, delay {})", host,
                 listener.local_endpoint().port(), db_path, core::format_duration(*delay));
    net::run_until_done(context, "product-api");
    database.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "product-api: %s\n", e.what());
    return 1;
  }
  return 0;
}
