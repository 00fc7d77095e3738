// cachecar's own error codes, usable as boost::system::error_code on every hot path.
// Exceptions are reserved for start-up; request handling reports failures as values.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <ostream>
#include <type_traits>

namespace cachecar {

enum class errc {
  timeout = 1,              // an operation exceeded its deadline
  store_unavailable,        // the cache store cannot be reached (down, circuit open)
  store_protocol_error,     // the store answered something we could not parse
  store_reply_error,        // the store answered with an error reply
  upstream_connect_failed,  // could not open a connection to the upstream
  corrupt_entry,            // a cached entry failed to deserialise
  shutting_down,            // the component is stopping
  fill_overtaken,           // not stored: a write invalidated the key while it was fetched
};

const boost::system::error_category& cachecar_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), cachecar_category()};
}

std::ostream& operator<<(std::ostream& os, errc e);

template <class T>
using result = boost::system::result<T>;

}  // namespace cachecar

template <>
struct boost::system::is_error_code_enum<cachecar::errc> : std::true_type {};
