// Test fixtures for the KMS 3.0 instance API: ClientKey files and TLS certificates made with the
// `openssl` CLI (not with our code, so the tests check our parsing against OpenSSL's own
// writers), and a real KmsServer on 127.0.0.1 over HTTPS answering the instance API through
// InstanceHandler.
//
//   ASSERT_OK_AND_ASSIGN(ClientKeyFiles ck, MakeClientKeyFiles(dir, "KAAP.app"));
//   InstanceTestServerOptions o;
//   o.client_keys = {{ck, {"*"}}};
//   absl::StatusOr<InstanceTestServer> s = StartInstanceServer(dir, std::move(o));
//
// TEST-ONLY.
#ifndef KMS_ENVELOPE_TESTS_INSTANCE_INSTANCE_TEST_UTIL_H_
#define KMS_ENVELOPE_TESTS_INSTANCE_INSTANCE_TEST_UTIL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kms_envelope/instance/instance_handler.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/server/kms_server.h"

namespace kms_envelope {
namespace testing {

// Runs `command` with /bin/sh; its stdout, or an error naming the command and exit status.
absl::StatusOr<std::string> RunShell(const std::string& command);
absl::StatusOr<std::string> ReadFile(const std::string& path);
absl::Status WriteFile(const std::string& path, const std::string& data);
// A fresh directory under TEST_TMPDIR.
std::string FreshDir(const std::string& name);

struct ClientKeyFiles {
  std::string key_id;
  std::string json_path;      // {"KeyId", "PrivateKeyData"}
  std::string password_path;
  std::string password;
  std::string private_pem_path;  // for `openssl dgst -sign`
  std::string public_pem;        // SubjectPublicKeyInfo PEM
  std::string public_pem_path;
};

// An RSA key, a self-signed certificate and a password-protected PKCS#12 made with the openssl
// CLI, written as an Alibaba-style ClientKey file. `legacy` writes the PKCS#12 with RC2-40 /
// 3DES (openssl pkcs12 -legacy), as Java and Go PKCS#12 readers expect.
absl::StatusOr<ClientKeyFiles> MakeClientKeyFiles(const std::string& dir, const std::string& key_id,
                                                  bool legacy = false, int bits = 2048);

struct TlsFiles {
  std::string cert_path;  // self-signed, CN and SAN IP 127.0.0.1: also the client's CA file
  std::string key_path;
};
absl::StatusOr<TlsFiles> MakeTlsFiles(const std::string& dir);

struct InstanceTestServerOptions {
  std::vector<std::string> key_descriptions = {"instance key"};
  // ClientKeys and the CMKs each may use ("*" or "key:<i>" for key_ids[i]).
  std::vector<std::pair<ClientKeyFiles, std::vector<std::string>>> client_keys;
  std::vector<instance::InstanceFault> faults;
  std::function<absl::Time()> now;
  std::string store_directory;  // empty: in memory
  // An AccessKey {"rpc", "rpc-secret", all actions, all CMKs} for the 2016-01-20 API on the same
  // listener (multi-CMK tests).
  bool rpc_access_key = false;
};

struct InstanceTestServer {
  std::shared_ptr<local::LocalKeyStore> store;
  std::vector<std::string> key_ids;
  TlsFiles tls;
  std::unique_ptr<instance::InstanceHandler> handler;  // outlives the server
  std::unique_ptr<server::KmsServer> server;
  int port = 0;
  std::string endpoint() const { return "https://127.0.0.1:" + std::to_string(port); }
};

absl::StatusOr<InstanceTestServer> StartInstanceServer(const std::string& dir,
                                                       InstanceTestServerOptions options);

}  // namespace testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_INSTANCE_INSTANCE_TEST_UTIL_H_
