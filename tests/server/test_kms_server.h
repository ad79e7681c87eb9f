// The one way tests start a real KmsServer: a fresh LocalKeyStore (in memory or in a directory),
// some CMKs, the access keys the test wants, and the server on 127.0.0.1 (free port). Used by
// tests/server, tests/reliability, tests/rocksdb and tests/c (through its C wrapper).
//
//   TestKmsServerOptions o;
//   o.store_directory = dir;             // empty: in-memory store
//   o.key_descriptions = {"app key"};    // one CMK each, in kms->key_ids in this order
//   o.add_access_keys = [](const std::vector<std::string>& key_ids, server::AccessPolicy& p) {
//     return p.Add("app", "app-secret", {"*"}, {key_ids[0]});
//   };
//   o.server.threads = 4;                // any other KmsServerOptions (store is set here)
//   absl::StatusOr<TestKmsServer> kms = StartTestKmsServer(std::move(o));
//
// TEST-ONLY. A directory store is removed first, so every start is fresh. The server runs until
// TestKmsServer::server is stopped or destroyed.
#ifndef KMS_ENVELOPE_TESTS_SERVER_TEST_KMS_SERVER_H_
#define KMS_ENVELOPE_TESTS_SERVER_TEST_KMS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/kms_server.h"

namespace kms_envelope {
namespace testing {

struct TestKmsServerOptions {
  std::string store_directory;  // empty: in-memory store; otherwise removed, then created
  std::vector<std::string> key_descriptions;
  // Adds the access keys to the server's policy; may name the CMKs just created.
  std::function<absl::Status(const std::vector<std::string>& key_ids, server::AccessPolicy&)>
      add_access_keys;
  server::KmsServerOptions server;  // `store` and `policy` are filled in here
};

struct TestKmsServer {
  std::shared_ptr<local::LocalKeyStore> store;
  std::unique_ptr<server::KmsServer> server;
  std::vector<std::string> key_ids;  // one per key_descriptions entry
  int port = 0;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port); }
};

[[nodiscard]] absl::StatusOr<TestKmsServer> StartTestKmsServer(TestKmsServerOptions options);

}  // namespace testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_SERVER_TEST_KMS_SERVER_H_
