// A rule's rate limit in the flow of one request (see rate_limit.hpp): every request its rule
// matches spends from its budget before anything answers it, hits included, and a refused one
// is answered here without the origin.
#include "proxy/rate_limit.hpp"

#include "net/wire.hpp"
#include "proxy/session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace cachecar::proxy {

namespace asio = net::asio;
namespace http = net::http;
using metrics::RateLimitResult;

std::string_view to_string(RateLimitVerdict verdict) noexcept {
  switch (verdict) {
    case RateLimitVerdict::None:
      return "none";
    case RateLimitVerdict::Pending:
      return "pending";
    case RateLimitVerdict::Allowed:
      return "allowed";
    case RateLimitVerdict::Refused:
      return "refused";
    case RateLimitVerdict::Unavailable:
      return "unavailable";
  }
  return "none";
}

std::ostream& operator<<(std::ostream& os, RateLimitVerdict verdict) {
  return os << to_string(verdict);
}

namespace {

void append_fields(std::string& out, const policy::RateLimitSpec& spec,
                   const std::optional<policy::RateLimitOutcome>& outcome) {
  for (const auto& [name, value] : policy::rate_limit_fields(spec, outcome)) {
    net::append_field(out, name, value);
  }
}

}  // namespace

// Who the request is counted as, under its rule: the client address (X-Forwarded-For only
// through trusted_proxies), or the hashed value of the configured field when it is present.
void Session::start_rate_limit(Exchange& x, const policy::Rule* rule) {
  if (rule == nullptr || !rule->rate_limit || proxy_.rate_limiter_ == nullptr) return;
  const auto& spec = *rule->rate_limit;
  const auto& request = x.parser.get();
  std::string forwarded_for;
  if (trusted_peer_) {
    // Every line, in order (RFC 9110 §5.3); Beast has no field code for this one.
    for (auto [it, end] = request.equal_range("X-Forwarded-For"); it != end; ++it) {
      if (!forwarded_for.empty()) forwarded_for.append(", ");
      forwarded_for.append(it->value());
    }
  }
  const auto address = policy::rate_limit_client_address(client_ip_, trusted_peer_, forwarded_for,
                                                         options_->trusted_proxies);
  std::optional<std::string_view> header_value;
  if (spec.by == policy::RateLimitBy::Header) {
    const auto field = request.find(spec.header);
    if (field != request.end()) header_value = field->value();
  }
  x.limit.spec = &spec;
  x.limit.rule = rule->name;
  x.limit.name =
      policy::rate_limit_name(rule->name, policy::rate_limit_identity(spec, address, header_value));
  x.limit.verdict = RateLimitVerdict::Pending;
  if (x.rule_name.empty()) x.rule_name = rule->name;
}

void Session::settle_rate_limit(Exchange& x, const result<store::RateDecision>& decision) {
  auto& limit = x.limit;
  const auto& spec = *limit.spec;
  if (!decision) {
    const bool open = spec.fail == policy::RateLimitFailure::Open;
    proxy_.metrics_.record_rate_limit(
        limit.rule, open ? RateLimitResult::FailOpen : RateLimitResult::FailClosed);
    std::uint64_t suppressed = 0;
    if (options_->logs->store_errors.allow(&suppressed)) {
      spdlog::warn(
          "rate limit of \"{}\" cannot be checked ({}); requests are {} ({} similar "
          "errors suppressed)",
          limit.rule, decision.error().message(), open ? "let through" : "refused with 503",
          suppressed);
    }
    limit.verdict = open ? RateLimitVerdict::Allowed : RateLimitVerdict::Unavailable;
    append_fields(limit.fields, spec, std::nullopt);
    return;
  }
  policy::RateLimitOutcome outcome;
  outcome.allowed = decision->allowed;
  outcome.remaining = decision->remaining;
  outcome.reset = decision->reset;
  outcome.retry_after = decision->retry_after;
  append_fields(limit.fields, spec, outcome);
  if (outcome.allowed) {
    proxy_.metrics_.record_rate_limit(limit.rule, RateLimitResult::Allowed);
    limit.verdict = RateLimitVerdict::Allowed;
  } else {
    proxy_.metrics_.record_rate_limit(limit.rule, RateLimitResult::Limited);
    limit.verdict = RateLimitVerdict::Refused;
    limit.retry_after_s = policy::retry_after_seconds(outcome);
  }
}

asio::awaitable<bool> Session::admit(Exchange& x) {
  if (x.limit.pending()) {
    auto decision = co_await proxy_.rate_limiter_->acquire(x.limit.name, x.limit.spec->limit,
                                                           x.limit.spec->window);
    settle_rate_limit(x, decision);
  }
  co_return x.limit.admitted();
}

// Design: the budget and the cache are asked at once. The Redis limiter queues its EVALSHA
// before it first suspends, and so does the lookup's MGET; both go to this thread's Client,
// whose connection writes everything queued in one event-loop turn in one write (one round
// trip; with redis.connections > 1 they may take two connections, still in parallel). Both
// answers are awaited before either is used: a refused request is answered 429 whatever the
// lookup found (a miss's fill permission is dropped, which releases coalesced waiters).
asio::awaitable<LookupResult> Session::lookup_admitted(Exchange& x, const LookupRequest& request) {
  if (!x.limit.pending()) co_return co_await proxy_.lookup_->lookup(x.key, request);
  using namespace asio::experimental::awaitable_operators;
  auto acquire =
      proxy_.rate_limiter_->acquire(x.limit.name, x.limit.spec->limit, x.limit.spec->window);
  auto lookup = proxy_.lookup_->lookup(x.key, request);
  auto both = co_await (std::move(acquire) && std::move(lookup));
  settle_rate_limit(x, std::get<0>(both));
  LookupResult found = std::move(std::get<1>(both));
  if (!x.limit.admitted()) found.fill.reset();
  co_return found;
}

// Over the budget: 429 with Retry-After and a JSON body; the budget unreadable under
// `fail: closed`: 503. Neither reaches the origin or the cache.
asio::awaitable<bool> Session::refuse(Exchange& x) {
  x.fill.reset();
  x.cache = CacheResult{};
  x.cache.outcome = metrics::CacheOutcome::Pass;
  x.cache.fwd = Forward::Request;
  x.cache.detail = Detail::RateLimited;
  // An unread request body would be parsed as the next request: close instead.
  if (x.body_streaming) x.keep_alive = false;
  if (x.limit.verdict == RateLimitVerdict::Refused) {
    const std::string body = policy::rate_limited_body(x.limit.retry_after_s);
    co_return co_await respond(x, 429, body);
  }
  const std::string body = net::json_error_body(
      "service_unavailable", "the rate limit cannot be checked right now; retry later");
  co_return co_await respond(x, 503, body);
}

}  // namespace cachecar::proxy
