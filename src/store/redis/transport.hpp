// The byte stream under every Redis connection: plain TCP or TLS over TCP (asio::ssl), chosen
// at start-up. Keeps the Asio SSL headers out of this header (only transport.cpp includes them).
// Not thread-safe: one executor, at most one read and one write in flight at a time.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace cachecar::store::redis {

// `redis.tls` as the store sees it. Paths are checked by config (readable files); their
// contents by make_tls_context.
struct TlsSettings {
  std::string ca_file;    // empty: the system's default trust store
  std::string cert_file;  // client certificate (tls-auth-clients yes); with key_file
  std::string key_file;
  bool verify = true;       // verify the server's certificate chain and name
  std::string server_name;  // SNI and the name verified; empty: the URL's host
};

// An SSL context (asio::ssl::context) with the CA, client certificate and key loaded. Built once
// at start-up and shared by every connection on every thread (OpenSSL contexts are thread-safe
// once configured).
class TlsContext;

struct TlsOptions {
  std::shared_ptr<const TlsContext> context;  // null: plain TCP
  std::string server_name;                    // SNI and verified name; empty: the host
  bool verify = true;
};

// Throws std::runtime_error naming the file on unreadable or malformed PEM content, or a key
// that does not match its certificate (start-up errors).
std::shared_ptr<const TlsContext> make_tls_context(const TlsSettings& settings);

class Transport {
 public:
  using IoHandler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

  Transport(boost::asio::any_io_executor executor, const TlsOptions& tls);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // The TCP layer: connect it, set options, wait on it, close it.
  boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }
  bool tls() const noexcept { return tls_ != nullptr; }

  // After the TCP connect: the TLS handshake (SNI, and with verify the chain and the name
  // against server_name or `host`); a no-op for plain TCP. On failure *reason describes it
  // ("certificate verify failed: unable to get local issuer certificate").
  boost::asio::awaitable<boost::system::error_code> handshake(std::string_view host,
                                                              std::string* reason);

  // Like tcp::socket's: reads some bytes (decrypted ones for TLS). For tokens whose result
  // depends only on the signature (use_awaitable, as_tuple(use_awaitable)).
  template <typename Token>
  auto async_read_some(boost::asio::mutable_buffer buffer, Token&& token) {
    if (!tls_) return socket_.async_read_some(buffer, std::forward<Token>(token));
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, boost::asio::mutable_buffer b) { tls_read(b, std::move(handler)); },
        token, buffer);
  }

  // Writes the whole buffer (asio::async_write over either layer).
  template <typename Token>
  auto async_write(boost::asio::const_buffer buffer, Token&& token) {
    if (!tls_) return boost::asio::async_write(socket_, buffer, std::forward<Token>(token));
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, boost::asio::const_buffer b) { tls_write(b, std::move(handler)); },
        token, buffer);
  }

  // TLS only: decrypted or received bytes are held inside the TLS layer, so a read would return
  // without waiting on the socket (the invalidation channel must not call itself drained then).
  bool buffered() const noexcept;

  // Closes the TCP socket (no TLS close_notify: Redis does not need one). Idempotent.
  void close() noexcept;

  // A readable description of an error from this transport ("tlsv13 alert certificate
  // required", "Connection reset by peer").
  static std::string describe(const boost::system::error_code& ec);

 private:
  void tls_read(boost::asio::mutable_buffer buffer, IoHandler handler);
  void tls_write(boost::asio::const_buffer buffer, IoHandler handler);

  struct Tls;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace cachecar::store::redis
