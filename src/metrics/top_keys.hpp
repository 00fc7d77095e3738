// The most looked-up cache keys in bounded memory (Space-Saving), whatever the number of
// distinct keys. Not thread-safe: Metrics keeps one per shard behind that shard's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cachecar::metrics {

// Space-Saving (Metwally, Agrawal, El Abbadi, 2005). At most `capacity` counters exist. A key
// already tracked gets +1. A new key takes a free counter, or else evicts the key with the
// smallest count and inherits that count + 1, remembering the inherited part as `error` (how
// much the count may overstate). So with N lookups in total:
//   - every key looked up more than N / capacity times is tracked;
//   - each count overstates the true count by at most `error` <= N / capacity;
//   - keys that never collided (few distinct keys) are counted exactly (error 0).
// A binary min-heap over the counts, with an index from key to heap slot, finds the smallest
// counter in O(1) and keeps it in O(log capacity) per update.
class TopKeys {
 public:
  struct Entry {
    std::string key;
    std::uint64_t count = 0;
    std::uint64_t error = 0;  // count - error <= true count <= count
    bool operator==(const Entry&) const = default;
  };

  // Longer keys are tracked by their first kMaxKeyBytes bytes followed by "*", which the admin
  // API reads as "every key with this prefix". Bounds memory to capacity * ~kMaxKeyBytes.
  static constexpr std::size_t kMaxKeyBytes = 1024;

  explicit TopKeys(std::size_t capacity);

  void add(std::string_view key, std::uint64_t weight = 1);
  void clear();

  // The n largest counts, largest first (ties: key ascending).
  std::vector<Entry> top(std::size_t n) const;
  // Every tracked entry, in no particular order.
  std::vector<Entry> entries() const;

  std::size_t size() const noexcept { return heap_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Index = std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>>;

  struct Slot {
    Index::value_type* entry;  // the key and (as its mapped value) this slot's position;
                               // element pointers survive rehashing, iterators do not
    std::uint64_t count = 0;
    std::uint64_t error = 0;
  };

  void place(std::size_t position, Slot slot);
  void sift_up(std::size_t position);
  void sift_down(std::size_t position);

  std::size_t capacity_;
  std::vector<Slot> heap_;  // min-heap by count
  Index index_;             // key -> position in heap_
};

// Sums per-key counts of several summaries (e.g. one per thread) and returns the n largest,
// largest first (ties: key ascending).
std::vector<TopKeys::Entry> merge_top(std::vector<std::vector<TopKeys::Entry>> parts,
                                      std::size_t n);

}  // namespace cachecar::metrics
