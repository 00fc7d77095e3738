#include "proxy/fill_coalescer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <vector>

namespace cachecar::proxy {

namespace asio = boost::asio;

// A waiter sleeps on a timer of its own executor; the leader wakes it by posting a cancel to
// that executor (timers are not thread-safe). The timer's expiry is the bounded wait.
struct Waiter {
  explicit Waiter(asio::any_io_executor executor) : timer(std::move(executor)) {}
  asio::steady_timer timer;
};

struct FillCoalescer::Flight {
  bool done = false;   // guarded by the coalescer's mutex
  store::Value entry;  // written once, before done
  std::vector<std::shared_ptr<Waiter>> waiters;
};

FillCoalescer::Lease& FillCoalescer::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release({});
    owner_ = other.owner_;
    key_ = std::move(other.key_);
    flight_ = std::move(other.flight_);
  }
  return *this;
}

void FillCoalescer::Lease::release(store::Value entry) {
  if (!flight_) return;
  auto flight = std::move(flight_);
  owner_->finish(key_, flight, std::move(entry));
}

asio::awaitable<FillCoalescer::Joined> FillCoalescer::join(std::string key,
                                                           std::chrono::milliseconds max_wait) {
  Joined joined;
  std::shared_ptr<Flight> flight;
  std::shared_ptr<Waiter> waiter;
  auto executor = co_await asio::this_coro::executor;
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = flights_.try_emplace(key);
    if (inserted) {
      it->second = std::make_shared<Flight>();
      joined.lease = Lease(this, std::move(key), it->second);
      co_return joined;
    }
    flight = it->second;
    waiter = std::make_shared<Waiter>(executor);
    waiter->timer.expires_after(max_wait);
    flight->waiters.push_back(waiter);
  }
  co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(mutex_);
  if (flight->done) joined.entry = flight->entry;
  co_return joined;
}

FillCoalescer::Lease FillCoalescer::try_lead(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = flights_.try_emplace(key);
  if (!inserted) return {};
  it->second = std::make_shared<Flight>();
  return Lease(this, key, it->second);
}

void FillCoalescer::finish(const std::string& key, const std::shared_ptr<Flight>& flight,
                           store::Value entry) {
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard lock(mutex_);
    flight->entry = std::move(entry);
    flight->done = true;
    waiters.swap(flight->waiters);
    auto it = flights_.find(key);
    if (it != flights_.end() && it->second == flight) flights_.erase(it);
  }
  for (auto& waiter : waiters) {
    auto executor = waiter->timer.get_executor();
    asio::post(executor, [waiter = std::move(waiter)] { waiter->timer.cancel(); });
  }
}

}  // namespace cachecar::proxy
