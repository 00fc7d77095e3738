#include "store/redis/redis_store.hpp"

#include "store/tags.hpp"
#include "store/variant_index.hpp"

#include <array>
#include <charconv>

namespace cachecar::store::redis {

namespace asio = boost::asio;
using boost::system::error_code;

std::string_view maxmemory_policy_warning(std::string_view policy, std::uint64_t maxmemory) {
  if (policy == "noeviction" && maxmemory == 0) {
    return "Redis has no maxmemory (and maxmemory-policy noeviction): it grows with the cache "
           "until entries expire; set maxmemory with volatile-lru or volatile-lfu";
  }
  if (policy == "noeviction") {
    return "Redis maxmemory-policy is noeviction: once Redis is full every fill fails (a miss) "
           "until entries expire; volatile-lru or volatile-lfu is recommended";
  }
  if (policy.starts_with("allkeys-") && maxmemory != 0) {
    return "Redis maxmemory-policy is allkeys-*: Redis may evict cachecar's bookkeeping "
           "(index, generations), and each loss makes cachecar drop every entry stored before "
           "it; volatile-lru or volatile-lfu is recommended";
  }
  return {};
}

namespace {

// The value of `field` in an INFO reply ("field:value\r\n" lines), or "".
std::string_view info_field(std::string_view info, std::string_view field) {
  for (std::size_t at = 0; at < info.size();) {
    std::size_t end = info.find('\n', at);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(at, end - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > field.size() && line.starts_with(field) && line[field.size()] == ':') {
      return line.substr(field.size() + 1);
    }
    at = end + 1;
  }
  return {};
}

// KEYS[1..10] of every script, in the prelude's order.
std::array<std::string, 10> bookkeeping_keys(const KeyNames& names) {
  std::array<std::string, 10> keys;
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = names.of(kBookkeepingNames[i]);
  return keys;
}

// ARGV[1] of every script: how the scripts name the keys they find at run time.
std::string mode_prefix(const KeyNames& names) {
  return names.hash() == KeyHash::None ? "n" + names.prefix() : std::string("h");
}

// Every new connection loads the scripts, runs the set-up script (the bookkeeping exists
// before the first token is read) and reads the eviction policy.
Client::Options with_scripts(Client::Options options, const KeyNames& names,
                             std::shared_ptr<RedisStore::ServerInfo> info) {
  for (const auto* script :
       {&RedisStore::put_script(), &RedisStore::fill_variant_script(), &RedisStore::erase_script(),
        &RedisStore::clear_script(), &RedisStore::count_script(), &RedisStore::setup_script()}) {
    options.scripts.push_back(script->body);
  }
  std::vector<std::string> setup{"EVALSHA", RedisStore::setup_script().sha1,
                                 std::to_string(bookkeeping_keys(names).size())};
  for (auto& key : bookkeeping_keys(names)) setup.push_back(std::move(key));
  setup.push_back(mode_prefix(names));
  options.setup_commands.push_back(std::move(setup));
  // INFO rather than CONFIG GET: it works where CONFIG is renamed or denied by an ACL.
  options.setup_commands.push_back({"INFO", "memory"});
  options.on_setup_reply = [info = std::move(info)](std::size_t index, const Reply& reply) {
    if (index != 1 || reply.type != Reply::Type::String) return;
    info->maxmemory_policy = std::string(info_field(reply.str, "maxmemory_policy"));
    const auto limit = info_field(reply.str, "maxmemory");
    info->maxmemory = 0;
    std::from_chars(limit.data(), limit.data() + limit.size(), info->maxmemory);
    if (info->on_policy) info->on_policy(info->maxmemory_policy, info->maxmemory);
  };
  return options;
}

}  // namespace

RedisStore::RedisStore(asio::any_io_executor executor, Client::Options options,
                       std::string key_prefix, Client::Observer observer, PolicyHandler on_policy,
                       KeyHash key_hash)
    : server_info_(std::make_shared<ServerInfo>(ServerInfo{{}, 0, std::move(on_policy)})),
      client_(std::move(executor),
              with_scripts(std::move(options), KeyNames(key_prefix, key_hash), server_info_),
              std::move(observer)),
      prefix_(std::move(key_prefix)),
      names_(prefix_, key_hash),
      mode_prefix_(mode_prefix(names_)),
      epoch_key_(names_.of("__gen")),
      book_keys_(bookkeeping_keys(names_)) {}

std::vector<std::string> RedisStore::tag_set_keys(std::vector<std::string> tags) {
  auto kept = keep_tags(std::move(tags));
  if (kept.dropped != 0) tags_dropped_.fetch_add(kept.dropped, std::memory_order_relaxed);
  std::vector<std::string> keys;
  keys.reserve(kept.tags.size());
  for (const auto& tag : kept.tags) keys.push_back(names_.of("__tag:" + tag));
  return keys;
}

asio::awaitable<result<Reply>> RedisStore::run_script(const Script& script,
                                                      std::vector<std::string_view> keys,
                                                      std::vector<std::string_view> argv) {
  // push_back rather than insert({...}): GCC 12 at -O3 reports a false stringop-overflow.
  const std::string numkeys = std::to_string(book_keys_.size() + keys.size());
  std::vector<std::string_view> args;
  args.reserve(3 + book_keys_.size() + keys.size() + argv.size());
  args.push_back("EVALSHA");
  args.push_back(script.sha1);
  args.push_back(numkeys);
  for (const auto& key : book_keys_) args.push_back(key);
  for (auto key : keys) args.push_back(key);
  for (auto arg : argv) args.push_back(arg);
  auto reply = co_await client_.execute(args);
  if (reply && reply->is_error() && reply->str.starts_with("NOSCRIPT")) {
    args[0] = "EVAL";
    args[1] = script.body;
    reply = co_await client_.execute(args);
  }
  // Every script writes. An error reply (OOM under noeviction, READONLY on a replica, an ACL)
  // means entries cannot be stored or invalidated until a later write of the same kind
  // succeeds. Fills and erases are tracked apart: under noeviction erases still run (allow-oom)
  // while fills are refused, and one must not hide the other.
  if (reply) {
    const bool fill = &script == &put_script() || &script == &fill_variant_script();
    auto& refused = fill ? fills_refused_ : erases_refused_;
    refused.store(reply->is_error(), std::memory_order_relaxed);
  }
  co_return reply;
}

asio::awaitable<result<std::uint64_t>> RedisStore::run_counting_script(
    const Script& script, std::vector<std::string_view> keys, std::vector<std::string_view> argv) {
  auto reply = co_await run_script(script, std::move(keys), std::move(argv));
  if (!reply) co_return reply.error();
  if (reply->is_error()) co_return errc::store_reply_error;
  if (reply->type != Reply::Type::Integer || reply->integer < 0) {
    co_return errc::store_protocol_error;
  }
  co_return static_cast<std::uint64_t>(reply->integer);
}

namespace {

std::string_view string_or_empty(const Reply& reply) {
  return reply.type == Reply::Type::String ? std::string_view(reply.str) : std::string_view();
}

// An entry read together with the epoch ('<id>:<n>'): the value, absent, or an error. An entry
// counts only under the epoch <id> it was stored with (the put script appends the <id> and its
// length in one byte); one from before the bookkeeping was rebuilt is absent. The suffix is cut
// off in place, so the value is not copied.
result<Value> entry_of(Reply& entry, const Reply& epoch) {
  switch (entry.type) {
    case Reply::Type::String:
      break;
    case Reply::Type::Nil:
      return Value();
    case Reply::Type::Error:
      return errc::store_reply_error;
    default:
      return errc::store_protocol_error;
  }
  const std::string_view current = string_or_empty(epoch);
  const std::size_t colon = current.find(':');
  if (colon == std::string_view::npos || colon == 0) return Value();
  const std::string_view id = current.substr(0, colon);
  std::string& value = entry.str;
  if (value.empty() || static_cast<unsigned char>(value.back()) != id.size() ||
      value.size() < id.size() + 1 ||
      std::string_view(value).substr(value.size() - 1 - id.size(), id.size()) != id) {
    return Value();
  }
  value.resize(value.size() - 1 - id.size());
  return std::make_shared<const std::string>(std::move(value));
}

// What is wrong with the reply to an MGET of `keys` keys, if anything: it must be an array of
// exactly that many elements.
error_code mget_error(const result<Reply>& reply, std::size_t keys) {
  if (!reply) return reply.error();
  if (reply->is_error()) return make_error_code(errc::store_reply_error);
  if (reply->type != Reply::Type::Array || reply->elements.size() != keys) {
    return make_error_code(errc::store_protocol_error);
  }
  return {};
}

// The reply of the put or fill-variant script: 1 stored, 0 overtaken.
error_code fill_outcome(const result<Reply>& reply) {
  if (!reply) return reply.error();
  if (reply->is_error()) return make_error_code(errc::store_reply_error);
  if (reply->type == Reply::Type::Integer && reply->integer == 0) {
    return make_error_code(errc::fill_overtaken);
  }
  return {};
}

// The fill token from the replies for the epoch and the path generation. get() and
// read_fill_token() must build it alike: the put script compares it with the same keys.
FillToken token_of(const Reply& epoch, const Reply& path_generation) {
  return FillToken{std::string(string_or_empty(epoch)) + "|" +
                   std::string(string_or_empty(path_generation))};
}

}  // namespace

asio::awaitable<result<Value>> RedisStore::get(std::string key) {
  const std::string name = names_.of(key);
  const std::array<std::string_view, 3> args{"MGET", name, epoch_key_};
  auto reply = co_await client_.execute(args);
  if (auto ec = mget_error(reply, 2)) co_return ec;
  co_return entry_of(reply->elements[0], reply->elements[1]);
}

asio::awaitable<result<Lookup>> RedisStore::lookup_for_fill(std::string key) {
  // The entry and its fill token in one round trip (the token must be read before the caller
  // asks the upstream; reading it with the lookup costs no extra trip).
  const std::string name = names_.of(key);
  const std::string path = path_generation_key(key);
  const std::array<std::string_view, 4> args{"MGET", name, epoch_key_, path};
  auto reply = co_await client_.execute(args);
  if (auto ec = mget_error(reply, 3)) co_return ec;
  auto value = entry_of(reply->elements[0], reply->elements[1]);
  if (!value) co_return value.error();
  Lookup found{std::move(*value), {}};
  if (!found.value) found.token = token_of(reply->elements[1], reply->elements[2]);
  co_return found;
}

asio::awaitable<result<FillToken>> RedisStore::read_fill_token(std::string key) {
  const std::string path = path_generation_key(key);
  const std::array<std::string_view, 3> args{"MGET", epoch_key_, path};
  auto reply = co_await client_.execute(args);
  if (auto ec = mget_error(reply, 2)) co_return ec;
  co_return token_of(reply->elements[0], reply->elements[1]);
}

asio::awaitable<error_code> RedisStore::put(std::string key, std::string value,
                                            std::chrono::milliseconds ttl, std::string ns,
                                            std::vector<std::string> tags) {
  co_return co_await run_put(key, value, ttl, ns, std::string_view(), std::move(tags));
}

asio::awaitable<error_code> RedisStore::fill(std::string key, std::string value,
                                             std::chrono::milliseconds ttl, std::string ns,
                                             FillToken token, std::vector<std::string> tags) {
  // A token that was never read cannot be current (and "" would mean unconditional below).
  if (token.empty()) co_return errc::fill_overtaken;
  co_return co_await run_put(key, value, ttl, ns, token.generations, std::move(tags));
}

asio::awaitable<error_code> RedisStore::fill_variant(VariantFill variant, std::string value,
                                                     std::chrono::milliseconds ttl, std::string ns,
                                                     FillToken token,
                                                     std::vector<std::string> tags) {
  if (!variant_secondary_key(variant)) {
    co_return make_error_code(boost::system::errc::invalid_argument);
  }
  if (token.empty()) co_return errc::fill_overtaken;
  if (ttl.count() <= 0) co_return error_code{};  // precondition: nothing to cache
  const std::string ttl_ms = std::to_string(ttl.count());
  const std::string max_variants = std::to_string(variant.max_variants);
  std::string fields;
  for (const auto& field : variant.fields) {
    if (!fields.empty()) fields += ',';
    fields += field;
  }
  const std::string entry = names_.of(variant.variant_key);
  const std::string path_generation = path_generation_key(variant.variant_key);
  const std::string primary = names_.of(variant.primary_key);
  const std::string ns_set = namespace_key(ns);
  const std::vector<std::string> tag_sets = tag_set_keys(std::move(tags));
  std::vector<std::string_view> keys{entry, path_generation, primary, ns_set};
  for (const auto& set : tag_sets) keys.push_back(set);
  std::vector<std::string_view> argv{
      mode_prefix_,      variant.variant_key, value,        ttl_ms, ns,
      token.generations, variant.primary_key, max_variants, fields};
  co_return fill_outcome(
      co_await run_script(fill_variant_script(), std::move(keys), std::move(argv)));
}

asio::awaitable<error_code> RedisStore::run_put(std::string_view key, std::string_view value,
                                                std::chrono::milliseconds ttl, std::string_view ns,
                                                std::string_view generations,
                                                std::vector<std::string> tags) {
  if (ttl.count() <= 0) co_return error_code{};  // precondition: nothing to cache
  const std::string ttl_ms = std::to_string(ttl.count());
  // (Braced arguments to a co_awaited call trip a GCC 12 bug: build the vector first.)
  const std::string entry = names_.of(key);
  const std::string path_generation = path_generation_key(key);
  const std::string ns_set = namespace_key(ns);
  const std::vector<std::string> tag_sets = tag_set_keys(std::move(tags));
  std::vector<std::string_view> keys{entry, path_generation, ns_set};
  for (const auto& set : tag_sets) keys.push_back(set);
  std::vector<std::string_view> argv{mode_prefix_, key, value, ttl_ms, ns, generations};
  co_return fill_outcome(co_await run_script(put_script(), std::move(keys), std::move(argv)));
}

asio::awaitable<result<std::uint64_t>> RedisStore::erase(std::vector<EraseTarget> targets) {
  if (targets.empty()) co_return 0;
  const std::string window_ms = std::to_string(fill_window_.count());
  std::vector<std::string_view> argv;
  argv.reserve(2 + 2 * targets.size());
  argv.push_back(mode_prefix_);
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
      case EraseTarget::Kind::Tag:
        argv.push_back("t");
        break;
    }
    argv.push_back(target.key);
  }
  // KEYS, per target in order: the entry and the path generation of an exact or path target,
  // the tag set of a tag target (what a prefix or the variants cover is found in the index at
  // run time).
  std::vector<std::string> names;
  for (const auto& target : targets) {
    switch (target.kind) {
      case EraseTarget::Kind::Prefix:
        break;
      case EraseTarget::Kind::Tag:
        names.push_back(names_.of("__tag:" + target.key));
        break;
      case EraseTarget::Kind::Exact:
      case EraseTarget::Kind::PathAndVariants:
        names.push_back(names_.of(target.key));
        names.push_back(path_generation_key(target.key));
        break;
    }
  }
  std::vector<std::string_view> keys(names.begin(), names.end());
  co_return co_await run_counting_script(erase_script(), std::move(keys), std::move(argv));
}

asio::awaitable<result<std::uint64_t>> RedisStore::clear(std::optional<std::string> ns) {
  if (ns && ns->empty()) co_return 0;
  std::string ns_set;
  std::vector<std::string_view> keys;
  if (ns) {
    ns_set = namespace_key(*ns);
    keys.push_back(ns_set);
  }
  std::vector<std::string_view> argv{mode_prefix_};
  if (ns) argv.push_back(*ns);
  co_return co_await run_counting_script(clear_script(), std::move(keys), std::move(argv));
}

asio::awaitable<result<std::uint64_t>> RedisStore::count() {
  std::vector<std::string_view> keys;
  std::vector<std::string_view> argv{mode_prefix_};
  co_return co_await run_counting_script(count_script(), std::move(keys), std::move(argv));
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
