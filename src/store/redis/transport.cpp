#include "store/redis/transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <stdexcept>

namespace cachecar::store::redis {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

class TlsContext {
 public:
  // Mutable: a stream's constructor takes it by non-const reference (only to create its SSL
  // object from it); once configured it is never changed.
  mutable ssl::context context{ssl::context::tls_client};
};

namespace {

// The first queued OpenSSL error, for a start-up message.
std::string openssl_error() {
  const unsigned long code = ::ERR_get_error();
  ::ERR_clear_error();
  if (code == 0) return "unknown error";
  char text[256];
  ::ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

std::shared_ptr<const TlsContext> make_tls_context(const TlsSettings& settings) {
  auto tls = std::make_shared<TlsContext>();
  auto* ctx = tls->context.native_handle();
  ::SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  ::ERR_clear_error();
  if (settings.ca_file.empty()) {
    if (::SSL_CTX_set_default_verify_paths(ctx) != 1) {
      throw std::runtime_error("redis.tls: cannot load the system's CA certificates: " +
                               openssl_error());
    }
  } else if (::SSL_CTX_load_verify_locations(ctx, settings.ca_file.c_str(), nullptr) != 1) {
    throw std::runtime_error("redis.tls.ca_file: " + settings.ca_file +
                             ": no PEM certificate could be loaded: " + openssl_error());
  }
  if (!settings.cert_file.empty()) {
    if (::SSL_CTX_use_certificate_chain_file(ctx, settings.cert_file.c_str()) != 1) {
      throw std::runtime_error("redis.tls.cert_file: " + settings.cert_file +
                               ": not a PEM certificate: " + openssl_error());
    }
    if (::SSL_CTX_use_PrivateKey_file(ctx, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      throw std::runtime_error("redis.tls.key_file: " + settings.key_file +
                               ": not a PEM private key: " + openssl_error());
    }
    if (::SSL_CTX_check_private_key(ctx) != 1) {
      throw std::runtime_error("redis.tls.key_file: " + settings.key_file +
                               " does not match the certificate in " + settings.cert_file);
    }
  }
  return tls;
}

struct Transport::Tls {
  Tls(asio::ip::tcp::socket& socket, const TlsOptions& options)
      : context(options.context),
        stream(socket, context->context),
        server_name(options.server_name),
        verify(options.verify) {}

  // Holds the context: the stream's SSL object refers to it.
  std::shared_ptr<const TlsContext> context;
  ssl::stream<asio::ip::tcp::socket&> stream;
  std::string server_name;
  bool verify;
  std::string verify_failure;  // set by the verify callback
};

Transport::Transport(asio::any_io_executor executor, const TlsOptions& tls)
    : socket_(std::move(executor)) {
  if (tls.context) tls_ = std::make_unique<Tls>(socket_, tls);
}

Transport::~Transport() {
  close();
}

asio::awaitable<error_code> Transport::handshake(std::string_view host, std::string* reason) {
  if (!tls_) co_return error_code{};
  auto& tls = *tls_;
  const std::string name = tls.server_name.empty() ? std::string(host) : tls.server_name;
  SSL* ssl = tls.stream.native_handle();
  // SNI is a DNS name: never sent for an IP address literal (RFC 6066 §3).
  error_code not_an_address;
  asio::ip::make_address(name, not_an_address);
  if (not_an_address && ::SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    *reason = "cannot set the TLS server name '" + name + "'";
    co_return make_error_code(boost::system::errc::invalid_argument);
  }
  if (tls.verify) {
    tls.stream.set_verify_mode(ssl::verify_peer);
    tls.stream.set_verify_callback([this, check = ssl::host_name_verification(name), name](
                                       bool preverified, ssl::verify_context& ctx) {
      const bool ok = check(preverified, ctx);
      if (!ok && tls_->verify_failure.empty()) {
        auto* store = ctx.native_handle();
        tls_->verify_failure =
            preverified
                ? "the server's certificate does not match the name '" + name + "'"
                : std::string(::X509_verify_cert_error_string(::X509_STORE_CTX_get_error(store)));
      }
      return ok;
    });
  } else {
    tls.stream.set_verify_mode(ssl::verify_none);
  }
  auto [ec] = co_await tls.stream.async_handshake(ssl::stream_base::client,
                                                  asio::as_tuple(asio::use_awaitable));
  if (ec) {
    *reason = describe(ec);
    if (!tls.verify_failure.empty()) *reason += ": " + tls.verify_failure;
  }
  co_return ec;
}

void Transport::tls_read(asio::mutable_buffer buffer, IoHandler handler) {
  tls_->stream.async_read_some(buffer, std::move(handler));
}

void Transport::tls_write(asio::const_buffer buffer, IoHandler handler) {
  asio::async_write(tls_->stream, buffer, std::move(handler));
}

bool Transport::buffered() const noexcept {
  if (!tls_) return false;
  // asio's engine reads the socket only when OpenSSL has consumed everything handed to it, so
  // what was received but not yet returned sits in the SSL object or its input BIO.
  SSL* ssl = tls_->stream.native_handle();
  return ::SSL_has_pending(ssl) == 1 || ::BIO_ctrl_pending(::SSL_get_rbio(ssl)) > 0;
}

void Transport::close() noexcept {
  error_code ignored;
  socket_.close(ignored);
}

std::string Transport::describe(const error_code& ec) {
  if (ec == ssl::error::stream_truncated) return "the server closed the TLS connection";
  if (ec.category() == asio::error::get_ssl_category()) {
    // "certificate verify failed (SSL routines)": the reason string is the useful part.
    const char* reason = ::ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (reason != nullptr) return reason;
  }
  return ec.message();
}

}  // namespace cachecar::store::redis
