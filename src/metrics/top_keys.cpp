#include "metrics/top_keys.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace cachecar::metrics {
namespace {

bool larger_first(const TopKeys::Entry& a, const TopKeys::Entry& b) {
  if (a.count != b.count) return a.count > b.count;
  return a.key < b.key;
}

}  // namespace

TopKeys::TopKeys(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
  heap_.reserve(capacity_);
  index_.reserve(capacity_);
}

void TopKeys::place(std::size_t position, Slot slot) {
  slot.entry->second = position;
  heap_[position] = slot;
}

void TopKeys::sift_up(std::size_t position) {
  Slot slot = heap_[position];
  while (position > 0) {
    const std::size_t parent = (position - 1) / 2;
    if (heap_[parent].count <= slot.count) break;
    place(position, heap_[parent]);
    position = parent;
  }
  place(position, slot);
}

void TopKeys::sift_down(std::size_t position) {
  Slot slot = heap_[position];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * position + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1].count < heap_[child].count) ++child;
    if (heap_[child].count >= slot.count) break;
    place(position, heap_[child]);
    position = child;
  }
  place(position, slot);
}

void TopKeys::add(std::string_view key, std::uint64_t weight) {
  std::string truncated;
  if (key.size() > kMaxKeyBytes) {
    truncated.reserve(kMaxKeyBytes + 1);
    truncated.append(key.substr(0, kMaxKeyBytes));
    truncated.push_back('*');
    key = truncated;
  }
  if (auto it = index_.find(key); it != index_.end()) {
    const std::size_t position = it->second;
    heap_[position].count += weight;
    sift_down(position);  // a larger count moves away from the root
    return;
  }
  if (heap_.size() < capacity_) {
    auto [it, inserted] = index_.emplace(std::string(key), heap_.size());
    assert(inserted);
    heap_.push_back(Slot{&*it, weight, 0});
    sift_up(heap_.size() - 1);
    return;
  }
  // Full: the key with the smallest count (the root) gives its counter to the new key.
  const std::uint64_t inherited = heap_.front().count;
  index_.erase(index_.find(heap_.front().entry->first));
  auto [it, inserted] = index_.emplace(std::string(key), 0);
  assert(inserted);
  heap_.front() = Slot{&*it, inherited + weight, inherited};
  sift_down(0);
}

void TopKeys::clear() {
  heap_.clear();
  index_.clear();
}

std::vector<TopKeys::Entry> TopKeys::entries() const {
  std::vector<Entry> out;
  out.reserve(heap_.size());
  for (const auto& slot : heap_) out.push_back(Entry{slot.entry->first, slot.count, slot.error});
  return out;
}

std::vector<TopKeys::Entry> TopKeys::top(std::size_t n) const {
  auto out = entries();
  const std::size_t keep = std::min(n, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(keep), out.end(),
                    larger_first);
  out.resize(keep);
  return out;
}

std::vector<TopKeys::Entry> merge_top(std::vector<std::vector<TopKeys::Entry>> parts,
                                      std::size_t n) {
  std::unordered_map<std::string, TopKeys::Entry> sums;
  for (auto& part : parts) {
    for (auto& entry : part) {
      auto [it, inserted] = sums.try_emplace(entry.key);
      if (inserted) it->second.key = std::move(entry.key);
      it->second.count += entry.count;
      it->second.error += entry.error;
    }
  }
  std::vector<TopKeys::Entry> out;
  out.reserve(sums.size());
  for (auto& [key, entry] : sums) out.push_back(std::move(entry));
  const std::size_t keep = std::min(n, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(keep), out.end(),
                    larger_first);
  out.resize(keep);
  return out;
}

}  // namespace cachecar::metrics
