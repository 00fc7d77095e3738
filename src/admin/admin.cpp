#include "admin/admin.hpp"

#include "admin/auth.hpp"
#include "admin/json_writer.hpp"
#include "admin/routes.hpp"
#include "net/wire.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

namespace cachecar::admin {
namespace {

namespace http = net::http;
using net::SimpleResponse;

constexpr std::size_t kTopKeys = 10;
constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

SimpleResponse error_response(int status, std::string_view code, std::string_view detail) {
  return net::json_response(status, net::json_error_body(code, detail));
}

std::string describe_client(const net::tcp::endpoint& remote) {
  const auto address = remote.address();
  std::string text = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  text.push_back(':');
  text.append(std::to_string(remote.port()));
  return text;
}

std::string escaped(std::string_view text) {
  std::string out;
  net::append_json_escaped(out, text);
  return out;
}

}  // namespace

struct AdminService::Context {
  const net::SimpleRequest& request;
  RouteMatch match;
  std::string client;  // "address:port" of the peer
};

AdminService::AdminService(AdminOptions options, AdminDependencies dependencies)
    : options_(std::move(options)), deps_(std::move(dependencies)) {}

void AdminService::set_options(AdminOptions options) {
  options_ = std::move(options);
}

net::asio::awaitable<void> AdminService::serve(net::tcp::socket socket,
                                               net::ConnectionTracker& tracker) {
  // A named handler moved in, not a temporary: GCC 12 destroys non-trivial temporaries passed
  // by value to a coroutine inside co_await twice (docs/architecture.md).
  net::SimpleHandler handler = [this](net::SimpleRequest& request) { return handle(request); };
  co_await net::serve_simple(std::move(socket), std::move(handler), options_.limits, tracker);
}

net::asio::awaitable<SimpleResponse> AdminService::handle(const net::SimpleRequest& request) {
  const auto& message = request.message;
  const std::string_view method = message.method_string();
  const std::string_view target = message.target();
  Context c{request, match_route(method, target), describe_client(request.remote)};

  using Kind = RouteMatch::Kind;
  if (c.match.kind == Kind::NotFound) {
    co_return error_response(404, "not_found",
                             "no admin route " + std::string(method) + " " +
                                 std::string(target.substr(0, target.find('?'))));
  }
  if (c.match.kind == Kind::MethodNotAllowed) {
    auto response = error_response(
        405, "method_not_allowed",
        std::string(method) + " is not allowed here; use " + std::string(c.match.allow));
    response.set(http::field::allow, c.match.allow);
    co_return response;
  }
  if (is_state_changing(c.match.route)) {
    const auto auth = check_bearer(message[http::field::authorization], options_.token);
    if (auth != AuthResult::Allowed) {
      std::uint64_t suppressed = 0;
      if (refusal_log_.allow(&suppressed)) {
        spdlog::warn("admin: refused {} \"{}\" from {}: {} bearer token ({} similar suppressed)",
                     method, escaped(target), c.client,
                     auth == AuthResult::Missing ? "missing" : "invalid", suppressed);
      }
      auto response = error_response(401, "unauthorized",
                                     "this route needs the header 'Authorization: Bearer <token>'");
      response.set(http::field::www_authenticate, "Bearer realm=\"cachecar-admin\"");
      co_return response;
    }
    // Without a token, any local process may change state, and so could any web page the
    // operator's browser opens: a cross-site form POST needs no CORS preflight. Browsers name
    // the page in Origin; curl and scripts send none. (With a token the page cannot know it.)
    if (options_.token.empty() && message.find(http::field::origin) != message.end()) {
      co_return error_response(403, "browser_request",
                               "state-changing admin requests from a web page (with an Origin "
                               "header) are refused unless admin.token is set");
    }
  }
  if (c.match.kind == Kind::BadRequest) co_return error_response(400, "bad_request", c.match.error);

  SimpleResponse response;
  switch (c.match.route) {
    case Route::MetricsCache:
      response = co_await metrics_cache(c);
      break;
    case Route::Metrics:
      response = prometheus(c);
      break;
    case Route::Health:
      response = co_await health(c);
      break;
    case Route::CachePing:
      response = co_await ping(c);
      break;
    case Route::Invalidate:
      response = co_await invalidate(c);
      break;
    case Route::InvalidateTag:
      response = co_await invalidate_tag(c);
      break;
    case Route::CacheClear:
    case Route::CacheClearNamespace:
      response = co_await clear(c);
      break;
    case Route::ResetStats:
      response = reset_stats(c);
      break;
    case Route::ConfigReload:
      response = reload_config(c);
      break;
  }
  // HEAD: the GET response's head (Content-Length included) without its body.
  if (message.method() == http::verb::head) response.body().clear();
  co_return response;
}

net::asio::awaitable<SimpleResponse> AdminService::metrics_cache(const Context&) {
  const auto stats = deps_.metrics->cache_stats(kTopKeys);
  const auto count = co_await deps_.store->count();
  JsonWriter w;
  w.begin_object();
  w.key("hits").value(stats.hits);
  w.key("misses").value(stats.misses);
  w.key("bypasses").value(stats.bypasses);
  w.key("hit_rate").value(stats.hit_rate);
  w.key("stores").value(stats.stores);
  w.key("invalidations").value(stats.invalidations);
  w.key("errors").begin_object();
  w.key("redis").value(stats.store_errors);
  w.key("upstream").value(stats.upstream_errors);
  w.end_object();
  w.key("top_keys").begin_array();
  for (const auto& entry : stats.top_keys) {
    w.begin_array().value(entry.key).value(entry.count).end_array();
  }
  w.end_array();
  // Counted by the store under its own prefix (an index, never DBSIZE or KEYS); null while the
  // store cannot be reached.
  w.key("total_cached_keys");
  if (count) {
    w.value(*count);
  } else {
    w.null();
  }
  w.key("uptime_seconds").value(static_cast<std::uint64_t>(stats.uptime.count()));
  w.key("uncacheable").value(stats.uncacheable);
  w.key("passes").value(stats.passes);
  w.key("store").value(deps_.store->kind());
  w.end_object();
  co_return net::json_response(200, w.take());
}

std::size_t AdminService::pending_invalidations() const {
  return deps_.pending_invalidations ? deps_.pending_invalidations() : 0;
}

store::StoreHealth AdminService::store_health() const {
  return deps_.store_health ? deps_.store_health() : deps_.store->health();
}

SimpleResponse AdminService::prometheus(const Context&) {
  const auto health = store_health();
  metrics::ScrapeState state;
  state.store_kind = deps_.store->kind();
  state.store_connected = health.connected;
  state.circuit_state = to_string(health.state);
  state.pending_invalidations = static_cast<std::int64_t>(pending_invalidations());
  state.upstream_connections = deps_.upstream_connections ? deps_.upstream_connections() : 0;
  SimpleResponse response{http::status::ok, 11};
  response.set(http::field::content_type, kPrometheusContentType);
  response.body() = deps_.metrics->prometheus_text(state);
  response.prepare_payload();
  return response;
}

net::asio::awaitable<SimpleResponse> AdminService::health(const Context&) {
  const auto store = store_health();
  bool upstream_reachable = true;
  if (deps_.probe_upstream) upstream_reachable = co_await deps_.probe_upstream();
  // The proxy can serve while the upstream answers; without the store it serves uncached.
  const std::size_t pending = pending_invalidations();
  std::string_view status = "healthy";
  if (!upstream_reachable) {
    status = "unhealthy";
  } else if (!store.connected || store.writes_refused || pending > 0) {
    status = "degraded";
  }
  JsonWriter w;
  w.begin_object();
  w.key("status").value(status);
  w.key("redis").value(store.connected ? "connected" : "down");
  if (!store.connected && !store.last_error.empty()) w.key("redis_error").value(store.last_error);
  w.key("upstream").value(upstream_reachable ? "reachable" : "unreachable");
  w.key("cache_fallback").value("enabled");
  w.key("store").value(deps_.store->kind());
  w.key("circuit_breaker").value(to_string(store.state));
  w.key("redis_writes").value(store.writes_refused ? "refused" : "ok");
  w.key("pending_invalidations").value(static_cast<std::uint64_t>(pending));
  w.end_object();
  const int code = upstream_reachable ? 200 : 503;
  co_return net::json_response(code, w.take());
}

net::asio::awaitable<SimpleResponse> AdminService::ping(const Context&) {
  const auto round_trip = co_await deps_.store->ping();
  JsonWriter w;
  w.begin_object();
  w.key("store").value(deps_.store->kind());
  if (!round_trip) {
    w.key("status").value("down");
    w.key("error").value(round_trip.error().message());
    w.end_object();
    co_return net::json_response(503, w.take());
  }
  w.key("status").value("ok");
  w.key("round_trip_ms").value(static_cast<double>(round_trip->count()) / 1000.0);
  w.end_object();
  co_return net::json_response(200, w.take());
}

net::asio::awaitable<SimpleResponse> AdminService::invalidate(const Context& c) {
  const auto kind =
      c.match.prefix ? store::EraseTarget::Kind::Prefix : store::EraseTarget::Kind::Exact;
  std::vector<store::EraseTarget> targets{store::EraseTarget{kind, c.match.argument}};
  const auto erased = co_await deps_.store->erase(std::move(targets));
  const std::string subject = c.match.argument + (c.match.prefix ? "*" : "");
  if (!erased) {
    spdlog::warn("admin: invalidate \"{}\" from {} failed: {}", escaped(subject), c.client,
                 erased.error().message());
    co_return error_response(503, "store_unavailable", erased.error().message());
  }
  deps_.metrics->record_invalidated(*erased);
  log_action(c, "invalidate", subject, static_cast<std::int64_t>(*erased));
  JsonWriter w;
  w.begin_object().key("deleted").value(*erased).end_object();
  const int code = *erased == 0 ? 404 : 200;
  co_return net::json_response(code, w.take());
}

// Deletes every entry stored with the tag (the store finds them through its tag sets, without
// scanning). L1 stays coherent as for /invalidate/<key>: the store's deletions reach it through
// Redis's invalidation messages. 200 with the count, also 0: the tag names nothing now.
net::asio::awaitable<SimpleResponse> AdminService::invalidate_tag(const Context& c) {
  std::vector<store::EraseTarget> targets{
      store::EraseTarget{store::EraseTarget::Kind::Tag, c.match.argument}};
  auto sent = targets;  // kept for the pending queue
  const auto erased = co_await deps_.store->erase(std::move(sent));
  if (!erased) {
    spdlog::warn("admin: invalidate tag \"{}\" from {} failed: {}", escaped(c.match.argument),
                 c.client, erased.error().message());
    std::string detail = erased.error().message();
    if (deps_.pending) {
      // Kept like a write's failed invalidation: nothing is served from the store until a
      // replay has completed it, so the entries it names cannot come back when the store does.
      deps_.metrics->record_invalidation_failed();
      if (deps_.pending->add(std::move(targets)) ==
          store::PendingInvalidations::Added::Overflowed) {
        deps_.metrics->record_invalidations_overflowed();
      }
      detail += "; the purge is kept pending and replayed when the store answers";
    }
    co_return error_response(503, "store_unavailable", detail);
  }
  deps_.metrics->record_invalidated(*erased);
  deps_.metrics->record_tag_purges(metrics::TagPurgeSource::Admin);
  log_action(c, "invalidate-tag", c.match.argument, static_cast<std::int64_t>(*erased));
  JsonWriter w;
  w.begin_object().key("deleted").value(*erased).key("tag").value(c.match.argument).end_object();
  co_return net::json_response(200, w.take());
}

net::asio::awaitable<SimpleResponse> AdminService::clear(const Context& c) {
  std::optional<std::string> ns;
  if (c.match.route == Route::CacheClearNamespace) {
    const auto& known = options_.namespaces;
    if (std::find(known.begin(), known.end(), c.match.argument) == known.end()) {
      co_return error_response(404, "unknown_namespace",
                               "no rule declares namespace '" + c.match.argument + "'");
    }
    ns = c.match.argument;
  }
  const std::string subject = ns ? "namespace " + *ns : std::string("all entries");
  const auto cleared = co_await deps_.store->clear(std::move(ns));
  if (!cleared) {
    spdlog::warn("admin: clear ({}) from {} failed: {}", escaped(subject), c.client,
                 cleared.error().message());
    co_return error_response(503, "store_unavailable", cleared.error().message());
  }
  deps_.metrics->record_cleared(*cleared);
  log_action(c, "clear", subject, static_cast<std::int64_t>(*cleared));
  JsonWriter w;
  w.begin_object().key("deleted").value(*cleared);
  if (c.match.route == Route::CacheClearNamespace) w.key("namespace").value(c.match.argument);
  w.end_object();
  co_return net::json_response(200, w.take());
}

SimpleResponse AdminService::reset_stats(const Context& c) {
  deps_.metrics->reset_stats();
  log_action(c, "reset-stats", "cache statistics", -1);
  return net::json_response(200, R"({"reset": true})");
}

// 200 with what was not applied, or 422 (the file the process reads is not a valid
// configuration: the request was fine, the content cannot be processed) and the running
// configuration kept.
SimpleResponse AdminService::reload_config(const Context& c) {
  if (!deps_.reload_config) {
    return error_response(503, "reload_unavailable",
                          "this process cannot reload its configuration");
  }
  auto result = deps_.reload_config();
  JsonWriter w;
  w.begin_object();
  w.key("reloaded").value(result.reloaded);
  if (result.reloaded) {
    w.key("not_applied").begin_array();
    for (const auto& name : result.not_applied) w.value(name);
    w.end_array();
  } else {
    w.key("error").value(result.error);
  }
  w.end_object();
  log_action(c, result.reloaded ? "reload-config" : "reload-config-failed", "configuration", -1);
  return net::json_response(result.reloaded ? 200 : 422, w.take());
}

void AdminService::log_action(const Context& c, std::string_view action, std::string_view subject,
                              std::int64_t deleted) const {
  const std::string_view auth = options_.token.empty() ? "none" : "token";
  if (options_.json_log) {
    JsonWriter w;
    w.begin_object();
    w.key("event").value("admin");
    w.key("action").value(action);
    w.key("subject").value(subject);
    if (deleted >= 0) w.key("deleted").value(deleted);
    w.key("client").value(c.client);
    w.key("auth").value(auth);
    w.end_object();
    spdlog::info("{}", w.str());
    return;
  }
  if (deleted >= 0) {
    spdlog::info("admin: action={} subject=\"{}\" deleted={} client={} auth={}", action,
                 escaped(subject), deleted, c.client, auth);
  } else {
    spdlog::info("admin: action={} subject=\"{}\" client={} auth={}", action, escaped(subject),
                 c.client, auth);
  }
}

}  // namespace cachecar::admin
