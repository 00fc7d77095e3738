// The one translation unit that compiles Boost.Asio's SSL support (the Redis TLS transport).
#include <boost/asio/ssl/impl/src.hpp>
