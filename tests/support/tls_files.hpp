// Test fixture: a throw-away PKI made with the openssl CLI in a temp directory: a CA, a server
// certificate for localhost and 127.0.0.1, a client certificate, and an unrelated second CA
// (the "wrong CA"). Removed on destruction.
#pragma once

#include <filesystem>
#include <string>

namespace cachecar::test {

class TlsFiles {
 public:
  // Throws std::runtime_error with openssl's output when a step fails.
  TlsFiles();
  ~TlsFiles();
  TlsFiles(const TlsFiles&) = delete;
  TlsFiles& operator=(const TlsFiles&) = delete;

  // True when the openssl CLI is on PATH (tests skip otherwise).
  static bool available();

  std::string ca_file() const { return path("ca.pem"); }
  std::string server_cert() const { return path("server.pem"); }  // CN=localhost, SAN as above
  std::string server_key() const { return path("server.key"); }
  std::string client_cert() const { return path("client.pem"); }
  std::string client_key() const { return path("client.key"); }
  std::string other_ca_file() const { return path("other-ca.pem"); }  // signed nothing here
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  std::string path(const char* name) const { return (dir_ / name).string(); }
  void run(const std::string& command) const;

  std::filesystem::path dir_;
};

}  // namespace cachecar::test
