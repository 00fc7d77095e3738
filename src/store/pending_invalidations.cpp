#include "store/pending_invalidations.hpp"

#include "core/stored_key.hpp"
#include "store/l1_cache.hpp"

#include <algorithm>

namespace cachecar::store {

namespace {

bool target_covers(const EraseTarget& target, std::string_view key) {
  switch (target.kind) {
    case EraseTarget::Kind::Exact:
      return key == target.key;
    case EraseTarget::Kind::PathAndVariants:
      return key.starts_with(target.key) &&
             (key.size() == target.key.size() || key[target.key.size()] == '?');
    case EraseTarget::Kind::Prefix:
      return key.starts_with(target.key);
    case EraseTarget::Kind::Tag:
      return true;
  }
  return true;
}

}  // namespace

PendingInvalidations::PendingInvalidations(std::size_t max_pending)
    : max_pending_(std::max<std::size_t>(max_pending, 1)) {}

void PendingInvalidations::update_active() {
  active_.store(overflowed_ || !queue_.empty(), std::memory_order_release);
}

PendingInvalidations::Added PendingInvalidations::add(std::vector<EraseTarget> targets) {
  std::vector<Pending> dropped;  // freed outside the lock
  std::lock_guard lock(mutex_);
  ++failures_;
  if (!overflowed_ && queue_.size() < max_pending_) {
    queue_.push_back({next_sequence_++, std::move(targets)});
    update_active();
    return Added::Queued;
  }
  if (overflowed_) return Added::Covered;
  overflowed_ = true;
  dropped.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  update_active();
  return Added::Overflowed;
}

bool PendingInvalidations::covers(std::string_view stored_key) const {
  if (empty()) return false;
  // Targets name logical keys; an invalidation covers every variant (Host, …) of them.
  const std::string_view key = core::logical_key(stored_key);
  std::lock_guard lock(mutex_);
  if (overflowed_) return true;
  for (const auto& pending : queue_) {
    for (const auto& target : pending.targets) {
      if (target_covers(target, key)) return true;
    }
  }
  return false;
}

std::size_t PendingInvalidations::size() const {
  std::lock_guard lock(mutex_);
  return overflowed_ ? max_pending_ + 1 : queue_.size();
}

bool PendingInvalidations::overflowed() const {
  std::lock_guard lock(mutex_);
  return overflowed_;
}

std::optional<PendingInvalidations::Batch> PendingInvalidations::next_batch(
    std::size_t max_targets) const {
  if (empty()) return std::nullopt;
  std::lock_guard lock(mutex_);
  Batch batch;
  batch.failures_before = failures_;
  if (overflowed_) {
    batch.clear_all = true;
    return batch;
  }
  if (queue_.empty()) return std::nullopt;
  // Whole invalidations only, at least one, up to about max_targets targets.
  for (const auto& pending : queue_) {
    if (!batch.targets.empty() && batch.targets.size() + pending.targets.size() > max_targets) {
      break;
    }
    batch.targets.insert(batch.targets.end(), pending.targets.begin(), pending.targets.end());
    batch.last = pending.sequence;
  }
  return batch;
}

std::size_t PendingInvalidations::completed(const Batch& batch) {
  std::vector<Pending> done;  // freed outside the lock
  std::lock_guard lock(mutex_);
  if (batch.clear_all) {
    if (!overflowed_ || failures_ != batch.failures_before) return 0;
    overflowed_ = false;
    update_active();
    return 1;
  }
  while (!queue_.empty() && queue_.front().sequence <= batch.last) {
    done.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  update_active();
  return done.size();
}

boost::asio::awaitable<result<std::size_t>> replay_pending(CacheStore& store,
                                                           PendingInvalidations& pending,
                                                           L1Cache* l1) {
  auto batch = pending.next_batch();
  if (!batch) co_return std::size_t{0};
  // Named locals moved in, not temporaries: GCC 12 destroys prvalue coroutine arguments twice.
  if (batch->clear_all) {
    std::optional<std::string> everything;
    auto cleared = co_await store.clear(std::move(everything));
    if (!cleared) co_return cleared.error();
    if (l1) l1->invalidate_all();
  } else {
    auto targets = batch->targets;
    auto erased = co_await store.erase(std::move(targets));
    if (!erased) co_return erased.error();
    if (l1) l1->erase(batch->targets);
  }
  co_return pending.completed(*batch);
}

std::string describe_targets(const std::vector<EraseTarget>& targets) {
  std::string out;
  for (const auto& target : targets) {
    if (!out.empty()) out.append(", ");
    out.append(target.key);
    switch (target.kind) {
      case EraseTarget::Kind::Exact:
        break;
      case EraseTarget::Kind::PathAndVariants:
        out.append(" (and its query variants)");
        break;
      case EraseTarget::Kind::Prefix:
        out.append("*");
        break;
      case EraseTarget::Kind::Tag:
        out.append(" (tag)");
        break;
    }
  }
  return out;
}

}  // namespace cachecar::store
