// An in-process `kms-envelope serve` equivalent for the load and hostile-client tests: a fresh
// local store under $TEST_TMPDIR with one CMK, a KmsServer on 127.0.0.1 (free port) and one
// access key allowed everything.
#ifndef KMS_ENVELOPE_TESTS_RELIABILITY_SERVER_FIXTURE_H_
#define KMS_ENVELOPE_TESTS_RELIABILITY_SERVER_FIXTURE_H_

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/server/kms_server.h"
#include "tests/reliability/child_process.h"
#include "tests/server/test_kms_server.h"

namespace kms_envelope {
namespace reliability {

inline constexpr char kAccessKeyId[] = "reliability";
inline constexpr char kAccessKeySecret[] = "reliability-secret-TEST-ONLY";

struct ServerFixture {
  std::shared_ptr<local::LocalKeyStore> store;
  std::unique_ptr<server::KmsServer> server;
  std::string key_id;
  int port = 0;
};

// Aborts the test binary when anything fails (fixtures are not under test here).
inline ServerFixture StartServer(const std::string& name, size_t threads = 8) {
  testing::TestKmsServerOptions o;
  o.store_directory = FreshDir(name);
  o.key_descriptions = {"reliability"};
  o.add_access_keys = [](const std::vector<std::string>&, server::AccessPolicy& policy) {
    return policy.Add(kAccessKeyId, kAccessKeySecret, {"*"}, {"*"});
  };
  o.server.threads = threads;
  auto kms = testing::StartTestKmsServer(std::move(o));
  if (!kms.ok()) std::abort();
  ServerFixture f;
  f.store = kms->store;
  f.server = std::move(kms->server);
  f.key_id = kms->key_ids[0];
  f.port = kms->port;
  return f;
}

}  // namespace reliability
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_RELIABILITY_SERVER_FIXTURE_H_
