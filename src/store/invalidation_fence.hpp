// Tells an L1 fill whether an invalidation in this process may have overtaken it. A fill takes
// a ticket before it reads the value it will store (from Redis); every invalidation bumps the
// generation of the slot its key's path hashes to, or, for prefix erases and flushes, the epoch. A
// ticket that is no longer current means the value may predate a write. Lock-free; shared by all
// threads. Collisions only cost a spurious "stale".
#pragma once

#include "store/cache_store.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cachecar::store {

class InvalidationFence {
 public:
  struct Ticket {
    std::uint64_t epoch = 0;
    std::uint64_t slot_generation = 0;
    std::size_t slot = 0;
  };

  Ticket ticket(std::string_view key) const noexcept {
    const std::size_t s = slot(key);
    return {epoch_.load(std::memory_order_seq_cst), slots_[s].load(std::memory_order_seq_cst), s};
  }

  bool still_current(const Ticket& ticket) const noexcept {
    return epoch_.load(std::memory_order_seq_cst) == ticket.epoch &&
           slots_[ticket.slot].load(std::memory_order_seq_cst) == ticket.slot_generation;
  }

  // Call before the store's erase is issued: a fill that stores after it then sees the change.
  void invalidated(const std::vector<EraseTarget>& targets) noexcept {
    for (const auto& target : targets) {
      if (target.kind == EraseTarget::Kind::Prefix) {
        invalidated_all();
      } else {
        invalidated(target.key);  // exact or path-and-variants: all share the path's slot
      }
    }
  }
  void invalidated(std::string_view key) noexcept {
    slots_[slot(key)].fetch_add(1, std::memory_order_seq_cst);
  }
  void invalidated_all() noexcept { epoch_.fetch_add(1, std::memory_order_seq_cst); }

 private:
  static constexpr std::size_t kSlots = 4096;

  // By the key's path ("GET:/a" for "GET:/a?x=1" and "GET:/a host=h"), so that erasing a path
  // and its query and host variants moves exactly the slot every variant's ticket watches.
  static std::size_t slot(std::string_view key) noexcept {
    const auto path = key_path(key);
    std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a: cheap, and stable within a process
    for (unsigned char c : path) hash = (hash ^ c) * 1099511628211ULL;
    return static_cast<std::size_t>(hash % kSlots);
  }

  std::atomic<std::uint64_t> epoch_{0};
  std::array<std::atomic<std::uint64_t>, kSlots> slots_{};
};

}  // namespace cachecar::store
