// Invalidations that could not reach the store, kept until they are replayed. While one is
// pending, the entries it names must be neither served nor stored. No I/O here: the replay
// loop (replay_pending) drives a CacheStore.
#pragma once

#include "store/cache_store.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace cachecar::store {

class L1Cache;

// Thread-safe, shared by every worker of a process. Bounded: past `max_pending` queued
// invalidations the queue is dropped and replaced by "everything is pending" until one
// clear() of the whole store succeeds, so an invalidation is never lost — at the price of
// every lookup being a miss meanwhile.
//
// The hit path pays one atomic load (empty()) while nothing is pending.
class PendingInvalidations {
 public:
  explicit PendingInvalidations(std::size_t max_pending);

  enum class Added {
    Queued,
    Overflowed,  // the queue was full: from now on covers() is true for every key until a
                 // clear completes
    Covered,     // already overflowed: the pending clear covers it
  };
  // A write's invalidation that failed.
  Added add(std::vector<EraseTarget> targets);

  bool empty() const noexcept { return !active_.load(std::memory_order_acquire); }
  // Whether a pending invalidation names `stored_key` (a logical key, with or without its
  // secondary part): its exact key, its path's query variants, or a prefix of it; always true
  // when overflowed.
  bool covers(std::string_view stored_key) const;
  std::size_t size() const;  // queued invalidations (an overflow counts as max_pending + 1)
  bool overflowed() const;

  // What the next replay attempt must do: erase `targets` (the queued invalidations up to
  // sequence number `last`), or clear the whole store.
  struct Batch {
    bool clear_all = false;
    std::vector<EraseTarget> targets;
    std::uint64_t last = 0;             // sequence of the newest queued invalidation included
    std::uint64_t failures_before = 0;  // add() calls seen when the batch was taken
  };
  std::optional<Batch> next_batch(std::size_t max_targets = 1000) const;
  // The batch's erase (or clear) succeeded: drops what it covered. Returns how many queued
  // invalidations that was (1 for a completed clear). An overflow ends only if no add()
  // happened since the batch was taken: that failure may have reached Redis after the clear.
  std::size_t completed(const Batch& batch);

 private:
  struct Pending {
    std::uint64_t sequence = 0;
    std::vector<EraseTarget> targets;
  };
  void update_active();  // under mutex_

  const std::size_t max_pending_;
  mutable std::mutex mutex_;
  std::deque<Pending> queue_;
  bool overflowed_ = false;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t failures_ = 0;
  std::atomic<bool> active_{false};
};

// One replay attempt on `store` (on its executor): erases the next batch, or clears the store
// after an overflow. Returns how many queued invalidations it completed (0 when nothing was
// pending), or the store's error (everything stays pending).
// With `l1`, what the batch names is dropped from it before the batch counts as done: L1 may
// have been filled from the store before the erase landed.
boost::asio::awaitable<result<std::size_t>> replay_pending(CacheStore& store,
                                                           PendingInvalidations& pending,
                                                           L1Cache* l1 = nullptr);

// "GET:/a (path and variants), GET:/b* (prefix)" — for log lines.
std::string describe_targets(const std::vector<EraseTarget>& targets);

}  // namespace cachecar::store
