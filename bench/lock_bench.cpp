// Costs of the locks on cachecar's request path, single thread and two contending threads.
// Build: see docs/performance.md ("Locks on the request path").
#include "store/l1_cache.hpp"
#include "store/memory_store.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace cachecar::store;
using namespace std::chrono_literals;

static int g_fd = -1;  // an empty socket: recv says EAGAIN, as the channel does between messages

// Runs body(thread, i) n times on each of `threads` threads; ns per operation per thread.
static double run(int threads, long n, const std::function<void(int, long)>& body) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> ns(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load()) {
      }
      const auto start = std::chrono::steady_clock::now();
      for (long i = 0; i < n; ++i) body(t, i);
      ns[t] = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
                  .count() /
              n;
    });
  }
  while (ready.load() != threads) {
  }
  go.store(true);
  for (auto& th : pool) th.join();
  double sum = 0;
  for (double v : ns) sum += v;
  return sum / threads;
}

static void report(const char* name, long n, const std::function<void(int, long)>& body) {
  for (int threads : {1, 2}) {
    std::vector<double> rounds;
    for (int r = 0; r < 5; ++r) rounds.push_back(run(threads, n, body));
    std::sort(rounds.begin(), rounds.end());
    std::printf("%-44s threads=%d  %8.1f ns/op (median of 5; min %.1f, max %.1f)\n", name, threads,
                rounds[2], rounds[0], rounds[4]);
  }
}

int main() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return 1;
  g_fd = pair[0];
  const long n = 1'000'000;
  const auto value = std::make_shared<const std::string>(std::string(1024, 'x'));
  const std::string keys[2] = {"GET:/bench/a", "GET:/bench/b"};

  // The old L1 hit path: the channel drained under a process-wide mutex (a recv, EAGAIN), then
  // the entry read from a MemoryStore (its own mutex).
  {
    std::mutex drain_mutex;
    char buf[4096];
    MemoryStore entries(64 << 20);
    for (const auto& k : keys) entries.put_sync(k, value, 1h, "");
    report("old L1 hit (drain mutex + recv + store mutex)", n, [&](int t, long) {
      {
        std::lock_guard lock(drain_mutex);
        (void)::recv(g_fd, buf, sizeof buf, MSG_DONTWAIT);
      }
      auto v = entries.get_sync(keys[t]);
    });
  }
  // The new one: the channel checked lock-free (two atomic loads, a MSG_PEEK recv, two more
  // loads), then the entry read under L1's mutex.
  {
    std::atomic<std::uint64_t> word{7};
    std::atomic<bool> unapplied{false};
    L1Cache l1(64 << 20, 1h);
    l1.set_reader_hook([&] {
      const auto before = word.load();
      if (unapplied.load()) return false;
      char byte;
      const auto r = ::recv(g_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      return r < 0 && errno == EAGAIN && !unapplied.load() && word.load() == before;
    });
    l1.set_active(true);
    for (const auto& k : keys) l1.fill(k, value, 1h, l1.token(k));
    report("new L1 hit (lock-free check + L1 mutex)", n, [&](int t, long) {
      auto v = l1.get(keys[t]);
      if (!v) std::abort();
    });
  }
  {
    L1Cache l1(64 << 20, 1h);
    l1.set_active(true);
    for (const auto& k : keys) l1.fill(k, value, 1h, l1.token(k));
    report("L1 entry lookup alone (L1 mutex)", n, [&](int t, long) { auto v = l1.get(keys[t]); });
  }
  {
    char buf[1];
    report("recv MSG_PEEK on an empty socket (no lock)", n,
           [&](int, long) { (void)::recv(g_fd, buf, 1, MSG_PEEK | MSG_DONTWAIT); });
  }
  {
    MemoryStore store(64 << 20);
    for (const auto& k : keys) store.put_sync(k, value, 1h, "");
    report("memory:// hit (MemoryStore mutex)", n,
           [&](int t, long) { auto v = store.get_sync(keys[t]); });
  }
  // The coalescer on a miss: one process-wide mutex around a map insert, then the erase.
  {
    std::mutex mutex;
    std::unordered_map<std::string, int> flights;
    report("coalescer-like shared mutex (insert+erase)", n, [&](int t, long) {
      {
        std::lock_guard lock(mutex);
        flights.try_emplace(keys[t], 1);
      }
      std::lock_guard lock(mutex);
      flights.erase(keys[t]);
    });
  }
  // Top keys: each thread locks its own shard's mutex (a scrape is the only other taker).
  {
    struct alignas(64) Shard {
      std::mutex mutex;
      long counter = 0;
    };
    Shard shards[2];
    report("top keys: own shard's mutex, uncontended", n, [&](int t, long) {
      std::lock_guard lock(shards[t].mutex);
      ++shards[t].counter;
    });
  }
  ::close(pair[0]);
  ::close(pair[1]);
}
