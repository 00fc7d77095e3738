// The reason phrase of a status code, for the status lines cachecar writes itself and for
// stored entries whose upstream sent none. Shared by net/ and policy/ (which may not use Beast).
#pragma once

#include <string_view>

namespace cachecar::core {

// The phrase RFC 9110 §15 (or the IANA status code registry) gives `status`; "Unknown" for a
// code without one. Clients ignore the phrase (RFC 9112 §4), so only its form matters.
std::string_view reason_phrase(int status) noexcept;

}  // namespace cachecar::core
