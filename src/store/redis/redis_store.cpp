#include "store/redis/redis_store.hpp"

#include <boost/uuid/detail/sha1.hpp>

#include <array>
#include <cstdio>

namespace cachecar::store::redis {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Shared by every script. ARGV[1] is the key prefix. "Forgetting" a logical key removes it
// from the bookkeeping structures (index, expiry, namespace); "dropping" also deletes the
// entry and reports whether it existed. Batches stay ≤ 1000 keys: unpack() pushes every
// element onto Lua's C stack (LUAI_MAXCSTACK is 8000).
constexpr std::string_view kPrelude = R"lua(
local p = ARGV[1]
local index, expiry = p .. '__index', p .. '__expiry'
local keyns, nslist = p .. '__keyns', p .. '__namespaces'
-- Fill fences: an erase bumps the generation of each target's path (or, for prefixes and
-- clears, the epoch); a put with a token stores only if both are still what its fill read.
-- Path generations expire after ARGV-given windows: longer than any fill can take.
-- A key's path ends at its query or at its secondary key (' host=...'), like key_path().
local function path_of(k)
  local q = string.find(k, '[? ]')
  return q and string.sub(k, 1, q - 1) or k
end
local function bump_path(k, window)
  local g = p .. '__gen:' .. path_of(k)
  redis.call('INCR', g)
  redis.call('PEXPIRE', g, window)
end
local function bump_epoch() redis.call('INCR', p .. '__gen') end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function unlink_ns(k, ns)
  local nsk = p .. '__ns:' .. ns
  redis.call('SREM', nsk, k)
  if redis.call('SCARD', nsk) == 0 then redis.call('SREM', nslist, ns) end
end
local function forget(keys)
  if #keys == 0 then return end
  redis.call('ZREM', index, unpack(keys))
  redis.call('ZREM', expiry, unpack(keys))
  for _, k in ipairs(keys) do
    local ns = redis.call('HGET', keyns, k)
    if ns then
      redis.call('HDEL', keyns, k)
      unlink_ns(k, ns)
    end
  end
end
local function drop(keys)
  if #keys == 0 then return 0 end
  local names = {}
  for i, k in ipairs(keys) do names[i] = p .. k end
  local n = redis.call('DEL', unpack(names))
  forget(keys)
  return n
end
-- Forgets up to `limit` members whose expiry has passed. The expiry score is computed from
-- TIME just before SET ... PX, so it can precede the real expiry by a hair: members whose
-- entry still exists are left for a later pass. Returns (#due, #forgotten).
local function purge_expired(limit)
  local due = redis.call('ZRANGEBYSCORE', expiry, '-inf', now_ms(), 'LIMIT', 0, limit)
  local gone = {}
  for _, k in ipairs(due) do
    if redis.call('EXISTS', p .. k) == 0 then gone[#gone + 1] = k end
  end
  forget(gone)
  return #due, #gone
end
)lua";

// ARGV: prefix, key, value, ttl_ms, namespace ("" = none), fill token ("" = none: store).
// Returns 1 when stored, 0 when the token is stale (a write overtook the fill).
constexpr std::string_view kPutBody = R"lua(
local k, ttl, ns, token = ARGV[2], ARGV[4], ARGV[5], ARGV[6]
if token ~= '' then
  local now = (redis.call('GET', p .. '__gen') or '') .. ':' ..
              (redis.call('GET', p .. '__gen:' .. path_of(k)) or '')
  if now ~= token then return 0 end
end
redis.call('SET', p .. k, ARGV[3], 'PX', ttl)
redis.call('ZADD', index, 0, k)
redis.call('ZADD', expiry, now_ms() + tonumber(ttl), k)
local old = redis.call('HGET', keyns, k) or ''
if old ~= ns then
  if old ~= '' then unlink_ns(k, old) end
  if ns ~= '' then
    redis.call('HSET', keyns, k, ns)
    redis.call('SADD', p .. '__ns:' .. ns, k)
    redis.call('SADD', nslist, ns)
  else
    redis.call('HDEL', keyns, k)
  end
end
purge_expired(16)
return 1
)lua";

// ARGV: prefix, generation window (ms), then (kind, key) pairs; kind "e" exact, "v" path and
// variants, "p" prefix.
// Ranges of the lexicographic index: every string starting with s lies in [s, upper(s)).
constexpr std::string_view kEraseBody = R"lua(
local total = 0
local function upper(s)
  local i = #s
  while i > 0 do
    local b = string.byte(s, i)
    if b < 255 then return string.sub(s, 1, i - 1) .. string.char(b + 1) end
    i = i - 1
  end
  return nil
end
local function drop_range(prefix)
  local lo = prefix == '' and '-' or ('[' .. prefix)
  local hi = upper(prefix)
  hi = hi and ('(' .. hi) or '+'
  while true do
    local keys = redis.call('ZRANGEBYLEX', index, lo, hi, 'LIMIT', 0, 1000)
    if #keys == 0 then return end
    total = total + drop(keys)
  end
end
local window = ARGV[2]
for i = 3, #ARGV - 1, 2 do
  local kind, k = ARGV[i], ARGV[i + 1]
  if kind == 'p' then
    bump_epoch()
    drop_range(k)
  else
    bump_path(k, window)
    total = total + drop({k})
    drop_range(k .. ' ')  -- its variants: the key, the separator, a secondary key
    if kind == 'v' then drop_range(k .. '?') end
  end
end
return total
)lua";

// ARGV: prefix, namespace or absent (= everything under the prefix).
constexpr std::string_view kClearBody = R"lua(
local total = 0
bump_epoch()
if #ARGV < 2 then
  while true do
    local keys = redis.call('ZRANGE', index, 0, 999)
    if #keys == 0 then break end
    local names = {}
    for i, k in ipairs(keys) do names[i] = p .. k end
    total = total + redis.call('DEL', unpack(names))
    redis.call('ZREM', index, unpack(keys))
  end
  for _, ns in ipairs(redis.call('SMEMBERS', nslist)) do redis.call('DEL', p .. '__ns:' .. ns) end
  redis.call('DEL', expiry, keyns, nslist)
else
  local ns = ARGV[2]
  local nsk = p .. '__ns:' .. ns
  while true do
    local keys = redis.call('SPOP', nsk, 1000)
    if #keys == 0 then break end
    total = total + drop(keys)
  end
  redis.call('SREM', nslist, ns)
end
return total
)lua";

// ARGV: prefix.
constexpr std::string_view kCountBody = R"lua(
while true do
  local due, gone = purge_expired(1000)
  if due < 1000 or gone == 0 then break end
end
return redis.call('ZCARD', index)
)lua";

RedisStore::Script make_script(std::string_view body) {
  std::string text(kPrelude);
  text += body;
  std::string sha = sha1_hex(text);
  return {std::move(text), std::move(sha)};
}

}  // namespace

std::string sha1_hex(std::string_view data) {
  boost::uuids::detail::sha1 hash;
  hash.process_bytes(data.data(), data.size());
  unsigned int digest[5];
  hash.get_digest(digest);
  char hex[41];
  for (int i = 0; i < 5; ++i) std::snprintf(hex + 8 * i, 9, "%08x", digest[i]);
  return std::string(hex, 40);
}

const RedisStore::Script& RedisStore::put_script() {
  static const Script script = make_script(kPutBody);
  return script;
}
const RedisStore::Script& RedisStore::erase_script() {
  static const Script script = make_script(kEraseBody);
  return script;
}
const RedisStore::Script& RedisStore::clear_script() {
  static const Script script = make_script(kClearBody);
  return script;
}
const RedisStore::Script& RedisStore::count_script() {
  static const Script script = make_script(kCountBody);
  return script;
}

namespace {

Client::Options with_scripts(Client::Options options) {
  for (const auto* script : {&RedisStore::put_script(), &RedisStore::erase_script(),
                             &RedisStore::clear_script(), &RedisStore::count_script()}) {
    options.scripts.push_back(script->body);
  }
  return options;
}

}  // namespace

RedisStore::RedisStore(asio::any_io_executor executor, Client::Options options,
                       std::string key_prefix, Client::Observer observer)
    : client_(std::move(executor), with_scripts(std::move(options)), std::move(observer)),
      prefix_(std::move(key_prefix)),
      epoch_key_(prefix_ + "__gen") {}

asio::awaitable<result<Reply>> RedisStore::run_script(const Script& script,
                                                      std::vector<std::string_view> argv) {
  // push_back rather than insert({...}): GCC 12 at -O3 reports a false stringop-overflow.
  std::vector<std::string_view> args;
  args.reserve(argv.size() + 3);
  args.push_back("EVALSHA");
  args.push_back(script.sha1);
  args.push_back("0");
  for (auto arg : argv) args.push_back(arg);
  auto reply = co_await client_.execute(args);
  if (reply && reply->is_error() && reply->str.starts_with("NOSCRIPT")) {
    args[0] = "EVAL";
    args[1] = script.body;
    reply = co_await client_.execute(args);
  }
  co_return reply;
}

asio::awaitable<result<std::uint64_t>> RedisStore::run_counting_script(
    const Script& script, std::vector<std::string_view> argv) {
  auto reply = co_await run_script(script, std::move(argv));
  if (!reply) co_return reply.error();
  if (reply->is_error()) co_return errc::store_reply_error;
  if (reply->type != Reply::Type::Integer || reply->integer < 0) {
    co_return errc::store_protocol_error;
  }
  co_return static_cast<std::uint64_t>(reply->integer);
}

namespace {

// A GET-style reply: the value, absent, or an error.
result<Value> value_of(Reply& reply) {
  switch (reply.type) {
    case Reply::Type::String:
      return std::make_shared<const std::string>(std::move(reply.str));
    case Reply::Type::Nil:
      return Value();
    case Reply::Type::Error:
      return errc::store_reply_error;
    default:
      return errc::store_protocol_error;
  }
}

std::string_view string_or_empty(const Reply& reply) {
  return reply.type == Reply::Type::String ? std::string_view(reply.str) : std::string_view();
}

}  // namespace

asio::awaitable<result<Value>> RedisStore::get(std::string key, FillToken* token) {
  const std::string name = prefix_ + key;
  if (token) {
    // The entry and its fill token in one round trip (the token must be read before the
    // caller asks the upstream; reading it with the lookup costs no extra trip).
    const std::string& epoch = epoch_key_;
    const std::string path = epoch + ":" + std::string(key_path(key));
    const std::array<std::string_view, 4> args{"MGET", name, epoch, path};
    auto reply = co_await client_.execute(args);
    if (!reply) co_return reply.error();
    if (reply->is_error()) co_return errc::store_reply_error;
    if (reply->type != Reply::Type::Array || reply->elements.size() != 3) {
      co_return errc::store_protocol_error;
    }
    auto value = value_of(reply->elements[0]);
    if (value && !*value) {
      token->generations = std::string(string_or_empty(reply->elements[1])) + ":" +
                           std::string(string_or_empty(reply->elements[2]));
    }
    co_return value;
  }
  const std::array<std::string_view, 2> args{"GET", name};
  auto reply = co_await client_.execute(args);
  if (!reply) co_return reply.error();
  co_return value_of(*reply);
}

asio::awaitable<error_code> RedisStore::put(std::string key, std::string value,
                                            std::chrono::milliseconds ttl, std::string ns,
                                            const FillToken* token) {
  if (ttl.count() <= 0) co_return error_code{};  // precondition: nothing to cache
  const std::string ttl_ms = std::to_string(ttl.count());
  // (Braced arguments to a co_awaited call trip a GCC 12 bug: build the vector first.)
  const std::string_view generations =
      token != nullptr ? std::string_view(token->generations) : std::string_view();
  std::vector<std::string_view> argv{prefix_, key, value, ttl_ms, ns, generations};
  auto reply = co_await run_script(put_script(), std::move(argv));
  if (!reply) co_return reply.error();
  if (reply->is_error()) co_return errc::store_reply_error;
  if (reply->type == Reply::Type::Integer && reply->integer == 0) {
    co_return errc::fill_overtaken;
  }
  co_return error_code{};
}

asio::awaitable<result<std::uint64_t>> RedisStore::erase(std::vector<EraseTarget> targets) {
  if (targets.empty()) co_return 0;
  const std::string window_ms = std::to_string(fill_window_.count());
  std::vector<std::string_view> argv;
  argv.reserve(2 + 2 * targets.size());
  argv.push_back(prefix_);
  argv.push_back(window_ms);
  for (const auto& target : targets) {
    switch (target.kind) {
      case EraseTarget::Kind::Exact:
        argv.push_back("e");
        break;
      case EraseTarget::Kind::PathAndVariants:
        argv.push_back("v");
        break;
      case EraseTarget::Kind::Prefix:
        argv.push_back("p");
        break;
    }
    argv.push_back(target.key);
  }
  co_return co_await run_counting_script(erase_script(), std::move(argv));
}

asio::awaitable<result<std::uint64_t>> RedisStore::clear(std::optional<std::string> ns) {
  if (ns && ns->empty()) co_return 0;
  std::vector<std::string_view> argv{prefix_};
  if (ns) argv.push_back(*ns);
  co_return co_await run_counting_script(clear_script(), std::move(argv));
}

asio::awaitable<result<std::uint64_t>> RedisStore::count() {
  std::vector<std::string_view> argv{prefix_};
  co_return co_await run_counting_script(count_script(), std::move(argv));
}

asio::awaitable<result<std::chrono::microseconds>> RedisStore::ping() {
  const std::array<std::string_view, 1> args{"PING"};
  const auto start = std::chrono::steady_clock::now();
  auto reply = co_await client_.execute(args);
  if (!reply) co_return reply.error();
  if (reply->type != Reply::Type::Status) co_return errc::store_reply_error;
  co_return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  start);
}

}  // namespace cachecar::store::redis
