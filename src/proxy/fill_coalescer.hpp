// Request coalescing: concurrent misses for one cache key in this process make one upstream
// request; the others wait (bounded) for its stored entry. Shared by all worker threads.
#pragma once

#include "store/cache_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cachecar::proxy {

class FillCoalescer {
  struct Flight;

 public:
  // Held by the one request that fetches the key (the leader). publish() hands the encoded
  // entry to the waiters; a lease destroyed without publish() releases them empty-handed
  // (the response was not storable, or the upstream failed), and they go upstream themselves.
  class Lease {
   public:
    Lease() = default;
    Lease(FillCoalescer* owner, std::string key, std::shared_ptr<Flight> flight)
        : owner_(owner), key_(std::move(key)), flight_(std::move(flight)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { release({}); }
    void publish(store::Value entry) { release(std::move(entry)); }
    explicit operator bool() const noexcept { return flight_ != nullptr; }

   private:
    void release(store::Value entry);
    FillCoalescer* owner_ = nullptr;
    std::string key_;
    std::shared_ptr<Flight> flight_;
  };

  struct Joined {
    Lease lease;         // set: you are the leader, fetch and then publish
    store::Value entry;  // set: the leader's entry, serve it
    // Neither set: waited max_wait or the leader had nothing to share; fetch on your own.
  };

  // Becomes the leader for `key`, or waits up to max_wait for the current leader. Resumes on
  // the caller's executor. Never throws.
  boost::asio::awaitable<Joined> join(std::string key, std::chrono::milliseconds max_wait);

  // Becomes the leader for `key` when nobody fetches it now; an empty lease otherwise (never
  // waits): a stale answer that revalidates in the background needs at most one such fetch.
  Lease try_lead(const std::string& key);

 private:
  void finish(const std::string& key, const std::shared_ptr<Flight>& flight, store::Value entry);

  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace cachecar::proxy
