#include "net/run_loop.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace cachecar::net {

void run_until_done(boost::asio::io_context& context, std::string_view name,
                    const std::function<void()>& on_exception) {
  for (;;) {
    try {
      context.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("{}: an exception escaped a handler (the thread goes on): {}", name, e.what());
    } catch (...) {
      spdlog::error("{}: an unknown exception escaped a handler (the thread goes on)", name);
    }
    if (on_exception) on_exception();
  }
}

}  // namespace cachecar::net
