#pragma once

#include <string>

namespace dbproxy::testing {

// A throwaway PKI made with the openssl command line for TLS tests: a CA, a server
// certificate for 127.0.0.1 (SAN IP:127.0.0.1) and a client certificate signed by it, and a
// second, unrelated CA that signed nothing here (for "wrong CA" cases). EC P-256 keys valid
// for two days, all PEM files in a fresh temp dir, removed by the destructor unless
// DBPROXY_TEST_KEEP=1.
//
// Make() records a test failure with openssl's output and throws if any step fails.
// Thread rule: one thread at a time; the paths are plain strings, copy freely.
class TestCertificates {
 public:
  static TestCertificates Make();

  TestCertificates(TestCertificates&& other) noexcept;
  TestCertificates& operator=(TestCertificates&&) = delete;
  TestCertificates(const TestCertificates&) = delete;
  ~TestCertificates();

  const std::string& dir() const { return dir_; }
  std::string ca() const { return dir_ + "/ca.pem"; }
  std::string server_cert() const { return dir_ + "/server.pem"; }
  std::string server_key() const { return dir_ + "/server.key"; }
  std::string client_cert() const { return dir_ + "/client.pem"; }
  std::string client_key() const { return dir_ + "/client.key"; }
  std::string other_ca() const { return dir_ + "/other-ca.pem"; }

  // "ssl_ca=...\nssl_cert=...\nssl_key=...\n": PrivateMariadbOptions::extra_config lines
  // that make a MariaDB offer TLS with the server certificate.
  std::string MariadbServerLines() const;

 private:
  explicit TestCertificates(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;  // "" once moved from
};

}  // namespace dbproxy::testing
