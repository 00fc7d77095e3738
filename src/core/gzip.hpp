// gzip (RFC 1952) through zlib: compress a body into one member, and decompress with a limit on
// the output, since a stored or upstream body may be a decompression bomb. Errors are values
// (gzip_errc in a boost::system::error_code); nothing here throws on bad input.
#pragma once

#include "core/error.hpp"

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

namespace cachecar::core {

enum class gzip_errc {
  corrupt = 1,    // not a gzip stream, a bad checksum, or bytes after the last member
  truncated,      // the stream ends before its last member does
  too_large,      // the output would exceed the caller's limit
  invalid_level,  // compression level outside 1..9
  failed,         // zlib itself failed (out of memory)
};

const boost::system::error_category& gzip_category() noexcept;

inline boost::system::error_code make_error_code(gzip_errc e) noexcept {
  return {static_cast<int>(e), gzip_category()};
}

std::ostream& operator<<(std::ostream& os, gzip_errc e);

inline constexpr int kMinGzipLevel = 1;
inline constexpr int kMaxGzipLevel = 9;

// `data` as a single gzip member at `level` (1 fastest .. 9 smallest). The output of a given
// input, level and zlib version is always the same bytes.
result<std::string> gzip_compress(std::string_view data, int level);

// The concatenated content of every gzip member in `data` (RFC 1952 §2.2 allows several).
// Fails with gzip_errc::too_large as soon as the output would exceed `max_output` bytes, so the
// memory it takes is bounded by the limit, never by what the input claims. `size_hint`: the
// expected output size, reserved up front when it is within the limit (0: unknown).
result<std::string> gzip_decompress(std::string_view data, std::size_t max_output,
                                    std::size_t size_hint = 0);

}  // namespace cachecar::core

template <>
struct boost::system::is_error_code_enum<cachecar::core::gzip_errc> : std::true_type {};
