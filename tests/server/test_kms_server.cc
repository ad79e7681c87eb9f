#include "tests/server/test_kms_server.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace testing {

absl::StatusOr<TestKmsServer> StartTestKmsServer(TestKmsServerOptions options) {
  TestKmsServer kms;
  local::LocalKeyStoreOptions store_options;
  if (options.store_directory.empty()) {
    store_options.in_memory = true;
  } else {
    std::error_code ec;
    std::filesystem::remove_all(options.store_directory, ec);
    store_options.directory = options.store_directory;
  }
  KMS_ASSIGN_OR_RETURN(kms.store, local::LocalKeyStore::Open(store_options));
  for (const std::string& description : options.key_descriptions) {
    KMS_ASSIGN_OR_RETURN(auto key, kms.store->CreateKey(description));
    kms.key_ids.push_back(key.key_id);
  }
  server::KmsServerOptions& server_options = options.server;
  server_options.store = kms.store;
  if (options.add_access_keys) {
    KMS_RETURN_IF_ERROR(options.add_access_keys(kms.key_ids, server_options.policy));
  }
  KMS_ASSIGN_OR_RETURN(kms.server, server::KmsServer::New(std::move(server_options)));
  KMS_RETURN_IF_ERROR(kms.server->Start());
  kms.port = kms.server->port();
  return kms;
}

}  // namespace testing
}  // namespace kms_envelope
