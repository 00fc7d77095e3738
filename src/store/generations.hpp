// Invalidation generations: the one definition of when a fill is overtaken by a write. MemoryStore
// and L1Cache use the table below; the Redis scripts (redis_store.cpp: path_of, bump_path,
// bump_epoch) follow the same rules, and the conformance suite checks that both agree.
//
// - A key's path is the key up to its query or its secondary key (key_path): "GET:/a" for
//   "GET:/a", "GET:/a?x=1" and "GET:/a?x=1 host=h".
// - Every path has a generation, and the store has an epoch.
// - An Exact or PathAndVariants erase of K bumps the generation of key_path(K) (so erasing one
//   query variant fences the fills of every variant of that path); a Prefix erase, a Tag erase
//   (a fill in flight may be about to store an entry with that tag: its tags are known only when
//   it stores) and every clear (all, or one namespace) bump the epoch. A clear of the namespace "" names nothing and bumps
//   nothing.
// - A fill token is the epoch and the generation of the key's path, read before the upstream is
//   asked; a fill stores only while both are unchanged.
//
// In process, paths share kSlots generation slots (a collision only refuses a fill); Redis keeps
// one key per path (P__gen:<path>) and the epoch in P__gen.
#pragma once

#include "core/stored_key.hpp"
#include "store/cache_store.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::store {

// What ends the path of a key: its query or its secondary key.
inline constexpr char kPathEnd[] = {'?', core::kSecondaryKeySeparator, '\0'};

inline std::string_view key_path(std::string_view key) noexcept {
  return key.substr(0, key.find_first_of(kPathEnd));
}

// The in-process table: lock-free, so a token can be read without the owner's lock; the owner
// orders a fill's check-and-insert against erases itself (both under its own mutex).
class Generations {
 public:
  struct Token {
    std::uint64_t epoch = 0;
    std::uint64_t path = 0;
    std::size_t slot = 0;
    friend bool operator==(const Token&, const Token&) = default;
  };

  Token token(std::string_view key) const noexcept {
    const std::size_t s = slot_of(key);
    return {epoch_.load(std::memory_order_seq_cst), slots_[s].load(std::memory_order_seq_cst), s};
  }
  bool current(const Token& t) const noexcept {
    return epoch_.load(std::memory_order_seq_cst) == t.epoch &&
           slots_[t.slot].load(std::memory_order_seq_cst) == t.path;
  }

  // Call before the erase takes effect, so that a fill checking after it sees the bump.
  void erased(const EraseTarget& target) noexcept {
    if (target.kind == EraseTarget::Kind::Prefix || target.kind == EraseTarget::Kind::Tag) {
      bump_epoch();
    } else {
      bump_path(target.key);
    }
  }
  void erased(const std::vector<EraseTarget>& targets) noexcept {
    for (const auto& target : targets) erased(target);
  }
  void cleared(const std::optional<std::string>& ns) noexcept {
    if (!ns || !ns->empty()) bump_epoch();
  }
  void bump_path(std::string_view key) noexcept {
    slots_[slot_of(key)].fetch_add(1, std::memory_order_seq_cst);
  }
  void bump_epoch() noexcept { epoch_.fetch_add(1, std::memory_order_seq_cst); }

  // A token as a FillToken's text, and back (MemoryStore's tokens cross the CacheStore
  // interface as text, like Redis's).
  static FillToken to_fill_token(const Token& t) {
    return FillToken{std::to_string(t.epoch) + ":" + std::to_string(t.path)};
  }
  bool current(std::string_view key, const FillToken& token) const {
    return !token.empty() && token.generations == to_fill_token(this->token(key)).generations;
  }

  static constexpr std::size_t kSlots = 4096;

  // FNV-1a of the key's path: cheap, and stable within a process.
  static std::size_t slot_of(std::string_view key) noexcept {
    std::uint64_t hash = 1469598103934665603ULL;
    for (unsigned char c : key_path(key)) hash = (hash ^ c) * 1099511628211ULL;
    return static_cast<std::size_t>(hash % kSlots);
  }

 private:
  std::atomic<std::uint64_t> epoch_{0};
  std::array<std::atomic<std::uint64_t>, kSlots> slots_{};
};

}  // namespace cachecar::store
