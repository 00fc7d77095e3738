// CacheStore on Redis: one per thread (per io_context), over that thread's Client. Reads are
// one MGET; writes, erases, clears and counts are single atomic Lua scripts. Never uses
// KEYS, SCAN or FLUSHDB: other data in the same Redis database is left alone.
#pragma once

#include "store/cache_store.hpp"
#include "store/generations.hpp"
#include "store/redis/client.hpp"
#include "store/redis/key_names.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace cachecar::store::redis {

// Key layout, for prefix P (default "cachecar:") and logical key K ("GET:/api/posts/1"). Every
// name below is P + a logical name ("GET:/a", "__index", "__tag:t") or, with cache.key_hash:
// sha256, P + the 64 hex digits of that logical name's SHA-256 (KeyNames), so that no key name
// holds a URL. Members and values hold logical keys either way.
//   P K               string  the cached value, SET ... PX ttl (Redis expires it)
//   P "__index"       zset    every logical key, score 0: lexicographic ranges (ZRANGEBYLEX)
//                             serve PathAndVariants ([K, [K?..(K@) and Prefix ([K..)
//   P "__expiry"      zset    logical key -> expiry (unix ms, Redis TIME); expired members are
//                             purged from the bookkeeping (≤16 per put, all on count())
//   P "__keyns"       hash    logical key -> namespace (only keys stored with one)
//   P "__ns:" N       set     logical keys of namespace N
//   P "__namespaces"  set     namespace names in use (so clear() can find every __ns: set)
//   P "__gen"         string  the epoch '<id>:<n>': <id> changes when lost bookkeeping is
//                             rebuilt (entries end with the <id> they were stored under);
//                             <n> counts prefix erases, tag erases and clears, for fill tokens
//   P "__gen:" path   string  the path's generation, set by erases, PX the fill window
//   P "__gens"        zset    path -> when its generation expires, so that a put notices one
//                             that Redis evicted
//   P "__vary"        set     the keys that hold a variant index (store/variant_index.hpp),
//                             so that counts leave them out (an index is not an entry)
//   P "__tag:" T      zset    stored key -> its entry's expiry, for every entry tagged T, and
//                             the sentinel '' at +inf
//   P "__tags"        zset    tag set's Redis name -> when its longest-lived member expires;
//                             the scripts delete tag sets whose time has passed (no Redis TTL:
//                             see the prelude in scripts.cpp)
//   P "__keytags"     hash    tagged stored key -> its tag sets' Redis names, '\n'-separated
//   P "__names"       hash    (sha256 only) logical name (stored key, "__ns:" N) -> Redis name,
//                             for the keys a script finds at run time: Lua has no SHA-256
// A response with Vary is stored under P K' (K' = its primary key K + the secondary key) and
// the index under P K; both are ordinary entries for the index, expiry and namespaces, so
// erases, clears and expiry treat them like any other.
// Index, expiry, namespace map and list, the generation registry, the tag registry and map and
// the name map keep a sentinel member '' (not __vary: its loss only makes counts include
// indexes) so that their eviction shows as their absence (docs/architecture.md, "Redis").
// Logical keys begin with an upper-case HTTP method and ':', so they never collide with the
// "__" names. Scripts get the keys they know up front in KEYS; those they find at run time
// (index ranges, namespace and tag set members, random members to sweep) they build from P, or
// with sha256 read from __names.
//
// Scripts run with EVALSHA (SHA-1 computed locally) and fall back to EVAL on NOSCRIPT, which
// also caches them on the server again (e.g. after a Redis restart). Erase, clear and count
// declare allow-oom (Redis 7): they must run when Redis is full under noeviction.
//
// Ordering: every operation queues its (first) command before it first suspends (see
// Client::execute), so a put followed by a get on the same thread reaches Redis in that order
// (one connection). Exception: a put that meets NOSCRIPT re-sends itself as EVAL afterwards.
//
// Entries evicted by Redis's maxmemory policy leave the index as puts sample it (a few random
// members per put), so count() may overstate by a fraction until then.
class RedisStore final : public CacheStore {
 public:
  static constexpr std::string_view kDefaultKeyPrefix = "cachecar:";

  // Called on the store's executor with the server's maxmemory-policy ("" if unknown) and
  // maxmemory (bytes, 0 = no limit) each time a connection comes up.
  using PolicyHandler = std::function<void(std::string_view policy, std::uint64_t maxmemory)>;

  // Starts connecting in the background (see Client). The store must outlive every coroutine
  // using it, and is destroyed on its executor's thread (or once its io_context stopped).
  RedisStore(boost::asio::any_io_executor executor, Client::Options options,
             std::string key_prefix = std::string(kDefaultKeyPrefix),
             Client::Observer observer = {}, PolicyHandler on_policy = {},
             KeyHash key_hash = KeyHash::None);

  boost::asio::awaitable<result<Value>> get(std::string key) override;
  boost::asio::awaitable<result<Lookup>> lookup_for_fill(std::string key) override;
  boost::asio::awaitable<result<FillToken>> read_fill_token(std::string key) override;
  boost::asio::awaitable<boost::system::error_code> put(std::string key, std::string value,
                                                        std::chrono::milliseconds ttl,
                                                        std::string ns,
                                                        std::vector<std::string> tags) override;
  boost::asio::awaitable<boost::system::error_code> fill(std::string key, std::string value,
                                                         std::chrono::milliseconds ttl,
                                                         std::string ns, FillToken token,
                                                         std::vector<std::string> tags) override;
  boost::asio::awaitable<boost::system::error_code> fill_variant(
      VariantFill variant, std::string value, std::chrono::milliseconds ttl, std::string ns,
      FillToken token, std::vector<std::string> tags) override;
  boost::asio::awaitable<result<std::uint64_t>> erase(std::vector<EraseTarget> targets) override;
  // clear(""): entries stored without a namespace are not a namespace: deletes nothing.
  boost::asio::awaitable<result<std::uint64_t>> clear(std::optional<std::string> ns) override;
  boost::asio::awaitable<result<std::uint64_t>> count() override;
  boost::asio::awaitable<result<std::chrono::microseconds>> ping() override;
  StoreHealth health() const override {
    auto health = client_.health();
    health.writes_refused = fills_refused_.load(std::memory_order_relaxed) ||
                            erases_refused_.load(std::memory_order_relaxed);
    health.tags_dropped = tags_dropped_.load(std::memory_order_relaxed);
    return health;
  }
  std::string_view kind() const noexcept override { return "redis"; }

  // How long an erase's path generation is kept: longer than any fill (upstream request +
  // store round trip) can take, or a fill that outlived it could store overtaken data.
  void set_fill_window(std::chrono::milliseconds window) { fill_window_ = window; }

  // The server's maxmemory-policy as read by the last connection ("" until then, or when
  // INFO is denied). Executor thread only.
  const std::string& maxmemory_policy() const noexcept { return server_info_->maxmemory_policy; }
  std::uint64_t maxmemory() const noexcept { return server_info_->maxmemory; }  // 0: no limit
  Client& client() noexcept { return client_; }
  const std::string& key_prefix() const noexcept { return prefix_; }
  const KeyNames& key_names() const noexcept { return names_; }
  void stop() { client_.stop(); }

  // A Lua script with its SHA-1 (hex), as EVALSHA wants it.
  struct Script {
    std::string body;
    std::string sha1;
  };
  static const Script& put_script();
  static const Script& fill_variant_script();
  static const Script& erase_script();
  static const Script& clear_script();
  static const Script& count_script();
  static const Script& setup_script();

  // What a new connection learnt about the server (shared with the connection's set-up).
  struct ServerInfo {
    std::string maxmemory_policy;
    std::uint64_t maxmemory = 0;
    PolicyHandler on_policy;
  };

 private:
  // EVALSHA with the bookkeeping keys, then `keys`, as KEYS and `argv` as ARGV; EVAL when the
  // server does not know the script.
  boost::asio::awaitable<result<Reply>> run_script(const Script& script,
                                                   std::vector<std::string_view> keys,
                                                   std::vector<std::string_view> argv);
  // The put script; an empty `generations` stores unconditionally.
  boost::asio::awaitable<boost::system::error_code> run_put(
      std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
      std::string_view ns, std::string_view generations, std::vector<std::string> tags);
  boost::asio::awaitable<result<std::uint64_t>> run_counting_script(
      const Script& script, std::vector<std::string_view> keys, std::vector<std::string_view> argv);

  // The Redis name of "__gen:" key_path(key): the path generation a fill of `key` watches.
  std::string path_generation_key(std::string_view key) const {
    return names_.of("__gen:" + std::string(key_path(key)));
  }
  std::string namespace_key(std::string_view ns) const {
    return names_.of("__ns:" + std::string(ns));
  }
  // The Redis names of the tag sets of the tags kept (store/tags.hpp); counts the dropped ones.
  std::vector<std::string> tag_set_keys(std::vector<std::string> tags);

  std::shared_ptr<ServerInfo> server_info_;  // before client_: its connections use it
  Client client_;
  std::string prefix_;
  KeyNames names_;
  std::string mode_prefix_;                // ARGV[1] of every script: "n" + prefix, or "h"
  std::string epoch_key_;                  // names_.of("__gen")
  std::array<std::string, 10> book_keys_;  // KEYS[1..10] of every script
  std::chrono::milliseconds fill_window_{std::chrono::minutes(10)};
  // The last fill / the last erase, clear or count got an error reply; read by /health.
  std::atomic<bool> fills_refused_{false};
  std::atomic<bool> erases_refused_{false};
  std::atomic<std::uint64_t> tags_dropped_{0};
};

// Why a maxmemory-policy hurts cachecar ("" when it does not): noeviction makes fills fail
// once Redis is full (or, without maxmemory, lets Redis grow), allkeys-* may evict the
// bookkeeping. volatile-lru/lfu is recommended.
std::string_view maxmemory_policy_warning(std::string_view policy, std::uint64_t maxmemory);

// Lowercase hex SHA-1 of `data`.
std::string sha1_hex(std::string_view data);

}  // namespace cachecar::store::redis
