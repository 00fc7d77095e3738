// Keeps the L1 tier coherent with Redis: one connection per process subscribed to Redis's
// server-assisted client-side caching messages (RESP2: CLIENT TRACKING ... BCAST PREFIX
// <key_prefix>GET: REDIRECT <itself>, SUBSCRIBE __redis__:invalidate). Every write to a cached
// key through any client of that Redis — every cachecar instance included — drops the key from
// L1. L1 serves only while this channel is up: it is emptied and switched off whenever the
// connection is lost or stops answering pings, and switched on again after resubscribing.
#pragma once

#include "store/l1_cache.hpp"
#include "store/redis/key_names.hpp"
#include "store/redis/transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace cachecar::store::redis {

class InvalidationListener {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string user;  // ACL user, as the store's connections (AUTH user password)
    std::string password;
    TlsOptions tls;  // the store's TLS settings; no context: plain TCP
    std::string key_prefix = "cachecar:";
    // cache.key_hash: with Sha256 the channel tracks every name under the prefix (entries are
    // no longer recognisable by "GET:") and hands names to L1Cache::invalidate_name, skipping
    // the bookkeeping names every put modifies. L1 must have set_key_names() then.
    KeyHash key_hash = KeyHash::None;
    std::chrono::milliseconds connect_timeout{1000};
    // A PING every interval; no reply within two intervals counts as a lost channel.
    std::chrono::milliseconds ping_interval{1000};
    // After each attempt that did not get as far as SUBSCRIBE, with why (never the password).
    std::function<void(const std::string& failure)> on_connect_failure;
  };

  // Runs on `executor`; `l1` must outlive the listener.
  InvalidationListener(boost::asio::any_io_executor executor, Options options, L1Cache& l1);
  ~InvalidationListener();
  InvalidationListener(const InvalidationListener&) = delete;
  InvalidationListener& operator=(const InvalidationListener&) = delete;

  void start();
  // Closes the connection and stops reconnecting; L1 is switched off. Call on the executor.
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace cachecar::store::redis
