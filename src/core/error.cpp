#include "core/error.hpp"

#include <string>

namespace cachecar {
namespace {

class CachecarCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "cachecar"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::timeout:
        return "operation timed out";
      case errc::store_unavailable:
        return "cache store unavailable";
      case errc::store_protocol_error:
        return "cache store protocol error";
      case errc::store_reply_error:
        return "cache store returned an error";
      case errc::upstream_connect_failed:
        return "cannot connect to upstream";
      case errc::corrupt_entry:
        return "corrupt cache entry";
      case errc::shutting_down:
        return "shutting down";
      case errc::fill_overtaken:
        return "not stored: the key was invalidated while it was being fetched";
    }
    return "unknown cachecar error";
  }
};

}  // namespace

const boost::system::error_category& cachecar_category() noexcept {
  static const CachecarCategory category;
  return category;
}

std::ostream& operator<<(std::ostream& os, errc e) {
  return os << make_error_code(e).message();
}

}  // namespace cachecar
