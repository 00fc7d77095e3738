// CacheStore on Redis: one per thread (per io_context), over that thread's Client. Reads are
// one GET; writes, erases, clears and counts are single atomic Lua scripts. Never uses
// KEYS, SCAN or FLUSHDB: other data in the same Redis database is left alone.
#pragma once

#include "store/cache_store.hpp"
#include "store/redis/client.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <string>

namespace cachecar::store::redis {

// Key layout, for prefix P (default "cachecar:") and logical key K ("GET:/api/posts/1"):
//   P K               string  the cached value, SET ... PX ttl (Redis expires it)
//   P "__index"       zset    every logical key, score 0: lexicographic ranges (ZRANGEBYLEX)
//                             serve PathAndVariants ([K, [K?..(K@) and Prefix ([K..)
//   P "__expiry"      zset    logical key -> expiry (unix ms, Redis TIME); expired members are
//                             purged from the bookkeeping (≤16 per put, all on count())
//   P "__keyns"       hash    logical key -> namespace (only keys stored with one)
//   P "__ns:" N       set     logical keys of namespace N
//   P "__namespaces"  set     namespace names in use (so clear() can find every __ns: set)
// Logical keys begin with an upper-case HTTP method and ':', so they never collide with the
// "__" names. Scripts build key names from P inside Lua (not cluster-safe: single node only).
//
// Scripts run with EVALSHA (SHA-1 computed locally) and fall back to EVAL on NOSCRIPT, which
// also caches them on the server again (e.g. after a Redis restart).
//
// Ordering: every operation queues its (first) command before it first suspends (see
// Client::execute), so a put followed by a get on the same thread reaches Redis in that order
// (one connection). Exception: a put that meets NOSCRIPT re-sends itself as EVAL afterwards.
//
// Known limit: an entry evicted by Redis's maxmemory policy stays in the index until an erase
// or clear meets it, so count() may overstate until then.
class RedisStore final : public CacheStore {
 public:
  static constexpr std::string_view kDefaultKeyPrefix = "cachecar:";

  // Starts connecting in the background (see Client). The store must outlive every coroutine
  // using it, and is destroyed on its executor's thread (or once its io_context stopped).
  RedisStore(boost::asio::any_io_executor executor, Client::Options options,
             std::string key_prefix = std::string(kDefaultKeyPrefix),
             Client::Observer observer = {});

  boost::asio::awaitable<result<Value>> get(std::string key, FillToken* token = nullptr) override;
  boost::asio::awaitable<boost::system::error_code> put(std::string key, std::string value,
                                                        std::chrono::milliseconds ttl,
                                                        std::string ns,
                                                        const FillToken* token = nullptr) override;
  boost::asio::awaitable<result<std::uint64_t>> erase(std::vector<EraseTarget> targets) override;
  // clear(""): entries stored without a namespace are not a namespace: deletes nothing.
  boost::asio::awaitable<result<std::uint64_t>> clear(std::optional<std::string> ns) override;
  boost::asio::awaitable<result<std::uint64_t>> count() override;
  boost::asio::awaitable<result<std::chrono::microseconds>> ping() override;
  StoreHealth health() const override { return client_.health(); }
  std::string_view kind() const noexcept override { return "redis"; }

  // How long an erase's path generation is kept: longer than any fill (upstream request +
  // store round trip) can take, or a fill that outlived it could store overtaken data.
  void set_fill_window(std::chrono::milliseconds window) { fill_window_ = window; }

  Client& client() noexcept { return client_; }
  const std::string& key_prefix() const noexcept { return prefix_; }
  void stop() { client_.stop(); }

  // A Lua script with its SHA-1 (hex), as EVALSHA wants it.
  struct Script {
    std::string body;
    std::string sha1;
  };
  static const Script& put_script();
  static const Script& erase_script();
  static const Script& clear_script();
  static const Script& count_script();

 private:
  // EVALSHA (0 keys) with `argv`; EVAL when the server does not know the script.
  boost::asio::awaitable<result<Reply>> run_script(const Script& script,
                                                   std::vector<std::string_view> argv);
  boost::asio::awaitable<result<std::uint64_t>> run_counting_script(
      const Script& script, std::vector<std::string_view> argv);

  Client client_;
  std::string prefix_;
  std::string epoch_key_;  // prefix + "__gen"
  std::chrono::milliseconds fill_window_{std::chrono::minutes(10)};
};

// Lowercase hex SHA-1 of `data`.
std::string sha1_hex(std::string_view data);

}  // namespace cachecar::store::redis
