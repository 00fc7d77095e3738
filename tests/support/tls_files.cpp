#include "support/tls_files.hpp"

#include "support/process.hpp"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace cachecar::test {

namespace {

// EC keys: generated in milliseconds, and redis-server takes them.
constexpr const char* kNewKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

}  // namespace

bool TlsFiles::available() {
  return run_command("openssl version").exit_code == 0;
}

TlsFiles::TlsFiles() {
  std::string templ = (std::filesystem::temp_directory_path() / "cachecar-tls-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  dir_ = templ;
  std::ofstream(dir_ / "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                     << "extendedKeyUsage=serverAuth\n";
  std::ofstream(dir_ / "client.ext") << "extendedKeyUsage=clientAuth\n";
  try {
    for (const char* ca : {"ca", "other-ca"}) {
      run(std::string("openssl req -x509 ") + kNewKey + " -days 2 -subj /CN=cachecar-test-" + ca +
          " -keyout " + ca + ".key -out " + ca + ".pem");
    }
    for (const char* leaf : {"server", "client"}) {
      const std::string name = leaf;
      const std::string cn = name == "server" ? "localhost" : "cachecar-client";
      run(std::string("openssl req ") + kNewKey + " -subj /CN=" + cn + " -keyout " + name +
          ".key -out " + name + ".csr");
      run("openssl x509 -req -days 2 -in " + name + ".csr -CA ca.pem -CAkey ca.key " +
          "-CAcreateserial -extfile " + name + ".ext -out " + name + ".pem");
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

TlsFiles::~TlsFiles() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void TlsFiles::run(const std::string& command) const {
  const auto result = run_command("cd '" + dir_.string() + "' && " + command + " 2>&1");
  if (result.exit_code != 0) {
    throw std::runtime_error("`" + command + "` failed: " + result.output);
  }
}

}  // namespace cachecar::test
