#include "tests/c/test_kms_server.h"

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/kms_server.h"
#include "tests/server/test_kms_server.h"

struct test_kms_server {
  std::unique_ptr<kms_envelope::server::KmsServer> server;
};

extern "C" int test_kms_server_start(const char* dir, test_kms_server** out, int* port,
                                     char* key_id, size_t key_id_cap) {
  using namespace kms_envelope;
  testing::TestKmsServerOptions o;
  o.store_directory = dir;
  o.key_descriptions = {"c api remote test"};
  o.add_access_keys = [](const std::vector<std::string>&, server::AccessPolicy& policy) {
    return policy.Add("c-app", "c-app-secret", {"*"}, {"*"});
  };
  auto kms = testing::StartTestKmsServer(std::move(o));
  if (!kms.ok()) return 1;
  const std::string& id = kms->key_ids[0];
  if (id.size() + 1 > key_id_cap) return 2;
  *port = kms->port;
  std::memcpy(key_id, id.c_str(), id.size() + 1);
  *out = new test_kms_server{std::move(kms->server)};
  return 0;
}

extern "C" void test_kms_server_stop(test_kms_server* server) {
  if (server == nullptr) return;
  server->server->Stop();
  delete server;
}
