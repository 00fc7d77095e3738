#include "core/gzip.hpp"

#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>

namespace cachecar::core {
namespace {

class GzipCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "gzip"; }
  std::string message(int value) const override {
    switch (static_cast<gzip_errc>(value)) {
      case gzip_errc::corrupt:
        return "not a valid gzip stream";
      case gzip_errc::truncated:
        return "gzip stream is truncated";
      case gzip_errc::too_large:
        return "decompressed size exceeds the limit";
      case gzip_errc::invalid_level:
        return "gzip level must be 1 to 9";
      case gzip_errc::failed:
        return "zlib failed (out of memory)";
    }
    return "unknown gzip error";
  }
};

// windowBits 15 (the largest window) + 16: a gzip header and trailer instead of zlib's
// (zlib.h, deflateInit2 / inflateInit2).
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kMemLevel = 8;  // zlib's default
// zlib counts in uInt: larger buffers are handed over in pieces of at most this.
constexpr std::size_t kMaxZlibChunk = UINT_MAX;

uInt chunk_of(std::size_t remaining) noexcept {
  return static_cast<uInt>(std::min(remaining, kMaxZlibChunk));
}

// Ends a zlib stream on every path out of a function.
template <int (*End)(z_streamp)>
struct StreamGuard {
  z_stream* stream;
  ~StreamGuard() { End(stream); }
};

}  // namespace

const boost::system::error_category& gzip_category() noexcept {
  static const GzipCategory category;
  return category;
}

std::ostream& operator<<(std::ostream& os, gzip_errc e) {
  return os << make_error_code(e).message();
}

result<std::string> gzip_compress(std::string_view data, int level) {
  if (level < kMinGzipLevel || level > kMaxGzipLevel) {
    return make_error_code(gzip_errc::invalid_level);
  }
  z_stream stream{};
  if (deflateInit2(&stream, level, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return make_error_code(gzip_errc::failed);
  }
  const StreamGuard<deflateEnd> guard{&stream};
  // deflateBound is an upper bound for the whole input at once: one allocation, no regrowth.
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  std::size_t in_done = 0;
  std::size_t out_done = 0;
  for (;;) {
    const std::size_t in_left = data.size() - in_done;
    stream.next_in = reinterpret_cast<const Bytef*>(data.data() + in_done);
    stream.avail_in = chunk_of(in_left);
    if (out_done == out.size()) out.resize(out.size() * 2 + 64);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
    stream.avail_out = chunk_of(out.size() - out_done);
    const uInt in_given = stream.avail_in;
    const uInt out_given = stream.avail_out;
    const int flush = in_given == in_left ? Z_FINISH : Z_NO_FLUSH;
    const int rc = deflate(&stream, flush);
    in_done += in_given - stream.avail_in;
    out_done += out_given - stream.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return make_error_code(gzip_errc::failed);
  }
  out.resize(out_done);
  return out;
}

result<std::string> gzip_decompress(std::string_view data, std::size_t max_output,
                                    std::size_t size_hint) {
  z_stream stream{};
  if (inflateInit2(&stream, kGzipWindowBits) != Z_OK) return make_error_code(gzip_errc::failed);
  const StreamGuard<inflateEnd> guard{&stream};
  // The buffer may hold one byte beyond the limit: producing it is how an oversized output is
  // told from one that is exactly at the limit.
  const std::size_t ceiling = max_output == SIZE_MAX ? max_output : max_output + 1;
  std::size_t initial = size_hint > 0 && size_hint <= max_output
                            ? size_hint + 1
                            : std::max<std::size_t>(data.size() * 4, 4096);
  std::string out(std::min(initial, ceiling), '\0');
  std::size_t in_done = 0;
  std::size_t out_done = 0;
  bool member_open = false;  // inside a member that has not ended yet
  while (in_done < data.size() || member_open) {
    if (out_done == out.size()) {
      if (out.size() >= ceiling) return make_error_code(gzip_errc::too_large);
      out.resize(std::min(ceiling, std::max<std::size_t>(out.size() * 2, 4096)));
    }
    stream.next_in = reinterpret_cast<const Bytef*>(data.data() + in_done);
    stream.avail_in = chunk_of(data.size() - in_done);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
    stream.avail_out = chunk_of(out.size() - out_done);
    const uInt in_given = stream.avail_in;
    const uInt out_given = stream.avail_out;
    const int rc = inflate(&stream, Z_NO_FLUSH);
    in_done += in_given - stream.avail_in;
    out_done += out_given - stream.avail_out;
    if (out_done > max_output) return make_error_code(gzip_errc::too_large);
    switch (rc) {
      case Z_OK:
        member_open = true;
        break;
      case Z_STREAM_END:
        // RFC 1952 §2.2: members may follow one another; each is decoded the same way.
        member_open = false;
        if (in_done < data.size() && inflateReset(&stream) != Z_OK) {
          return make_error_code(gzip_errc::failed);
        }
        break;
      case Z_BUF_ERROR:
        // No progress: either the output is full (grown above) or the input ran out.
        if (stream.avail_out != 0) return make_error_code(gzip_errc::truncated);
        break;
      case Z_MEM_ERROR:
        return make_error_code(gzip_errc::failed);
      default:  // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
        return make_error_code(gzip_errc::corrupt);
    }
  }
  if (in_done == 0) return make_error_code(gzip_errc::truncated);  // no member at all
  out.resize(out_done);
  return out;
}

}  // namespace cachecar::core
