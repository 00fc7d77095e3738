#include "store/redis/rate_limiter.hpp"

#include <array>

namespace cachecar::store::redis {

namespace {

// KEYS[1] the budget; ARGV[1] limit, ARGV[2] window in ms. Returns {allowed, remaining,
// reset ms, retry-after ms}. Mirrors meter_request: the same operations in the same order on
// the same IEEE doubles, so both stores decide alike (tests/conformance checks both). The
// value is written with %.0f / %.17g because Lua's own number formatting keeps 14 digits,
// which would cut a microsecond timestamp.
constexpr std::string_view kScript = R"lua(#!lua flags=allow-oom
local limit = tonumber(ARGV[1])
local emission = tonumber(ARGV[2]) * 1000.0 / limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local level = 0
local raw = redis.call('GET', KEYS[1])
if raw then
  local since, stored = string.match(raw, '^(%d+) (%S+)$')
  if since and tonumber(stored) then
    local elapsed = math.max(now - tonumber(since), 0)
    level = math.max(tonumber(stored) - elapsed / emission, 0)
  end
end
local epsilon = 1e-9
if level + 1 <= limit + epsilon then
  level = level + 1
  local drain = math.ceil(level * emission / 1000.0)
  redis.call('SET', KEYS[1], string.format('%.0f %.17g', now, level), 'PX', math.max(drain, 1))
  return {1, math.floor(limit - level + epsilon), drain, 0}
end
return {0, 0, math.ceil(level * emission / 1000.0),
        math.ceil((level + 1 - limit) * emission / 1000.0)}
)lua";

result<RateDecision> decision_of(const result<Reply>& reply) {
  if (!reply) return reply.error();
  if (reply->is_error()) return errc::store_reply_error;
  if (reply->type != Reply::Type::Array || reply->elements.size() != 4) {
    return errc::store_protocol_error;
  }
  for (const auto& element : reply->elements) {
    if (element.type != Reply::Type::Integer || element.integer < 0) {
      return errc::store_protocol_error;
    }
  }
  RateDecision decision;
  decision.allowed = reply->elements[0].integer == 1;
  decision.remaining = static_cast<std::uint64_t>(reply->elements[1].integer);
  decision.reset = std::chrono::milliseconds(reply->elements[2].integer);
  decision.retry_after = std::chrono::milliseconds(reply->elements[3].integer);
  return decision;
}

}  // namespace

const RedisStore::Script& RedisRateLimiter::script() {
  static const RedisStore::Script script{std::string(kScript), sha1_hex(kScript)};
  return script;
}

RedisRateLimiter::RedisRateLimiter(Client& client, KeyNames names)
    : client_(client), names_(std::move(names)) {}

boost::asio::awaitable<result<RateDecision>> RedisRateLimiter::acquire(
    std::string_view name, std::uint64_t limit, std::chrono::milliseconds window) {
  if (limit == 0 || window.count() <= 0) {
    co_return make_error_code(boost::system::errc::invalid_argument);
  }
  const std::string key = names_.of(name);
  const std::string limit_text = std::to_string(limit);
  const std::string window_text = std::to_string(window.count());
  std::array<std::string_view, 6> args{"EVALSHA", script().sha1, "1", key, limit_text, window_text};
  auto reply = co_await client_.execute(args);
  if (reply && reply->is_error() && reply->str.starts_with("NOSCRIPT")) {
    args[0] = "EVAL";
    args[1] = script().body;
    reply = co_await client_.execute(args);
  }
  co_return decision_of(reply);
}

}  // namespace cachecar::store::redis
