// The one place that names Beast/Asio types for HTTP plumbing; everything else uses these aliases.
// Included only by net/, upstream/, proxy/, admin/ and product_api/ (it is heavy to compile).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

namespace cachecar::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Completion token for coroutines that expect failures: returns (error_code, results...) as a
// tuple instead of throwing. Use it for every I/O on the request path.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace cachecar::net
