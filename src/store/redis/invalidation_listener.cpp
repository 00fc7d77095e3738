#include "store/redis/invalidation_listener.hpp"

#include "core/error.hpp"
#include "store/redis/resp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <span>
#include <vector>

namespace cachecar::store::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(5);
constexpr std::string_view kChannel = "__redis__:invalidate";

// What lookups on every thread know of the channel, read without a lock. L1's reader hook holds
// it, so it outlives the listener. Written by the listener's executor only.
class ChannelView {
 public:
  // Every invalidation that reached this host has been applied: there is a subscribed channel,
  // the listener holds no bytes it has not applied, and none wait in the socket. Never blocks.
  // The descriptor is only peeked (MSG_PEEK consumes nothing, whoever's socket it is by then),
  // and the word read again afterwards proves it was still the channel's: the listener moves
  // the word before it closes the socket, so a peek that may have met another descriptor is
  // discarded.
  bool quiet() const noexcept {
    const std::uint64_t before = word_.load();
    const std::uint64_t fd = before & kNoFd;
    if (fd == kNoFd || unapplied_.load()) return false;
    char byte;
    const auto n = ::recv(static_cast<int>(fd), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    const bool nothing_waiting = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    return nothing_waiting && !unapplied_.load() && word_.load() == before;
  }

  // Publishing starts with unapplied bytes: the handshake may have read messages already.
  void publish(int fd) noexcept {
    unapplied_.store(true);
    word_.store(next(static_cast<std::uint32_t>(fd)));
  }
  // Before the socket is closed.
  void retract() noexcept {
    word_.store(next(kNoFd));
    unapplied_.store(false);
  }
  // Set before bytes are taken off the socket, cleared once they are applied.
  void set_unapplied(bool unapplied) noexcept { unapplied_.store(unapplied); }

 private:
  static constexpr std::uint64_t kNoFd = 0xffffffffU;
  std::uint64_t next(std::uint64_t fd) const noexcept {
    return (((word_.load() >> 32) + 1) << 32) | fd;
  }

  // (changes << 32) | descriptor, kNoFd = no subscribed channel. seq_cst throughout: a lookup's
  // loads must not move across its peek, nor the listener's stores across its recv or close.
  std::atomic<std::uint64_t> word_{kNoFd};
  std::atomic<bool> unapplied_{false};
};

}  // namespace

struct InvalidationListener::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, Options opts, L1Cache& cache)
      : executor(std::move(ex)), options(std::move(opts)), l1(cache), backoff_timer(executor) {
    const KeyNames names(options.key_prefix, options.key_hash);
    for (auto name : kBookkeepingNames) bookkeeping.push_back(names.of(name));
  }

  asio::any_io_executor executor;
  Options options;
  std::vector<std::string> bookkeeping;  // Redis names that are never L1 entries
  L1Cache& l1;
  asio::steady_timer backoff_timer;
  std::shared_ptr<Transport> socket;  // the current connection, if any
  bool stopped = false;
  bool subscribed = false;  // the current session got as far as SUBSCRIBE

  void close_socket() {
    if (socket) socket->close();
  }

  // Only the listener reads the subscribed channel. A lookup on another thread (L1Cache's reader
  // hook) does not serve while an invalidation has reached this host unapplied (channel->quiet()),
  // so it can never beat the listener to a message, and takes no lock.
  std::shared_ptr<ChannelView> channel = std::make_shared<ChannelView>();
  int channel_fd = -1;  // -1 = no subscribed channel
  // Shared: a TLS read in progress holds it (the read writes into its buffer).
  std::shared_ptr<ReplyParser> channel_parser;
  std::atomic<std::int64_t> last_heard_ns{0};

  // Applies every message received so far; false when there is no channel (or it just ended).
  bool drain();
  // The same for a TLS channel, whose bytes can only be read through the TLS layer: runs until
  // the channel ends.
  asio::awaitable<void> read_tls_channel(std::shared_ptr<Transport> transport);
  bool apply_parsed(ReplyParser& parser);
  void apply(const Reply& message);
  // Ends the current channel (any thread): L1 off first, then the socket may close.
  void detach_channel();

  static asio::awaitable<void> run(std::shared_ptr<State> self);
  // Pings the channel; closes it when Redis stops answering (a paused or partitioned Redis
  // must not keep L1 on).
  static asio::awaitable<void> ping_loop(std::shared_ptr<State> self,
                                         std::shared_ptr<Transport> socket,
                                         std::shared_ptr<asio::steady_timer> timer);
  asio::awaitable<error_code> session();
  std::string failure;                             // why the current session's handshake failed
  std::shared_ptr<asio::steady_timer> ping_timer;  // the current session's pinger, if any
};

namespace {

// Reads until one complete reply is parsed.
asio::awaitable<result<Reply>> read_reply(Transport& socket, ReplyParser& parser,
                                          std::string& failure) {
  for (;;) {
    auto next = parser.next();
    if (!next) co_return next.error();
    if (*next) co_return std::move(**next);
    const auto space = parser.prepare();
    auto [ec, n] =
        co_await socket.async_read_some(asio::buffer(space.data(), space.size()), kUseTuple);
    if (ec) {
      failure = Transport::describe(ec);
      co_return errc::store_unavailable;
    }
    parser.commit(n);
  }
}

asio::awaitable<error_code> send(Transport& socket, std::span<const std::string_view> args) {
  std::string out;
  encode_command(args, out);
  auto [ec, n] = co_await socket.async_write(asio::buffer(out), kUseTuple);
  co_return ec ? make_error_code(errc::store_unavailable) : error_code{};
}

bool is_string(const Reply& r, std::string_view text) {
  return (r.type == Reply::Type::String || r.type == Reply::Type::Status) && r.str == text;
}

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

asio::awaitable<void> InvalidationListener::State::ping_loop(
    std::shared_ptr<State> self, std::shared_ptr<Transport> socket,
    std::shared_ptr<asio::steady_timer> timer) {
  const std::array<std::string_view, 1> ping{"PING"};
  const auto silence_limit =
      std::chrono::duration_cast<std::chrono::nanoseconds>(2 * self->options.ping_interval);
  while (socket->socket().is_open() && !self->stopped) {
    timer->expires_after(self->options.ping_interval);
    co_await timer->async_wait(kUseTuple);
    if (!socket->socket().is_open() || self->stopped) break;
    if (steady_now_ns() - self->last_heard_ns.load() > silence_limit.count()) {
      self->detach_channel();
      socket->close();
      break;
    }
    if (co_await send(*socket, ping)) break;
  }
}

bool InvalidationListener::State::drain() {
  if (channel_fd < 0 || !channel_parser) return false;
  channel->set_unapplied(true);
  bool lost = false;
  bool drained = false;
  while (!lost && !drained) {
    const auto space = channel_parser->prepare();
    const auto n = ::recv(channel_fd, space.data(), space.size(), MSG_DONTWAIT);
    if (n > 0) {
      channel_parser->commit(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      lost = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      drained = true;
    }
    if (!apply_parsed(*channel_parser)) lost = true;
  }
  if (lost) {
    detach_channel();  // the listener closes the socket when it sees this
    return false;
  }
  channel->set_unapplied(!channel_parser->idle());
  return true;
}

// False when the bytes are not RESP (the channel is then lost).
bool InvalidationListener::State::apply_parsed(ReplyParser& parser) {
  for (;;) {
    auto next = parser.next();
    if (!next) return false;
    if (!*next) return true;
    last_heard_ns.store(steady_now_ns());
    apply(**next);
  }
}

// As drain(), but a read may suspend (the rest of a TLS record). The bytes count as unapplied
// from before the first one is taken off the socket until they are applied, and while the TLS
// layer holds any, so a lookup elsewhere never calls the channel quiet too early. (A TLS record
// without application data, a rare KeyUpdate, keeps the read waiting until the next message: at
// most a ping interval without L1 hits, never a missed invalidation.)
asio::awaitable<void> InvalidationListener::State::read_tls_channel(
    std::shared_ptr<Transport> transport) {
  while (auto parser = channel_parser) {
    if (!apply_parsed(*parser)) break;
    if (!transport->buffered()) {
      channel->set_unapplied(!parser->idle());
      auto [ec] = co_await transport->socket().async_wait(tcp::socket::wait_read, kUseTuple);
      if (ec || channel_parser != parser) break;
    }
    channel->set_unapplied(true);
    const auto space = parser->prepare();
    auto [ec, n] =
        co_await transport->async_read_some(asio::buffer(space.data(), space.size()), kUseTuple);
    if (ec || channel_parser != parser) break;
    parser->commit(n);
  }
}

void InvalidationListener::State::apply(const Reply& message) {
  if (message.type != Reply::Type::Array || message.elements.size() < 3 ||
      !is_string(message.elements[0], "message")) {
    return;  // ["pong", ""] and the like
  }
  const auto& payload = message.elements[2];
  if (payload.type == Reply::Type::Nil) {
    l1.invalidate_all();  // FLUSHDB / FLUSHALL
    return;
  }
  for (const auto& key : payload.elements) {
    if (!std::string_view(key.str).starts_with(options.key_prefix)) continue;
    if (options.key_hash == KeyHash::None) {
      l1.invalidate(std::string_view(key.str).substr(options.key_prefix.size()));
    } else if (std::find(bookkeeping.begin(), bookkeeping.end(), key.str) == bookkeeping.end()) {
      l1.invalidate_name(key.str);
    }
  }
}

void InvalidationListener::State::detach_channel() {
  l1.set_active(false);
  channel->retract();
  channel_fd = -1;
  channel_parser.reset();
}

// Static, holding `self` from the start: the frame may outlive the listener object.
asio::awaitable<void> InvalidationListener::State::run(std::shared_ptr<State> self) {
  auto backoff = std::chrono::milliseconds(kFirstBackoff);
  while (!self->stopped) {
    self->subscribed = false;
    self->failure.clear();
    co_await self->session();
    self->l1.set_active(false);
    if (self->stopped) break;
    if (!self->subscribed && self->options.on_connect_failure) {
      self->options.on_connect_failure(self->failure.empty() ? "no answer" : self->failure);
    }
    // A channel that was up starts over quickly; one that never came up backs off.
    backoff = self->subscribed ? std::chrono::milliseconds(kFirstBackoff)
                               : std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
    self->backoff_timer.expires_after(backoff);
    co_await self->backoff_timer.async_wait(kUseTuple);
  }
}

asio::awaitable<error_code> InvalidationListener::State::session() {
  auto self = shared_from_this();
  socket = std::make_shared<Transport>(executor, options.tls);
  auto sock = socket;
  const std::string endpoint = options.host + ":" + std::to_string(options.port);
  // The whole handshake shares one deadline: closing the socket aborts whichever step is on.
  auto deadline = std::make_shared<asio::steady_timer>(executor, options.connect_timeout);
  deadline->async_wait([weak = std::weak_ptr<Transport>(sock)](error_code ec) {
    if (ec) return;
    if (auto s = weak.lock()) s->close();
  });

  tcp::resolver resolver(executor);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(options.host, std::to_string(options.port), kUseTuple);
  // A deadline that fired during the resolve closed nothing: don't connect without one.
  if (rec || stopped || deadline->expiry() <= std::chrono::steady_clock::now()) {
    failure = "cannot resolve " + options.host + (rec ? ": " + rec.message() : "");
    co_return errc::store_unavailable;
  }
  auto [cec, connected_to] = co_await asio::async_connect(sock->socket(), endpoints, kUseTuple);
  (void)connected_to;
  if (cec || stopped) {
    failure = "cannot connect to " + endpoint + ": " + cec.message();
    co_return errc::store_unavailable;
  }
  std::string reason;
  if (auto tec = co_await sock->handshake(options.host, &reason)) {
    failure = "TLS handshake with " + endpoint + " failed: " + reason;
    co_return errc::store_unavailable;
  }

  auto parser = std::make_shared<ReplyParser>();
  if (!options.password.empty()) {
    std::vector<std::string_view> auth{"AUTH"};
    if (!options.user.empty()) auth.emplace_back(options.user);
    auth.emplace_back(options.password);
    if (auto ec = co_await send(*sock, auth)) co_return ec;
    auto reply = co_await read_reply(*sock, *parser, failure);
    if (!reply) co_return reply.error();
    if (reply->is_error()) {
      failure = "AUTH refused: " + reply->str;  // Redis's text never echoes the password
      co_return errc::store_reply_error;
    }
  }
  const std::array<std::string_view, 2> client_id{"CLIENT", "ID"};
  if (auto ec = co_await send(*sock, client_id)) co_return ec;
  auto id = co_await read_reply(*sock, *parser, failure);
  if (!id || id->type != Reply::Type::Integer) {
    if (id && id->is_error()) failure = "CLIENT ID refused: " + id->str;
    co_return errc::store_reply_error;
  }
  const std::string id_text = std::to_string(id->integer);
  const std::string prefix = options.key_prefix + (options.key_hash == KeyHash::None ? "GET:" : "");
  const std::array<std::string_view, 8> tracking{"CLIENT", "TRACKING", "on",     "REDIRECT",
                                                 id_text,  "BCAST",    "PREFIX", prefix};
  if (auto ec = co_await send(*sock, tracking)) co_return ec;
  auto tracking_reply = co_await read_reply(*sock, *parser, failure);
  if (!tracking_reply || tracking_reply->is_error()) {
    if (tracking_reply) failure = "CLIENT TRACKING refused: " + tracking_reply->str;
    co_return errc::store_reply_error;
  }
  const std::array<std::string_view, 2> subscribe{"SUBSCRIBE", kChannel};
  if (auto ec = co_await send(*sock, subscribe)) co_return ec;
  auto confirmation = co_await read_reply(*sock, *parser, failure);
  if (!confirmation || confirmation->type != Reply::Type::Array || confirmation->elements.empty() ||
      !is_string(confirmation->elements[0], "subscribe")) {
    if (confirmation && confirmation->is_error())
      failure = "SUBSCRIBE refused: " + confirmation->str;
    co_return errc::store_reply_error;
  }
  // A deadline already due may have queued its close even though the handshake finished:
  // never publish a descriptor that may be closed (and reused) a moment later.
  if (deadline->expiry() <= std::chrono::steady_clock::now()) co_return errc::store_unavailable;
  deadline->cancel();
  subscribed = true;
  // From here on every write to a cached key reaches us: L1 may serve (starting empty). The
  // channel is published before L1 turns on, so every lookup checks it.
  last_heard_ns.store(steady_now_ns());
  channel_fd = sock->socket().native_handle();
  channel_parser = std::move(parser);
  channel->publish(channel_fd);
  l1.set_active(true);

  ping_timer = std::make_shared<asio::steady_timer>(executor);
  asio::co_spawn(executor, ping_loop(self, sock, ping_timer), asio::detached);

  // Messages that arrived with the confirmation, then whatever comes.
  if (sock->tls()) {
    co_await read_tls_channel(sock);
  } else {
    while (drain()) {
      auto [ec] = co_await sock->socket().async_wait(tcp::socket::wait_read, kUseTuple);
      if (ec) break;
    }
  }
  detach_channel();
  l1.set_active(false);
  close_socket();
  co_return errc::store_unavailable;
}

InvalidationListener::InvalidationListener(asio::any_io_executor executor, Options options,
                                           L1Cache& l1)
    : state_(std::make_shared<State>(std::move(executor), std::move(options), l1)) {
  l1.set_reader_hook([channel = state_->channel] { return channel->quiet(); });
}

InvalidationListener::~InvalidationListener() {
  stop();
}

void InvalidationListener::start() {
  asio::co_spawn(state_->executor, State::run(state_), asio::detached);
}

void InvalidationListener::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  // Retracted before the socket closes: a lookup elsewhere must not use its descriptor number.
  state_->detach_channel();
  state_->backoff_timer.cancel();
  if (state_->ping_timer) state_->ping_timer->cancel();
  state_->close_socket();
}

}  // namespace cachecar::store::redis
