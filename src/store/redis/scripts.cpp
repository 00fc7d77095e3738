// The Lua scripts of RedisStore (put, fill-variant, erase, clear, count, setup) and their EVALSHA
// names. The
// key layout and the generation rules they follow are described in redis_store.hpp and
// store/generations.hpp.
#include "store/redis/redis_store.hpp"

#include <openssl/evp.h>

namespace cachecar::store::redis {

namespace {

// Shared by every script. KEYS[1..10] are the bookkeeping keys (RedisStore::book_keys_), each
// script's own keys follow; ARGV[1] is 'n' and the key prefix (names are prefix + logical name)
// or 'h' (cache.key_hash: sha256: names are only ever taken from KEYS or from the bookkeeping,
// since Lua has no SHA-256; see name()). A
// "forgotten" logical key leaves the bookkeeping structures (index, expiry, namespace);
// "dropping" also deletes the entry and reports whether it existed. Batches stay ≤ 1000 keys:
// unpack() pushes every element onto Lua's C stack (LUAI_MAXCSTACK is 8000).
constexpr std::string_view kPrelude = R"lua(
local mode, p = string.sub(ARGV[1], 1, 1), string.sub(ARGV[1], 2)
local hashed = mode == 'h'
local gen, index, expiry, keyns, nslist, gens = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local vary, names, tagsets, keytags = KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local own = 10  -- each script's own keys start at KEYS[own + 1]
-- The Redis key of a logical name (an entry's stored key, or '__ns:' .. namespace): the prefix
-- and the name, or with cache.key_hash: sha256 the name the C++ side computed when it stored it
-- (Lua has no SHA-256), kept in `names` (logical name -> Redis key). False when unknown.
local function name(k)
  if not hashed then return p .. k end
  return redis.call('HGET', names, k)
end
local function remember(k, n)
  if hashed then redis.call('HSET', names, k, n) end
end
-- Fill fences, as store/generations.hpp defines them: an exact or path erase bumps the
-- generation of its key's path, a prefix erase, a tag erase or a clear bumps the epoch; a put
-- with a token stores only if both are still what its fill read. Path generations expire after
-- ARGV-given windows: longer than any fill can take. The conformance suite checks that a
-- sequence of erases overtakes the same tokens here as in MemoryStore.
-- A key's path ends at its query or at its secondary key (' host=...'), as key_path() says.
local function path_of(k)
  local q = string.find(k, '[? ]')
  return q and string.sub(k, 1, q - 1) or k
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- A value never used before (Redis's clock in microseconds and a count within the script), so
-- that a generation Redis evicted and a later erase recreated never equals what a token read.
local seq = 0
local function unique()
  local t = redis.call('TIME')
  seq = seq + 1
  return t[1] .. '.' .. t[2] .. '.' .. seq
end
local epoch  -- KEYS[1]'s value '<id>:<n>', read by check_bookkeeping()
-- `path_key`: the Redis key of the path's generation (passed in KEYS).
local function bump_path(k, window, path_key)
  redis.call('SET', path_key, unique(), 'PX', window)
  -- Registered until it expires, so that a put notices when Redis evicted it.
  redis.call('ZADD', gens, now_ms() + tonumber(window), path_of(k))
end
local function bump_epoch()
  local id, n = string.match(epoch, '^(.*):(%d+)$')
  epoch = id .. ':' .. (tonumber(n) + 1)
  redis.call('SET', gen, epoch)
end
local function unlink_ns(k, ns)
  local nsk = name('__ns:' .. ns)
  if nsk then redis.call('SREM', nsk, k) end
  if not nsk or redis.call('SCARD', nsk) == 0 then
    redis.call('SREM', nslist, ns)
    if hashed then redis.call('HDEL', names, '__ns:' .. ns) end
  end
end
-- Tags (EraseTarget::Kind::Tag). A tag's set (a zset: stored key -> when its entry expires, and
-- a sentinel '' at +inf so that an emptied set still exists) lists the entries stored with it;
-- `keytags` maps each tagged key to the Redis names of its tag sets ('\n'-separated), so that a
-- re-put or a forgotten key leaves exactly the sets it was in; `tagsets` maps each tag set to
-- when its longest-lived member expires. Tag sets have no Redis TTL (under volatile-* Redis
-- would evict an idle set whose entries are still hot, and nothing could purge them any more):
-- the scripts delete those whose time has passed (expire_tags), and a set missing before its
-- time was evicted (allkeys-*): tag_lost(), which rebuilds.
local function untag(k)
  local sets = redis.call('HGET', keytags, k)
  if not sets then return end
  for s in string.gmatch(sets, '[^\n]+') do redis.call('ZREM', s, k) end
  redis.call('HDEL', keytags, k)
end
local function set_tags(k, expires, sets)
  untag(k)
  if #sets == 0 then return end
  for _, s in ipairs(sets) do
    redis.call('ZADD', s, 'inf', '', expires, k)
    local until_ms = redis.call('ZSCORE', tagsets, s)
    if not until_ms or tonumber(until_ms) < expires then redis.call('ZADD', tagsets, expires, s) end
  end
  redis.call('HSET', keytags, k, table.concat(sets, '\n'))
end
local function tag_lost(s)
  if redis.call('EXISTS', s) == 1 then return false end
  local until_ms = redis.call('ZSCORE', tagsets, s)
  return until_ms ~= false and tonumber(until_ms) > now_ms()
end
-- Deletes up to `limit` tag sets whose every member has expired.
local function expire_tags(limit)
  local due = redis.call('ZRANGEBYSCORE', tagsets, '-inf', now_ms(), 'LIMIT', 0, limit)
  if #due == 0 then return end
  redis.call('DEL', unpack(due))
  redis.call('ZREM', tagsets, unpack(due))
end
local function forget(keys)
  if #keys == 0 then return end
  redis.call('ZREM', index, unpack(keys))
  redis.call('ZREM', expiry, unpack(keys))
  redis.call('SREM', vary, unpack(keys))
  if hashed then redis.call('HDEL', names, unpack(keys)) end
  for _, k in ipairs(keys) do
    local ns = redis.call('HGET', keyns, k)
    if ns then
      redis.call('HDEL', keyns, k)
      unlink_ns(k, ns)
    end
    untag(k)
  end
end
-- Deletes the keys and returns how many were entries: variant indexes (listed in `vary`) are
-- bookkeeping, not entries, and are not counted. `known` (optional) gives Redis names where the
-- caller has them from KEYS.
local function delete(keys, known)
  local listed = redis.call('SMISMEMBER', vary, unpack(keys))
  local entries, indexes = {}, {}
  for i, k in ipairs(keys) do
    local n = (known and known[i]) or name(k)
    if n then
      if listed[i] == 1 then indexes[#indexes + 1] = n else entries[#entries + 1] = n end
    end
  end
  if #indexes > 0 then redis.call('DEL', unpack(indexes)) end
  return #entries > 0 and redis.call('DEL', unpack(entries)) or 0
end
local function drop(keys, known)
  if #keys == 0 then return 0 end
  local n = delete(keys, known)
  forget(keys)
  return n
end
-- Whether logical key k has a live entry.
local function alive(k)
  local n = name(k)
  return n and redis.call('EXISTS', n) == 1
end
-- Forgets up to `limit` members whose expiry has passed. The expiry score is computed from
-- TIME just before SET ... PX, so it can precede the real expiry by a hair: members whose
-- entry still exists are left for a later pass. Returns (#due, #forgotten).
local function purge_expired(limit)
  local due = redis.call('ZRANGEBYSCORE', expiry, '-inf', now_ms(), 'LIMIT', 0, limit)
  local gone = {}
  for _, k in ipairs(due) do
    if not alive(k) then gone[#gone + 1] = k end
  end
  forget(gone)
  return #due, #gone
end
-- Entries Redis evicted leave their members behind until their TTLs pass, however long. A put
-- checks a few random members and forgets the dead ones, and goes on while it finds some, so
-- the index stays close to the live entries.
local function sweep(limit)
  local checked = 0
  while checked < limit do
    local dead = {}
    for _, k in ipairs(redis.call('ZRANDMEMBER', index, 4)) do
      if k ~= '' and not alive(k) then dead[#dead + 1] = k end
    end
    forget(dead)
    if #dead == 0 then return end
    checked = checked + 4
  end
end
-- The bookkeeping epoch (design note in docs/architecture.md, "Redis"). Redis may evict any
-- of these keys (allkeys-*); each one that must survive holds a sentinel member '' (never a
-- logical key), so its loss shows as its absence. After a loss some entries can no longer be
-- found by erases: the bookkeeping starts again under a new <id>. Entries carry the <id> they
-- were stored under and lookups ignore any other; fill tokens contain the epoch.
local function rebuild()
  for _, ns in ipairs(redis.call('SMEMBERS', nslist)) do
    local nsk = ns ~= '' and name('__ns:' .. ns)
    if nsk then redis.call('UNLINK', nsk) end
  end
  for _, s in ipairs(redis.call('ZRANGE', tagsets, 0, -1)) do
    if s ~= '' then redis.call('UNLINK', s) end
  end
  redis.call('UNLINK', index, expiry, keyns, nslist, gens, vary, names, tagsets, keytags)
  epoch = unique() .. ':0'
  redis.call('SET', gen, epoch)
  redis.call('ZADD', index, 0, '')
  redis.call('HSET', keyns, '', '')
  redis.call('SADD', nslist, '')
  redis.call('ZADD', gens, 'inf', '')
  redis.call('ZADD', tagsets, 'inf', '')
  redis.call('HSET', keytags, '', '')
  if hashed then redis.call('HSET', names, '', '') end
end
local function check_bookkeeping()
  epoch = redis.call('GET', gen)
  local books = {index, keyns, nslist, gens, tagsets, keytags}
  if hashed then books[#books + 1] = names end
  if not epoch or not string.find(epoch, '^[%d.]+:%d+$') or
     redis.call('EXISTS', unpack(books)) < #books then
    rebuild()
  end
end
-- A namespace still listed whose set is gone: its entries cannot be found any more.
local function check_namespace(ns, nsk)
  if redis.call('SISMEMBER', nslist, ns) == 1 and redis.call('EXISTS', nsk) == 0 then rebuild() end
end
-- The same for the tag sets a put names (KEYS[first..]): a set evicted before its time.
local function check_tags(first)
  for i = first, #KEYS do
    if tag_lost(KEYS[i]) then
      rebuild()
      return
    end
  end
end
-- Whether a fill of k that read `token` ("" = none: a put) may store (path generation in
-- `path_key`).
local function token_current(k, token, path_key)
  if token == '' then return true end
  local path_gen = redis.call('GET', path_key)
  if token ~= epoch .. '|' .. (path_gen or '') then return false end
  if not path_gen then
    -- Absent, as the fill saw it. But if an erase registered one that has not expired yet,
    -- Redis evicted it, and that erase may have come after the fill's lookup.
    local until_ms = redis.call('ZSCORE', gens, path_of(k))
    if until_ms and tonumber(until_ms) > now_ms() then return false end
  end
  return true
end
-- Stores `value` under logical key k (Redis key `n`) with its bookkeeping: namespace ns (its set
-- `nsk`), tag sets `sets`. The stored value ends with the epoch's <id> and its length in one
-- byte (entry_of() in C++).
local function store(n, k, value, ttl, ns, nsk, sets)
  local id = string.match(epoch, '^(.*):')
  redis.call('SET', n, value .. id .. string.char(#id), 'PX', ttl)
  remember(k, n)
  redis.call('ZADD', index, 0, k)
  local expires = now_ms() + tonumber(ttl)
  redis.call('ZADD', expiry, expires, k)
  local old = redis.call('HGET', keyns, k) or ''
  if old ~= ns then
    if old ~= '' then unlink_ns(k, old) end
    if ns ~= '' then
      redis.call('HSET', keyns, k, ns)
      redis.call('SADD', nsk, k)
      redis.call('SADD', nslist, ns)
      remember('__ns:' .. ns, nsk)
    else
      redis.call('HDEL', keyns, k)
    end
  end
  set_tags(k, expires, sets)
end
-- Variant indexes (store/variant_index.hpp): "CCV1 " fields "\n", then one secondary key per
-- line, oldest stored first; stored like an entry (with the epoch suffix). `vary` lists the
-- keys that hold one, so that counts can leave them out; it has no sentinel: losing it only
-- makes counts include indexes until they are stored again.
local kIndexMagic = 'CCV1 '
-- The text of a stored value without its epoch suffix, and whether the suffix is current.
local function stored_text(raw)
  local n = string.byte(raw, #raw) or 0
  local id = string.match(epoch, '^(.*):')
  return string.sub(raw, 1, #raw - 1 - n), string.sub(raw, #raw - n, #raw - 1) == id
end
local function index_members(text)
  local members = {}
  local eol = string.find(text, '\n', 1, true)
  if not eol then return members end
  for m in string.gmatch(string.sub(text, eol + 1), '([^\n]*)\n') do
    if #m > 1 and string.sub(m, 1, 1) == ' ' then members[#members + 1] = m end
  end
  return members
end
local function drop_variants(primary, members)
  local keys = {}
  for i, m in ipairs(members) do keys[i] = primary .. m end
  drop(keys)
end
-- Deletes the variant index under `primary` when it lists no live variant any more.
local function drop_if_empty(primary)
  if redis.call('SISMEMBER', vary, primary) == 0 then return end
  local n = name(primary)
  local raw = n and redis.call('GET', n)
  if not raw then return end
  for _, m in ipairs(index_members(stored_text(raw))) do
    if alive(primary .. m) then return end
  end
  drop({primary})
end
-- Deletes every entry of tag set `s` (its members whose key is still tagged with it) and the set;
-- variant indexes left without a live variant go too. Returns how many entries existed.
local function purge_tag(s)
  local total, primaries = 0, {}
  while true do
    local members = redis.call('ZRANGEBYSCORE', s, '-inf', '(inf', 'LIMIT', 0, 1000)
    if #members == 0 then break end
    -- A member is deleted only while keytags still lists the set for its key: a key re-put with
    -- other tags (re-puts leave their old sets; this is a safeguard) or one from before a
    -- rebuild (an orphaned set whose registry was lost) only leaves the set.
    local victims = {}
    for _, k in ipairs(members) do
      local sets = redis.call('HGET', keytags, k)
      if sets and string.find('\n' .. sets .. '\n', '\n' .. s .. '\n', 1, true) then
        victims[#victims + 1] = k
        local sp = string.find(k, ' [^ ]*$')
        if sp then primaries[string.sub(k, 1, sp - 1)] = true end
      end
    end
    total = total + drop(victims)
    redis.call('ZREM', s, unpack(members))
  end
  redis.call('DEL', s)
  redis.call('ZREM', tagsets, s)
  for primary in pairs(primaries) do drop_if_empty(primary) end
  return total
end
)lua";

static_assert(std::string_view(kPathEnd) == "? ",
              "path_of() in the Lua prelude ends a path where key_path() does");

// KEYS: bookkeeping, the entry, its path generation, the namespace's set (named even without a
// namespace), then the entry's tag sets.
// ARGV: mode and prefix, key, value, ttl_ms, namespace ("" = none), fill token ("" = none: store).
// Returns 1 when stored, 0 when the token is stale (a write overtook the fill).
constexpr std::string_view kPutBody = R"lua(
local k, ttl, ns, token = ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local entry, path_key, nsk = KEYS[own + 1], KEYS[own + 2], KEYS[own + 3]
local sets = {}
for i = own + 4, #KEYS do sets[#sets + 1] = KEYS[i] end
check_bookkeeping()
if ns ~= '' then check_namespace(ns, nsk) end
check_tags(own + 4)
if not token_current(k, token, path_key) then return 0 end
-- A plain entry replacing a variant index: the origin stopped sending Vary, its variants go.
-- Only the first bytes are read to tell (a large entry is not copied into the script).
if redis.call('GETRANGE', entry, 0, #kIndexMagic - 1) == kIndexMagic then
  drop_variants(k, index_members(stored_text(redis.call('GET', entry))))
end
redis.call('SREM', vary, k)
store(entry, k, ARGV[3], ttl, ns, nsk, sets)
purge_expired(16)
expire_tags(16)
sweep(32)
return 1
)lua";

// One variant of a response with Vary, and the variant index under its primary key, in one
// step (CacheStore::fill_variant; MemoryStore::fill_variant_sync takes the same steps).
// KEYS: bookkeeping, the variant's entry, its path generation (the primary key's too), the
// primary key's entry, the namespace's set (named even without one), the variant's tag sets.
// ARGV: mode and prefix, variant key, value, ttl_ms, namespace, fill token, primary key, max
// variants, the fields joined by ','. Returns 1 when stored, 0 when the token is stale.
constexpr std::string_view kFillVariantBody = R"lua(
local k, ttl, ns, token = ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local primary, keep, head = ARGV[7], math.max(tonumber(ARGV[8]), 1), kIndexMagic .. ARGV[9] .. '\n'
local entry, path_key, primary_entry, nsk = KEYS[own + 1], KEYS[own + 2], KEYS[own + 3], KEYS[own + 4]
local sets = {}
for i = own + 5, #KEYS do sets[#sets + 1] = KEYS[i] end
check_bookkeeping()
if ns ~= '' then check_namespace(ns, nsk) end
check_tags(own + 5)
if not token_current(k, token, path_key) then return 0 end
local secondary = string.sub(k, #primary + 1)
-- The listed variants when the index names the same fields; another index (or one stored under
-- an older epoch, which lookups ignore) is replaced and its variants deleted. A plain entry is
-- simply overwritten. The index lives as long as its longest-lived variant.
local members, index_ttl = {}, tonumber(ttl)
local raw = redis.call('GET', primary_entry)
if raw and string.sub(raw, 1, #kIndexMagic) == kIndexMagic then
  local text, current = stored_text(raw)
  if current and string.sub(text, 1, #head) == head then
    members = index_members(text)
    index_ttl = math.max(index_ttl, redis.call('PTTL', primary_entry))
  else
    drop_variants(primary, index_members(text))
  end
end
-- The variant moves to the end; listed variants that expired or were evicted are no longer
-- listed (nor counted against max variants). Beyond max variants the oldest stored go.
local kept, dead = {}, {}
for _, m in ipairs(members) do
  if m ~= secondary then
    if alive(primary .. m) then
      kept[#kept + 1] = m
    else
      dead[#dead + 1] = primary .. m
    end
  end
end
forget(dead)
kept[#kept + 1] = secondary
local excess = #kept - keep
if excess > 0 then
  local old = {}
  for i = 1, excess do old[i] = kept[i] end
  drop_variants(primary, old)
  local rest = {}
  for i = excess + 1, #kept do rest[#rest + 1] = kept[i] end
  kept = rest
end
store(entry, k, ARGV[3], ttl, ns, nsk, sets)
-- The index has no tags of its own (a plain entry it replaces leaves its tag sets).
store(primary_entry, primary, head .. table.concat(kept, '\n') .. '\n', index_ttl, ns, nsk, {})
redis.call('SADD', vary, primary)
purge_expired(16)
expire_tags(16)
sweep(32)
return 1
)lua";

// KEYS: bookkeeping, then per target in order: the entry and the path generation of an exact or
// path target, the tag set of a tag target (a prefix target has none).
// ARGV: mode and prefix, generation window (ms), then (kind, key) pairs; kind "e" exact, "v" path
// and variants, "p" prefix, "t" tag.
// Ranges of the lexicographic index: every string starting with s lies in [s, upper(s)).
// Generations are bumped before anything is deleted: a script that fails half-way returns an
// error (the caller keeps the invalidation pending), never a deletion without its bump.
constexpr std::string_view kEraseBody = R"lua(
local total = 0
check_bookkeeping()
redis.call('ZREMRANGEBYSCORE', gens, '-inf', now_ms())
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
  local lo = prefix == '' and '(' or ('[' .. prefix)  -- '(': all but the sentinel ''
  local hi = upper(prefix)
  hi = hi and ('(' .. hi) or '+'
  while true do
    local keys = redis.call('ZRANGEBYLEX', index, lo, hi, 'LIMIT', 0, 1000)
    if #keys == 0 then return end
    total = total + drop(keys)
  end
end
local window = ARGV[2]
local c = own + 1  -- the next target's keys
for i = 3, #ARGV - 1, 2 do
  local kind, k = ARGV[i], ARGV[i + 1]
  if kind == 'p' then
    bump_epoch()
    drop_range(k)
  elseif kind == 't' then
    local s = KEYS[c]
    c = c + 1
    bump_epoch()
    if tag_lost(s) then
      rebuild()  -- its entries can no longer be found: every entry stored before is retired
    else
      total = total + purge_tag(s)
    end
  else
    local entry, path_key = KEYS[c], KEYS[c + 1]
    c = c + 2
    bump_path(k, window, path_key)
    total = total + drop({k}, {entry})
    drop_range(k .. ' ')  -- its variants: the key, the separator, a secondary key
    if kind == 'v' then drop_range(k .. '?') end
  end
end
expire_tags(16)
return total
)lua";

// KEYS: bookkeeping, the namespace's set (with a namespace).
// ARGV: mode and prefix, namespace or absent (= everything under the prefix).
constexpr std::string_view kClearBody = R"lua(
local total = 0
check_bookkeeping()
if #ARGV >= 2 then check_namespace(ARGV[2], KEYS[own + 1]) end
bump_epoch()
if #ARGV < 2 then
  while true do
    local keys = redis.call('ZRANGEBYLEX', index, '(', '+', 'LIMIT', 0, 1000)
    if #keys == 0 then break end
    total = total + delete(keys)
    redis.call('ZREM', index, unpack(keys))
  end
  for _, ns in ipairs(redis.call('SMEMBERS', nslist)) do
    local nsk = ns ~= '' and name('__ns:' .. ns)
    if nsk then redis.call('DEL', nsk) end
  end
  for _, s in ipairs(redis.call('ZRANGE', tagsets, 0, -1)) do
    if s ~= '' then redis.call('DEL', s) end
  end
  redis.call('DEL', expiry, keyns, nslist, vary, names, tagsets, keytags)
  redis.call('HSET', keyns, '', '')
  redis.call('SADD', nslist, '')
  redis.call('ZADD', tagsets, 'inf', '')
  redis.call('HSET', keytags, '', '')
  if hashed then redis.call('HSET', names, '', '') end
else
  local ns = ARGV[2]
  local nsk = KEYS[own + 1]
  while true do
    local keys = redis.call('SPOP', nsk, 1000)
    if #keys == 0 then break end
    total = total + drop(keys)
  end
  redis.call('SREM', nslist, ns)
  if hashed then redis.call('HDEL', names, '__ns:' .. ns) end
end
return total
)lua";

// KEYS: bookkeeping. ARGV: mode and prefix.
constexpr std::string_view kCountBody = R"lua(
check_bookkeeping()
while true do
  local due, gone = purge_expired(1000)
  if due < 1000 or gone == 0 then break end
end
expire_tags(1000)
-- Variant indexes are bookkeeping, not entries.
return math.max(redis.call('ZCARD', index) - 1 - redis.call('SCARD', vary), 0)
)lua";

// Run on every new connection, so that the epoch exists before the first lookup reads a token.
// KEYS: bookkeeping. ARGV: mode and prefix.
constexpr std::string_view kSetupBody = R"lua(
check_bookkeeping()
return 1
)lua";

// Redis 7 refuses a script that declares no flags when it is out of memory (noeviction), or,
// for a script without a shebang, its first command that may grow memory. Invalidations must
// go through even then: they free memory, and a DEL whose generation bump was refused would
// let an overtaken fill store later. Fills must not: a refused fill is a miss.
constexpr std::string_view kMayGrowMemory = "#!lua";
constexpr std::string_view kRunsWhenFull = "#!lua flags=allow-oom";

RedisStore::Script make_script(std::string_view shebang, std::string_view body) {
  std::string text(shebang);
  text += kPrelude;
  text += body;
  std::string sha = sha1_hex(text);
  return {std::move(text), std::move(sha)};
}

}  // namespace

// SHA-1 because EVALSHA names a script by the SHA-1 of its text; nothing here relies on it for
// security.
std::string sha1_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    return {};  // only when libcrypto itself is broken; no script has the empty name
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

const RedisStore::Script& RedisStore::put_script() {
  static const Script script = make_script(kMayGrowMemory, kPutBody);
  return script;
}
const RedisStore::Script& RedisStore::fill_variant_script() {
  static const Script script = make_script(kMayGrowMemory, kFillVariantBody);
  return script;
}
const RedisStore::Script& RedisStore::erase_script() {
  static const Script script = make_script(kRunsWhenFull, kEraseBody);
  return script;
}
const RedisStore::Script& RedisStore::clear_script() {
  static const Script script = make_script(kRunsWhenFull, kClearBody);
  return script;
}
const RedisStore::Script& RedisStore::count_script() {
  static const Script script = make_script(kRunsWhenFull, kCountBody);
  return script;
}
const RedisStore::Script& RedisStore::setup_script() {
  static const Script script = make_script(kRunsWhenFull, kSetupBody);
  return script;
}

}  // namespace cachecar::store::redis
