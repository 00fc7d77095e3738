#include "app/app.hpp"

#include "core/idle_trigger.hpp"
#include "core/log_limiter.hpp"

#include "admin/admin.hpp"
#include "config/reload.hpp"
#include "net/listener.hpp"
#include "net/run_loop.hpp"
#include "proxy/proxy.hpp"
#include "store/memory_rate_limiter.hpp"
#include "store/memory_store.hpp"
#include "store/redis/invalidation_listener.hpp"
#include "store/redis/key_names.hpp"
#include "store/redis/rate_limiter.hpp"
#include "store/redis/redis_store.hpp"
#include "store/redis/transport.hpp"
#include "upstream/pool.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace cachecar::app {
namespace {

namespace asio = net::asio;
constexpr auto kShutdownGrace = std::chrono::seconds(10);
constexpr auto kDrainPoll = std::chrono::milliseconds(20);
constexpr auto kIdleTrimInterval = std::chrono::seconds(2);
constexpr auto kReplayInterval = std::chrono::milliseconds(100);

unsigned worker_count(unsigned configured) {
  if (configured != 0) return configured;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

// What every worker's ProxyOptions point to and a reload keeps: made once at start-up.
struct SharedParts {
  // Always there: besides coalescing misses (when coalesce_wait > 0) it keeps stale-while-
  // revalidate to one background revalidation per key across the threads.
  std::shared_ptr<proxy::FillCoalescer> coalescer = std::make_shared<proxy::FillCoalescer>();
  std::shared_ptr<store::L1Cache> l1;                    // cache.l1; null without it
  std::shared_ptr<store::PendingInvalidations> pending;  // failed invalidations
  std::shared_ptr<proxy::ProxyLogs> logs = std::make_shared<proxy::ProxyLogs>();
};

SharedParts make_shared_parts(const config::Config& config) {
  SharedParts shared;
  if (config.l1.enabled) {
    shared.l1 = std::make_shared<store::L1Cache>(config.l1.max_bytes, config.l1.max_ttl);
    if (config.store.key_hash != core::KeyHash::None) {
      // The invalidation channel reports hashed names: L1 must know its entries' names.
      shared.l1->set_key_names(
          [names = store::redis::KeyNames(config.store.key_prefix, config.store.key_hash)](
              std::string_view key) { return names.of(key); });
    }
  }
  shared.pending = std::make_shared<store::PendingInvalidations>(config.max_pending_invalidations);
  // main() has run setup_logging() before the App is built.
  shared.logs->access = spdlog::get("access");
  return shared;
}

// The one place a Config becomes the proxy's settings, at start-up and on every reload: a
// setting read here from `config` changes live with SIGHUP or POST /config/reload. One that
// cannot (it shaped an object built once) belongs in config::keep_restart_only (config/reload).
proxy::ProxyOptions proxy_options(const config::Config& config, const SharedParts& shared) {
  proxy::ProxyOptions options;
  options.rules = std::make_shared<const policy::RuleSet>(config.rules);
  options.coalescer = shared.coalescer;
  options.l1 = shared.l1;
  options.pending_invalidations = shared.pending;
  options.logs = shared.logs;
  options.coalesce_wait = config.coalesce_wait;
  options.cache = config.cache;
  options.bypass_param = config.bypass_param;
  options.bypass_token = config.bypass_token;
  options.trusted_proxies = config.trusted_proxies;
  options.hosts = config.hosts;
  options.max_pending_invalidations = config.max_pending_invalidations;
  options.upstream_base_path = config.upstream.base_path;
  options.upstream_host_header = config.upstream.address.to_string();
  if (config.upstream.address.port == 80)
    options.upstream_host_header = config.upstream.address.host;
  options.upstream_timeout = config.upstream.timeout;
  options.max_header_bytes = config.limits.max_header_bytes;
  options.max_request_body_bytes = config.limits.max_request_body_bytes;
  options.client_header_timeout = config.limits.client_header_timeout;
  options.client_idle_timeout = config.limits.client_idle_timeout;
  options.client_body_timeout = config.limits.client_body_timeout;
  options.access_log = config.log.access_log;
  options.json_access_log = config.log.format == "json";
  return options;
}

// An erase's generation must outlive any fill in flight (upstream reads + the put).
std::chrono::milliseconds fill_window(const config::Config& config) {
  return std::max<std::chrono::milliseconds>(std::chrono::minutes(2), 4 * config.upstream.timeout);
}

// Fails with a clear message when another process holds the port. SO_REUSEPORT alone would
// silently share it with any other process of the same user that also set it.
void ensure_port_free(const net::tcp::endpoint& endpoint) {
  if (endpoint.port() == 0) return;
  net::asio::io_context probe_context;
  net::tcp::acceptor probe(probe_context);
  probe.open(endpoint.protocol());
  probe.set_option(asio::socket_base::reuse_address(true));
  net::error_code ec;
  probe.bind(endpoint, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + ": " + ec.message());
  }
}

metrics::MetricsOptions metrics_options(const config::Config& config) {
  metrics::MetricsOptions options;
  for (const auto& rule : config.rules.rules()) options.rule_names.push_back(rule.name);
  return options;
}

admin::AdminOptions admin_options(const config::Config& config) {
  admin::AdminOptions options;
  options.token = config.admin.token;
  for (const auto& rule : config.rules.rules()) {
    const auto& ns = rule.cache_namespace;
    if (!ns.empty() && std::find(options.namespaces.begin(), options.namespaces.end(), ns) ==
                           options.namespaces.end()) {
      options.namespaces.push_back(ns);
    }
  }
  options.json_log = config.log.format == "json";
  // The admin listener reads requests under the same timeouts as the proxy's.
  options.limits.header_timeout = config.limits.client_header_timeout;
  options.limits.idle_timeout = config.limits.client_idle_timeout;
  options.limits.body_timeout = config.limits.client_body_timeout;
  return options;
}

// Every worker has its own Redis client: the store is "connected" only when all are, and the
// circuit state shown is the worst one (open > half-open > closed).
store::StoreHealth combined_health(const std::vector<store::CacheStore*>& stores) {
  store::StoreHealth combined;
  for (const auto* s : stores) {
    const auto health = s->health();
    combined.connected = combined.connected && health.connected;
    combined.state = store::worse(combined.state, health.state);
    combined.writes_refused = combined.writes_refused || health.writes_refused;
    if (combined.last_error.empty()) combined.last_error = health.last_error;
  }
  return combined;
}

// rediss://: the TLS context is built once, here (a malformed PEM file stops start-up).
store::redis::TlsOptions redis_tls(const config::StoreConfig& store) {
  if (!store.tls.enabled) return {};
  const auto& t = store.tls;
  return {
      store::redis::make_tls_context({t.ca_file, t.cert_file, t.key_file, t.verify, t.server_name}),
      t.server_name, t.verify};
}

// Why a Redis connection attempt failed (TLS, AUTH, ...): one line per attempt, which the
// reconnection backoff paces, and at most one a second for all workers together.
std::function<void(const std::string&)> redis_failure_log(std::string what) {
  auto limiter = std::make_shared<core::LogLimiter>();
  return [limiter, what = std::move(what)](const std::string& failure) {
    std::uint64_t suppressed = 0;
    if (!limiter->allow(&suppressed)) return;
    if (suppressed == 0) {
      spdlog::error("redis: {}: {} (serving from the upstream)", what, failure);
    } else {
      spdlog::error("redis: {}: {} (serving from the upstream; {} more suppressed)", what, failure,
                    suppressed);
    }
  };
}

// For /health: can a new upstream connection be opened? (It is closed again at once.)
asio::awaitable<bool> probe_upstream(upstream::Pool* pool) {
  auto connection = co_await pool->connect_new();
  co_return connection.has_value();
}

}  // namespace

// Everything one thread owns. Destroyed only after its io_context has run out of work.
struct Worker {
  asio::io_context context{1};
  std::unique_ptr<store::redis::RedisStore> own_store;  // per-thread; null for memory://
  store::CacheStore* store = nullptr;
  // Over own_store's Redis client (so a budget and a lookup share one write); null for memory://.
  std::unique_ptr<store::redis::RedisRateLimiter> own_rate_limiter;
  store::RateLimiter* rate_limiter = nullptr;
  std::unique_ptr<upstream::Pool> pool;
  net::ConnectionTracker tracker;
  std::unique_ptr<proxy::Proxy> proxy;
  std::unique_ptr<net::Listener> listener;
  // Worker 0 only: the admin API (its routes use this worker's store).
  net::ConnectionTracker admin_tracker;
  std::unique_ptr<admin::AdminService> admin;
  std::unique_ptr<net::Listener> admin_listener;
  // Worker 0 only, with cache.l1: keeps the shared L1 coherent through Redis.
  std::unique_ptr<store::redis::InvalidationListener> invalidation;
  // Worker 0 only: wakes the idle-memory trimmer.
  std::unique_ptr<asio::steady_timer> trim_timer;
  // Worker 0 only: replays failed invalidations once its store answers again.
  std::unique_ptr<asio::steady_timer> replay_timer;
  std::thread thread;
};

struct App::State {
  State(config::Config c, ConfigLoader loader)
      : config(std::move(c)),
        metrics(metrics_options(config)),
        labelled_rules(metrics_options(config).rule_names),
        reload_from(std::move(loader)) {}
  config::Config config;  // the running one: replaced by each reload (under reload_mutex)
  metrics::Metrics metrics;
  std::vector<std::string> labelled_rules;  // the `rule` label's values, fixed at start-up
  std::unique_ptr<store::MemoryStore> shared_memory_store;  // memory:// is shared by all threads
  std::unique_ptr<store::MemoryRateLimiter> shared_memory_rate_limiter;  // with memory:// too
  SharedParts shared;                                                    // kept across reloads
  upstream::ConnectionCounter upstream_connections;  // every worker's pool counts here
  std::vector<std::unique_ptr<Worker>> workers;
  std::uint16_t proxy_port = 0;
  std::uint16_t admin_port = 0;
  std::atomic<bool> stopping{false};
  bool started = false;
  ConfigLoader reload_from;  // empty: reload() fails
  std::mutex reload_mutex;   // one reload at a time (SIGHUP on main, the admin API on worker 0)
};

App::App(config::Config config, ConfigLoader reload_from)
    : state_(std::make_unique<State>(std::move(config), std::move(reload_from))) {
  const auto& cfg = state_->config;
  if (cfg.store.memory) {
    state_->shared_memory_store = std::make_unique<store::MemoryStore>(cfg.store.memory_max_bytes);
    state_->shared_memory_rate_limiter = std::make_unique<store::MemoryRateLimiter>();
  }
  auto endpoint = net::resolve_bind_endpoint(cfg.listen.host, cfg.listen.port);
  ensure_port_free(endpoint);
  state_->shared = make_shared_parts(cfg);
  const auto options = proxy_options(cfg, state_->shared);
  const unsigned threads = worker_count(cfg.threads);
  const auto tls = cfg.store.memory ? store::redis::TlsOptions{} : redis_tls(cfg.store);
  const auto log_store_failure = redis_failure_log("cannot connect");
  for (unsigned i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>();
    auto executor = worker->context.get_executor();
    if (state_->shared_memory_store) {
      worker->store = state_->shared_memory_store.get();
      worker->rate_limiter = state_->shared_memory_rate_limiter.get();
    } else {
      store::redis::Client::Options redis;
      redis.host = cfg.store.address.host;
      redis.port = cfg.store.address.port;
      redis.user = cfg.store.user;
      redis.password = cfg.store.password;
      redis.tls = tls;
      redis.on_connect_failure = log_store_failure;
      redis.db = cfg.store.db;
      redis.command_timeout = cfg.store.timeout;
      redis.connections = cfg.store.connections;
      redis.scripts.push_back(store::redis::RedisRateLimiter::script().body);
      auto* metrics = &state_->metrics;
      worker->own_store = std::make_unique<store::redis::RedisStore>(
          executor, redis, cfg.store.key_prefix,
          [metrics](std::string_view command, std::chrono::nanoseconds latency,
                    boost::system::error_code ec) {
            metrics->record_redis_command(command, latency, ec);
          },
          [](std::string_view policy, std::uint64_t maxmemory) {
            // Every worker's connections read it: warn once per process (README, "Redis").
            static std::atomic<bool> warned{false};
            const auto warning = store::redis::maxmemory_policy_warning(policy, maxmemory);
            if (!warning.empty() && !warned.exchange(true)) spdlog::warn("redis: {}", warning);
          },
          cfg.store.key_hash);
      worker->own_store->set_fill_window(fill_window(cfg));
      worker->store = worker->own_store.get();
      worker->own_rate_limiter = std::make_unique<store::redis::RedisRateLimiter>(
          worker->own_store->client(),
          store::redis::KeyNames(cfg.store.key_prefix, cfg.store.key_hash));
      worker->rate_limiter = worker->own_rate_limiter.get();
    }
    worker->pool = std::make_unique<upstream::Pool>(
        executor,
        upstream::PoolOptions{cfg.upstream.address.host, cfg.upstream.address.port,
                              cfg.upstream.connect_timeout, cfg.upstream.max_idle_connections},
        state_->upstream_connections);
    worker->proxy =
        std::make_unique<proxy::Proxy>(options, *worker->store, *worker->pool, state_->metrics,
                                       worker->tracker, worker->rate_limiter);
    auto* proxy = worker->proxy.get();
    worker->listener = std::make_unique<net::Listener>(
        executor, endpoint, /*reuse_port=*/true,
        [proxy](net::tcp::socket socket) { return proxy->serve(std::move(socket)); });
    if (i == 0) {
      // With port 0 the kernel picks one; every other thread joins that port.
      endpoint.port(worker->listener->local_endpoint().port());
      state_->proxy_port = endpoint.port();
      start_admin(*worker);
      if (state_->shared.l1) {
        store::redis::InvalidationListener::Options channel;
        channel.host = cfg.store.address.host;
        channel.port = cfg.store.address.port;
        channel.user = cfg.store.user;
        channel.password = cfg.store.password;
        channel.tls = tls;
        channel.on_connect_failure = redis_failure_log("L1 invalidation channel");
        channel.key_prefix = cfg.store.key_prefix;
        channel.key_hash = cfg.store.key_hash;
        worker->invalidation = std::make_unique<store::redis::InvalidationListener>(
            executor, channel, *state_->shared.l1);
      }
    }
    state_->workers.push_back(std::move(worker));
  }
}

void App::start_admin(Worker& worker) {
  const auto& cfg = state_->config;
  admin::AdminDependencies deps;
  deps.store = worker.store;
  deps.metrics = &state_->metrics;
  deps.probe_upstream = [pool = worker.pool.get()] { return probe_upstream(pool); };
  deps.upstream_connections = [counter = &state_->upstream_connections] {
    return static_cast<std::int64_t>(counter->open());
  };
  // Workers are all created before start() lets the admin listener accept.
  deps.pending_invalidations = [pending = state_->shared.pending.get()] { return pending->size(); };
  deps.pending = state_->shared.pending.get();
  deps.reload_config = [this] { return reload(); };
  deps.store_health = [state = state_.get()] {
    std::vector<store::CacheStore*> stores;
    for (const auto& w : state->workers) stores.push_back(w->store);
    return combined_health(stores);
  };
  worker.admin = std::make_unique<admin::AdminService>(admin_options(cfg), std::move(deps));
  auto* service = worker.admin.get();
  auto* tracker = &worker.admin_tracker;
  try {
    worker.admin_listener = std::make_unique<net::Listener>(
        worker.context.get_executor(),
        net::resolve_bind_endpoint(cfg.admin.listen.host, cfg.admin.listen.port),
        /*reuse_port=*/false, [service, tracker](net::tcp::socket socket) {
          return service->serve(std::move(socket), *tracker);
        });
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot listen on admin address " + cfg.admin.listen.to_string() +
                             ": " + e.what());
  }
  state_->admin_port = worker.admin_listener->local_endpoint().port();
}

App::~App() {
  stop();
  wait();
}

// After a burst, glibc keeps the memory freed by closed connections and served bodies (free
// chunks inside the heap are not returned by free()), so RSS stays at its peak. Once the proxy
// has been idle for a whole interval, hand that memory back: a sidecar's RSS then falls back
// towards its idle size instead of counting against its memory limit forever.
namespace {

// Requests answered so far (monotonic counters only: adding the connection gauge would let a
// request and a closed connection cancel out). When it stops moving, the proxy is idle; a
// single response streaming for longer than the interval may see one short trim pause.
std::uint64_t activity(const metrics::Metrics& metrics) {
  const auto s = metrics.snapshot();
  return s.hits + s.misses + s.bypasses + s.uncacheable + s.passes;
}

asio::awaitable<void> trim_memory_when_idle(const metrics::Metrics* metrics,
                                            const std::atomic<bool>* stopping,
                                            asio::steady_timer* timer) {
  core::IdleTrigger idle(activity(*metrics));
  while (!stopping->load()) {
    timer->expires_after(kIdleTrimInterval);
    co_await timer->async_wait(net::use_nothrow);
    if (stopping->load()) break;
    if (idle.observe(activity(*metrics))) ::malloc_trim(0);
  }
}

// Failed write invalidations are retried on worker 0's store until they succeed. Lookups they
// cover miss meanwhile (the proxy checks), so the order against hits needs nothing more.
asio::awaitable<void> replay_invalidations(store::CacheStore* store,
                                           store::PendingInvalidations* pending, store::L1Cache* l1,
                                           metrics::Metrics* metrics,
                                           const std::atomic<bool>* stopping,
                                           asio::steady_timer* timer) {
  while (!stopping->load()) {
    timer->expires_after(kReplayInterval);
    co_await timer->async_wait(net::use_nothrow);
    if (stopping->load()) break;
    while (!pending->empty() && !stopping->load()) {
      auto replayed = co_await store::replay_pending(*store, *pending, l1);
      if (!replayed) break;  // still failing: the store's breaker keeps this cheap
      if (*replayed == 0) break;
      metrics->record_invalidations_replayed(*replayed);
      spdlog::info("replayed {} pending invalidation(s); {} left", *replayed, pending->size());
    }
  }
}

// Pending invalidations live in this process only: one last attempt, and what still cannot be
// replayed is named in the log, so an operator can invalidate it by hand.
template <class State>
asio::awaitable<void> replay_before_exit(store::CacheStore* store, State* state) {
  auto& pending = *state->shared.pending;
  if (pending.empty()) co_return;
  auto replayed = co_await store::replay_pending(*store, pending, state->shared.l1.get());
  if (replayed && *replayed > 0) state->metrics.record_invalidations_replayed(*replayed);
  if (auto left = pending.next_batch()) {
    std::string what = "everything (the queue overflowed)";
    if (!left->clear_all) what = store::describe_targets(left->targets);
    spdlog::error(
        "shutting down with {} invalidation(s) not replayed; still stale in the store: {}",
        pending.size(), what);
  }
}

}  // namespace

void App::start() {
  if (state_->started) return;
  state_->started = true;
  for (auto& worker : state_->workers) {
    worker->listener->start();
    if (worker->admin_listener) worker->admin_listener->start();
    if (worker->invalidation) worker->invalidation->start();
    if (worker.get() == state_->workers.front().get()) {
      worker->trim_timer = std::make_unique<asio::steady_timer>(worker->context);
      asio::co_spawn(
          worker->context,
          trim_memory_when_idle(&state_->metrics, &state_->stopping, worker->trim_timer.get()),
          asio::detached);
      worker->replay_timer = std::make_unique<asio::steady_timer>(worker->context);
      asio::co_spawn(
          worker->context,
          replay_invalidations(worker->store, state_->shared.pending.get(), state_->shared.l1.get(),
                               &state_->metrics, &state_->stopping, worker->replay_timer.get()),
          asio::detached);
    }
    worker->thread = std::thread([w = worker.get(), metrics = &state_->metrics] {
      net::run_until_done(w->context, "worker", [metrics] { metrics->record_worker_exception(); });
    });
  }
  const auto& cfg = state_->config;
  spdlog::info("cachecar {} listening on {}:{} ({} threads), upstream {}, store {}",
               CACHECAR_VERSION, cfg.listen.host, state_->proxy_port, state_->workers.size(),
               cfg.upstream.address.to_string(),
               cfg.store.memory ? std::string("memory://") : cfg.store.address.to_string());
  spdlog::info("admin API on {}:{} ({})", cfg.admin.listen.host, state_->admin_port,
               cfg.admin.token.empty() ? "no token: state-changing routes are open"
                                       : "bearer token required for state-changing routes");
}

void App::stop() {
  if (state_->stopping.exchange(true)) return;
  for (auto& worker : state_->workers) {
    auto drain = [](Worker* w, State* state) -> asio::awaitable<void> {
      w->listener->stop();
      if (w->admin_listener) w->admin_listener->stop();
      w->tracker.shutdown();
      w->admin_tracker.shutdown();
      const auto deadline = std::chrono::steady_clock::now() + kShutdownGrace;
      asio::steady_timer timer(w->context);
      while (w->tracker.open_connections() + w->admin_tracker.open_connections() > 0 &&
             std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(kDrainPoll);
        co_await timer.async_wait(net::use_nothrow);
      }
      w->tracker.close_all();
      w->admin_tracker.close_all();
      w->pool->close_idle();
      if (w->replay_timer) co_await replay_before_exit(w->store, state);
      if (w->own_store) w->own_store->stop();
      if (w->invalidation) w->invalidation->stop();
      if (w->trim_timer) w->trim_timer->cancel();
      if (w->replay_timer) w->replay_timer->cancel();
    };
    asio::co_spawn(worker->context, drain(worker.get(), state_.get()), asio::detached);
  }
  if (!state_->started) {
    // Threads never ran: run the drain inline so destruction finds no pending work.
    for (auto& worker : state_->workers) worker->context.run();
  }
}

void App::wait() {
  for (auto& worker : state_->workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

admin::ConfigReloadResult App::reload() {
  std::lock_guard lock(state_->reload_mutex);
  admin::ConfigReloadResult result;
  config::Config next;
  try {
    if (!state_->reload_from) throw std::runtime_error("no configuration file to reload from");
    if (state_->stopping.load()) throw std::runtime_error("shutting down");
    next = state_->reload_from();
  } catch (const std::exception& e) {
    result.error = e.what();
    state_->metrics.record_config_reload(false);
    spdlog::error("configuration reload failed, the running configuration is kept: {}",
                  result.error);
    return result;
  }
  result.reloaded = true;
  result.not_applied = config::keep_restart_only(state_->config, next);
  setup_logging(next.log);
  const auto options = proxy_options(next, state_->shared);
  const auto window = fill_window(next);
  const auto admin = admin_options(next);
  // Posted under the lock, so each worker applies reloads in the order they were made. A
  // request whose bytes arrive after the post is read after the task runs (one io_context per
  // thread runs its handlers in order), so it sees the new options. Each worker gets its own
  // copy: Sessions copy the pointer, and a shared count would bounce between cores.
  for (auto& worker : state_->workers) {
    auto snapshot = std::make_shared<const proxy::ProxyOptions>(options);
    asio::post(worker->context, [w = worker.get(), snapshot = std::move(snapshot), window] {
      w->proxy->replace_options(snapshot);
      if (w->own_store) w->own_store->set_fill_window(window);
    });
    if (worker->admin) {
      asio::post(worker->context,
                 [service = worker->admin.get(), admin] { service->set_options(admin); });
    }
  }
  state_->config = std::move(next);
  const auto& cfg = state_->config;
  if (!result.not_applied.empty()) {
    std::string names;
    for (const auto& name : result.not_applied) {
      if (!names.empty()) names.append(", ");
      names.append(name);
    }
    spdlog::warn(
        "configuration reload: changed settings that only a restart applies (their "
        "running values are kept): {}",
        names);
  }
  std::string unlabelled;
  for (const auto& rule : cfg.rules.rules()) {
    const auto& known = state_->labelled_rules;
    if (std::find(known.begin(), known.end(), rule.name) != known.end()) continue;
    unlabelled.append(unlabelled.empty() ? "" : ", ").append(rule.name);
  }
  if (!unlabelled.empty()) {
    spdlog::info(
        "configuration reload: rules added since start-up are counted as rule=\"other\" "
        "in metrics until a restart: {}",
        unlabelled);
  }
  spdlog::info("configuration reloaded from {} ({} rules)", cfg.source, cfg.rules.rules().size());
  // Last: once the timestamp moves, the reload's log lines are written (tests wait for it).
  state_->metrics.record_config_reload(true);
  return result;
}

std::uint16_t App::proxy_port() const {
  return state_->proxy_port;
}
std::uint16_t App::admin_port() const {
  return state_->admin_port;
}
const config::Config& App::config() const {
  return state_->config;
}
metrics::Metrics& App::metrics() {
  return state_->metrics;
}

void setup_logging(const config::LogConfig& log) {
  const auto level = spdlog::level::from_str(log.level);
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  auto access = spdlog::get("access");
  if (!access) {
    access = std::make_shared<spdlog::logger>("access",
                                              std::make_shared<spdlog::sinks::stdout_sink_mt>());
    spdlog::register_logger(access);
  }
  access->set_level(log.access_log ? level : spdlog::level::off);
  access->set_pattern(log.format == "json" ? "%v" : "%Y-%m-%dT%H:%M:%S.%e%z access %v");
}

}  // namespace cachecar::app
