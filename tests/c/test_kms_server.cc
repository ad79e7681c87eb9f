#include "tests/c/test_kms_server.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/kms_server.h"

struct test_kms_server {
  std::unique_ptr<kms_envelope::server::KmsServer> server;
};

extern "C" int test_kms_server_start(const char* dir, test_kms_server** out, int* port,
                                     char* key_id, size_t key_id_cap) {
  using namespace kms_envelope;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  local::LocalKeyStoreOptions store_options;
  store_options.directory = dir;
  auto store = local::LocalKeyStore::Open(store_options);
  if (!store.ok()) return 1;
  std::shared_ptr<local::LocalKeyStore> shared = std::move(store).value();
  auto key = shared->CreateKey("c api remote test");
  if (!key.ok() || key->key_id.size() + 1 > key_id_cap) return 2;
  auto policy = server::AccessPolicy::FromJson(
      R"({"AccessKeys": [{"AccessKeyId": "c-app", "AccessKeySecret": "c-app-secret",
                          "Actions": ["*"], "Keys": ["*"]}]})");
  if (!policy.ok()) return 3;
  server::KmsServerOptions options;
  options.store = shared;
  options.policy = std::move(policy).value();
  auto server = server::KmsServer::New(std::move(options));
  if (!server.ok()) return 4;
  if (!(*server)->Start().ok()) return 5;
  *port = (*server)->port();
  std::memcpy(key_id, key->key_id.c_str(), key->key_id.size() + 1);
  *out = new test_kms_server{std::move(server).value()};
  return 0;
}

extern "C" void test_kms_server_stop(test_kms_server* server) {
  if (server == nullptr) return;
  server->server->Stop();
  delete server;
}
