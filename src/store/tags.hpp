// What a store keeps of an entry's tags (EraseTarget::Kind::Tag): the one definition both stores
// apply before recording them. Pure string handling, no I/O.
#pragma once

#include "store/cache_store.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cachecar::store {

struct KeptTags {
  std::vector<std::string> tags;  // distinct, in the order given, at most kMaxTagsPerEntry
  std::size_t dropped = 0;        // given but not kept: beyond the cap, too long, or malformed
};

// A tag is kept when it is 1..kMaxTagBytes bytes without a control character (stores separate
// tags with line breaks), and is not a repeat; the first kMaxTagsPerEntry such tags are kept.
inline KeptTags keep_tags(std::vector<std::string> tags) {
  KeptTags kept;
  for (auto& tag : tags) {
    const bool valid = !tag.empty() && tag.size() <= kMaxTagBytes &&
                       std::none_of(tag.begin(), tag.end(), [](char c) {
                         return static_cast<unsigned char>(c) < 0x20 || c == '\x7f';
                       });
    if (!valid || kept.tags.size() == kMaxTagsPerEntry) {
      ++kept.dropped;
      continue;
    }
    if (std::find(kept.tags.begin(), kept.tags.end(), tag) != kept.tags.end()) continue;
    kept.tags.push_back(std::move(tag));
  }
  return kept;
}

}  // namespace cachecar::store
