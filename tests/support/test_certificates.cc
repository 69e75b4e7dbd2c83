#include "tests/support/test_certificates.h"

#include <fstream>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"
#include "tests/support/test_env.h"

namespace dbproxy::testing {
namespace {

constexpr int kOpensslTimeoutMs = 30000;

// Runs `openssl args...` in dir; fails the test with its output and throws unless it exits 0.
void Openssl(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  const std::string log = dir + "/openssl.log";
  ChildProcess process;
  std::string error;
  if (!process.Spawn(args, log, &error)) {
    ADD_FAILURE() << error;
    throw std::runtime_error(error);
  }
  std::optional<int> status = process.WaitExit(kOpensslTimeoutMs);
  if (status != 0) {
    std::string command;
    for (const std::string& a : args) {
      command += a + " ";
    }
    std::string message = "failed: " + command + "\n" + TailOfFile(log, 20);
    ADD_FAILURE() << message;
    throw std::runtime_error(message);
  }
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) {
    ADD_FAILURE() << "cannot write " << path;
    throw std::runtime_error("cannot write " + path);
  }
}

std::vector<std::string> NewKeyArgs(const std::string& key) {
  return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key};
}

void MakeCa(const std::string& dir, const std::string& name, const std::string& subject) {
  std::vector<std::string> args = {"req",   "-x509", "-days", "2",
                                   "-subj", subject, "-out",  dir + "/" + name + ".pem"};
  for (std::string& a : NewKeyArgs(dir + "/" + name + ".key")) {
    args.push_back(std::move(a));
  }
  Openssl(dir, args);
}

// A key and a certificate for subject signed by ca.pem, with the extension lines given.
void MakeSigned(const std::string& dir, const std::string& name, const std::string& subject,
                const std::string& extensions, int serial) {
  const std::string base = dir + "/" + name;
  WriteText(base + ".ext", extensions);
  std::vector<std::string> request = {"req", "-subj", subject, "-out", base + ".csr"};
  for (std::string& a : NewKeyArgs(base + ".key")) {
    request.push_back(std::move(a));
  }
  Openssl(dir, request);
  Openssl(dir, {"x509", "-req", "-in", base + ".csr", "-CA", dir + "/ca.pem", "-CAkey",
                dir + "/ca.key", "-set_serial", std::to_string(serial), "-days", "2", "-extfile",
                base + ".ext", "-out", base + ".pem"});
}

}  // namespace

TestCertificates TestCertificates::Make() {
  TestCertificates made(MakeTempDir("dbp-pki-"));
  const std::string& dir = made.dir_;
  MakeCa(dir, "ca", "/CN=dbproxy test CA");
  MakeCa(dir, "other-ca", "/CN=dbproxy unrelated test CA");
  MakeSigned(dir, "server", "/CN=127.0.0.1",
             "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", 2);
  MakeSigned(dir, "client", "/CN=dbproxy-test-client", "extendedKeyUsage=clientAuth\n", 3);
  return made;
}

TestCertificates::TestCertificates(TestCertificates&& other) noexcept
    : dir_(std::move(other.dir_)) {
  other.dir_.clear();
}

TestCertificates::~TestCertificates() {
  if (dir_.empty()) {
    return;
  }
  if (KeepTestState()) {
    std::printf("kept test certificates in %s\n", dir_.c_str());
  } else {
    RemoveTree(dir_);
  }
}

std::string TestCertificates::MariadbServerLines() const {
  return "ssl_ca=" + ca() + "\nssl_cert=" + server_cert() + "\nssl_key=" + server_key() + "\n";
}

}  // namespace dbproxy::testing
