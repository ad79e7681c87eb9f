// An in-process `kms-envelope serve` equivalent for the load and hostile-client tests: a fresh
// local store under $TEST_TMPDIR with one CMK, a KmsServer on 127.0.0.1 (free port) and one
// access key allowed everything.
#ifndef KMS_ENVELOPE_TESTS_RELIABILITY_SERVER_FIXTURE_H_
#define KMS_ENVELOPE_TESTS_RELIABILITY_SERVER_FIXTURE_H_

#include <memory>
#include <string>

#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/server/kms_server.h"
#include "tests/reliability/child_process.h"

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
  ServerFixture f;
  local::LocalKeyStoreOptions so;
  so.directory = FreshDir(name);
  auto store = local::LocalKeyStore::Open(so);
  if (!store.ok()) std::abort();
  f.store = std::shared_ptr<local::LocalKeyStore>(*std::move(store));
  auto key = f.store->CreateKey("reliability");
  if (!key.ok()) std::abort();
  f.key_id = key->key_id;
  server::KmsServerOptions options;
  options.store = f.store;
  if (!options.policy.Add(kAccessKeyId, kAccessKeySecret, {"*"}, {"*"}).ok()) std::abort();
  options.threads = threads;
  auto srv = server::KmsServer::New(std::move(options));
  if (!srv.ok() || !(*srv)->Start().ok()) std::abort();
  f.server = *std::move(srv);
  f.port = f.server->port();
  return f;
}

}  // namespace reliability
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_RELIABILITY_SERVER_FIXTURE_H_
