// Runs one coroutine on an io_context until it completes, for tests. Other work on the
// context (a Redis client's background reconnect loop, say) keeps running meanwhile but does
// not have to finish.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace cachecar::test {

// Returns the coroutine's value (rethrows its exception). Throws std::runtime_error if it has
// not completed within `timeout`, so a hang fails the test instead of the whole run.
template <class T>
T run_awaitable(boost::asio::io_context& ctx, boost::asio::awaitable<T> coroutine,
                std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  struct Outcome {
    bool done = false;
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  };
  auto outcome = std::make_shared<Outcome>();
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(ctx, std::move(coroutine), [outcome](std::exception_ptr e) {
      outcome->done = true;
      outcome->error = e;
    });
  } else {
    boost::asio::co_spawn(ctx, std::move(coroutine), [outcome](std::exception_ptr e, T v) {
      outcome->done = true;
      outcome->error = e;
      if (!e) outcome->value.emplace(std::move(v));
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (ctx.stopped()) ctx.restart();
  while (!outcome->done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) throw std::runtime_error("run_awaitable: coroutine did not complete");
    if (ctx.run_one_for(deadline - now) == 0 && ctx.stopped()) ctx.restart();
  }
  if (outcome->error) std::rethrow_exception(outcome->error);
  if constexpr (!std::is_void_v<T>) return std::move(*outcome->value);
}

}  // namespace cachecar::test
