// The cache store interface: byte values under logical keys, with TTLs and indexed deletion.
// Implementations: MemoryStore (in-process) and redis::RedisStore. Keep Beast out of here.
#pragma once

#include "core/error.hpp"
#include "core/stored_key.hpp"
#include "store/breaker_state.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cachecar::store {

// A cached value, shared read-only: a hit hands out a reference, never a copy of the bytes.
using Value = std::shared_ptr<const std::string>;

// One deletion request. Keys are logical ("GET:/api/users/42"); the store adds its own prefix.
// A stored key may carry a secondary key after the logical one ("GET:/a host=h", see
// core/stored_key.hpp): erasing a logical key erases all of its variants.
struct EraseTarget {
  enum class Kind {
    Exact,            // this key and its variants (key + separator + ...)
    PathAndVariants,  // the same, and every key starting with key + "?"
    Prefix,           // every key starting with key
    Tag,              // every entry stored with the tag `key` (every variant, every query
                      // variant: each carries its own tags), and variant indexes left empty
  };
  Kind kind = Kind::Exact;
  std::string key;
};

// What a fill saw before it asked the upstream: the store's invalidation generations for the
// key's path (store/generations.hpp defines them). A fill carrying it stores nothing if an erase
// of that path (or a prefix erase, or a clear) happened since, so a response that a write
// overtook in flight is never kept — whichever cachecar instance the write went through.
// Opaque; empty = never read (a fill with it stores nothing).
struct FillToken {
  std::string generations;
  bool empty() const noexcept { return generations.empty(); }
};

// A lookup that may be followed by a fill: the value, or (only when the value is null: a hit
// needs no fill) the token to fill it with.
struct Lookup {
  Value value;
  FillToken token;
};

// A response that carries Vary (RFC 9111 §4.1): stored under `variant_key` (the primary stored key
// plus the request's secondary key, policy/vary.hpp), with the primary key holding the variant
// index (store/variant_index.hpp) that names the Vary fields and the variants, oldest stored first.
struct VariantFill {
  std::string primary_key;          // logical key + Host secondary key
  std::vector<std::string> fields;  // the Vary field names (lower-case, sorted)
  std::string variant_key;          // primary_key + the Vary secondary key
  std::size_t max_variants = 8;     // beyond this the least recently stored variants are deleted
};

// What a store keeps of an entry's tags at most (more are dropped, longer ones ignored): policy
// bounds them already, the store does not rely on it for its sizes.
inline constexpr std::size_t kMaxTagsPerEntry = 32;
inline constexpr std::size_t kMaxTagBytes = 256;

struct StoreHealth {
  bool connected = true;
  BreakerState state = BreakerState::Closed;
  // The store answers reads but refused the last write with an error reply (Redis full under
  // noeviction, a read-only replica, an ACL): entries can be neither stored nor invalidated.
  bool writes_refused = false;
  // While not connected: why ("TLS handshake with ...: certificate verify failed (...)", "AUTH
  // refused: WRONGPASS ..."); empty when unknown or connected. Never holds a password.
  std::string last_error;
  // Tags this store did not record since it started (beyond kMaxTagsPerEntry per entry, longer
  // than kMaxTagBytes, or malformed: store/tags.hpp), for a counter.
  std::uint64_t tags_dropped = 0;
};

// Contract for every member coroutine:
// - runs on, and completes on, the executor of the coroutine that awaits it;
// - never throws; failures (timeout, unreachable, bad reply) come back as error codes and must
//   be treated by callers as a miss / no-op;
// - completes within the store's configured timeout (or immediately when known to be down).
class CacheStore {
 public:
  virtual ~CacheStore() = default;

  // The value, or null when absent or expired.
  virtual boost::asio::awaitable<result<Value>> get(std::string key) = 0;

  // The value or, when it is absent, the fill token for `key`, read in the same round trip:
  // a caller that will fetch and store the value on a miss looks it up with this.
  virtual boost::asio::awaitable<result<Lookup>> lookup_for_fill(std::string key) = 0;

  // Only the fill token for `key`, for a fill that does not look the entry up first (an
  // explicit refresh, a corrupt entry's refill): read before the upstream is asked.
  virtual boost::asio::awaitable<result<FillToken>> read_fill_token(std::string key) = 0;

  // Stores value for ttl (> 0), unconditionally. `ns` is the rule's namespace ("" = none), for
  // clear(ns). `tags` name the entry for EraseTarget::Kind::Tag (policy deduplicates and bounds
  // them; a store still caps what it keeps, kMaxTagsPerEntry / kMaxTagBytes); they replace the
  // tags an earlier value under `key` had.
  virtual boost::asio::awaitable<boost::system::error_code> put(std::string key, std::string value,
                                                                std::chrono::milliseconds ttl,
                                                                std::string ns,
                                                                std::vector<std::string> tags) = 0;

  // put(), unless `token` predates an erase of the key's path, a prefix erase, a tag erase or a
  // clear (or is empty): then errc::fill_overtaken and nothing is stored.
  virtual boost::asio::awaitable<boost::system::error_code> fill(std::string key, std::string value,
                                                                 std::chrono::milliseconds ttl,
                                                                 std::string ns, FillToken token,
                                                                 std::vector<std::string> tags) = 0;

  // fill() of one variant, and in the same atomic step the variant index under
  // variant.primary_key: the variant is appended (moved to the end when already listed), the
  // oldest variants beyond max_variants are deleted, and an index whose fields differ (or a
  // plain entry under the primary key) is replaced, its variants deleted. The index lives as
  // long as its longest-lived variant. Reads never write it: a hit does not reorder anything.
  // `tags` are the variant's own (the index has none: a tag erase deletes an index once it lists
  // no live variant).
  virtual boost::asio::awaitable<boost::system::error_code> fill_variant(
      VariantFill variant, std::string value, std::chrono::milliseconds ttl, std::string ns,
      FillToken token, std::vector<std::string> tags) = 0;

  // Deletes everything the targets name, in one round trip. Returns how many entries existed.
  virtual boost::asio::awaitable<result<std::uint64_t>> erase(std::vector<EraseTarget> targets) = 0;

  // Deletes every entry of this store (under its prefix only), or only namespace `ns`.
  virtual boost::asio::awaitable<result<std::uint64_t>> clear(std::optional<std::string> ns) = 0;

  // Live entries under this store's prefix.
  virtual boost::asio::awaitable<result<std::uint64_t>> count() = 0;

  // Round trip to the backing store.
  virtual boost::asio::awaitable<result<std::chrono::microseconds>> ping() = 0;

  virtual StoreHealth health() const = 0;
  virtual std::string_view kind() const noexcept = 0;  // "redis" | "memory"
};

}  // namespace cachecar::store
