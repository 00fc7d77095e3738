#include "store/entry_table.hpp"

#include "store/variant_index.hpp"

#include <algorithm>

namespace cachecar::store {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::int64_t EntryTable::system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bool EntryTable::remove(Entries::iterator it, std::int64_t now, Graveyard& graveyard) {
  Entry& e = it->second;
  const bool index = is_variant_index(*e.value);
  const bool live = !expired(e, now) && !index;
  if (index) --variant_indexes_;
  by_expiry_.erase({e.expires_at_ms, &it->first});
  if (!e.ns.empty()) {
    auto ns = namespaces_.find(e.ns);
    if (ns != namespaces_.end()) {
      ns->second.erase(&it->first);
      if (ns->second.empty()) namespaces_.erase(ns);
    }
  }
  for (const auto& tag : e.tags) {
    auto set = tags_.find(tag);
    if (set != tags_.end()) {
      set->second.erase(&it->first);
      if (set->second.empty()) tags_.erase(set);
    }
  }
  lru_.erase(e.lru);
  bytes_ -= it->first.size() + e.value->size();
  graveyard.nodes.push_back(entries_.extract(it));
  return live;
}

// Every key starting with `prefix` is contiguous in the ordered map from lower_bound(prefix).
std::uint64_t EntryTable::remove_range(std::string_view prefix, std::int64_t now,
                                       Graveyard& graveyard) {
  std::uint64_t removed = 0;
  auto it = entries_.lower_bound(prefix);
  while (it != entries_.end() && starts_with(it->first, prefix)) {
    auto victim = it++;
    removed += remove(victim, now, graveyard) ? 1 : 0;
  }
  return removed;
}

// Every entry tagged `tag`; then each variant index that listed one of them and lists no live
// variant any more (an index has no tags of its own).
std::uint64_t EntryTable::remove_tagged(const std::string& tag, std::int64_t now,
                                        Graveyard& graveyard) {
  auto set = tags_.find(tag);
  if (set == tags_.end()) return 0;
  // Copy the members: remove() edits the set we would be iterating.
  const std::vector<const std::string*> keys(set->second.begin(), set->second.end());
  std::vector<std::string> primaries;
  std::uint64_t removed = 0;
  for (const std::string* key : keys) {
    const std::size_t last = key->rfind(core::kSecondaryKeySeparator);
    if (last != std::string::npos) primaries.push_back(key->substr(0, last));
    removed += remove(entries_.find(*key), now, graveyard) ? 1 : 0;
  }
  for (const auto& primary : primaries) {
    auto index = entries_.find(primary);
    if (index == entries_.end() || !is_variant_index(*index->second.value)) continue;
    const auto members = variant_index_members(*index->second.value);
    const bool live = std::any_of(members.begin(), members.end(), [&](const std::string& member) {
      return peek(primary + member, now).has_value();
    });
    if (!live) remove(index, now, graveyard);
  }
  return removed;
}

void EntryTable::purge_expired(std::int64_t now, Graveyard& graveyard) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    auto it = entries_.find(*by_expiry_.begin()->second);
    remove(it, now, graveyard);
  }
}

std::optional<EntryTable::Peeked> EntryTable::peek(std::string_view key, std::int64_t now) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || expired(it->second, now)) return std::nullopt;
  return Peeked{it->second.value, it->second.expires_at_ms};
}

void EntryTable::erase_key(std::string_view key, std::int64_t now, Graveyard& graveyard) {
  if (auto it = entries_.find(key); it != entries_.end()) remove(it, now, graveyard);
}

Value EntryTable::get(const std::string& key, std::int64_t now, Graveyard& graveyard) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (expired(it->second, now)) {
    remove(it, now, graveyard);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.value;
}

void EntryTable::put(std::string key, Value value, std::chrono::milliseconds ttl, std::string ns,
                     std::int64_t now, Graveyard& graveyard, std::vector<std::string> tags) {
  if (!value) return;
  const std::uint64_t size = key.size() + value->size();
  purge_expired(now, graveyard);
  if (auto old = entries_.find(key); old != entries_.end()) remove(old, now, graveyard);
  if (size > max_bytes_ || ttl.count() <= 0) return;  // too large for the whole table: not kept

  while (bytes_ + size > max_bytes_ && !lru_.empty()) remove(lru_.back(), now, graveyard);

  auto it = entries_.try_emplace(std::move(key)).first;
  Entry& e = it->second;
  e.value = std::move(value);
  e.expires_at_ms = now + ttl.count();
  e.ns = std::move(ns);
  lru_.push_front(it);
  e.lru = lru_.begin();
  by_expiry_.emplace(e.expires_at_ms, &it->first);
  if (!e.ns.empty()) namespaces_[e.ns].insert(&it->first);
  e.tags = std::move(tags);
  for (const auto& tag : e.tags) tags_[tag].insert(&it->first);
  bytes_ += size;
  if (is_variant_index(*e.value)) ++variant_indexes_;
}

std::uint64_t EntryTable::erase(const EraseTarget& target, std::int64_t now, Graveyard& graveyard) {
  std::uint64_t removed = 0;
  switch (target.kind) {
    case EraseTarget::Kind::Exact:
    case EraseTarget::Kind::PathAndVariants:
      if (auto it = entries_.find(target.key); it != entries_.end()) {
        removed += remove(it, now, graveyard) ? 1 : 0;
      }
      removed += remove_range(target.key + core::kSecondaryKeySeparator, now, graveyard);
      if (target.kind == EraseTarget::Kind::PathAndVariants) {
        removed += remove_range(target.key + "?", now, graveyard);
      }
      break;
    case EraseTarget::Kind::Prefix:
      removed += remove_range(target.key, now, graveyard);
      break;
    case EraseTarget::Kind::Tag:
      removed += remove_tagged(target.key, now, graveyard);
      break;
  }
  return removed;
}

std::uint64_t EntryTable::clear(const std::optional<std::string>& ns, std::int64_t now,
                                Graveyard& graveyard) {
  std::uint64_t removed = 0;
  if (!ns) {
    for (const auto& [key, e] : entries_) {
      removed += expired(e, now) || is_variant_index(*e.value) ? 0 : 1;
    }
    graveyard.tables.push_back(std::exchange(entries_, {}));
    graveyard.lrus.push_back(std::exchange(lru_, {}));
    by_expiry_.clear();
    namespaces_.clear();
    tags_.clear();
    bytes_ = 0;
    variant_indexes_ = 0;
    return removed;
  }
  auto set = namespaces_.find(*ns);
  if (set == namespaces_.end()) return 0;
  // Copy the members: remove() edits the set we would be iterating.
  const std::vector<const std::string*> keys(set->second.begin(), set->second.end());
  for (const std::string* key : keys) {
    removed += remove(entries_.find(*key), now, graveyard) ? 1 : 0;
  }
  return removed;
}

std::uint64_t EntryTable::count(std::int64_t now, Graveyard& graveyard) {
  purge_expired(now, graveyard);
  return entries_.size() - variant_indexes_;
}

}  // namespace cachecar::store
