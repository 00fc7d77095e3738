// Runs an io_context so that no exception ends the thread that runs it.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <string_view>

namespace cachecar::net {

// Runs `context` until it runs out of work or is stopped. An exception that escapes a handler
// (a bug: the request path reports errors as values) would leave the thread function and call
// std::terminate, taking every connection of the process with it. Instead it is logged,
// `on_exception` is called (to count it), and run() is resumed (Asio allows that without a
// restart()). Only the operation that threw is lost.
void run_until_done(boost::asio::io_context& context, std::string_view name,
                    const std::function<void()>& on_exception = {});

}  // namespace cachecar::net
