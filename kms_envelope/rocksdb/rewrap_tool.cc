// kms-rocksdb-rewrap: re-wrap every file key of an encrypted RocksDB directory (key rotation).
//
//   kms-rocksdb-rewrap --db /var/lib/db --kms-home ~/.kms-envelope            # local store
//   kms-rocksdb-rewrap --db /var/lib/db --kms-endpoint cn-hangzhou --to alias/new
//   (remote credentials from ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN)
//
// Rewrites only the 4 KiB headers (rewrap.h: crash safe, the database may stay open and in use).
// Prints a JSON report on stdout; on failure {"Code","Message"} on stderr and exit status 1.
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/remote/credentials.h"
#include "kms_envelope/remote/remote_key_provider.h"
#include "kms_envelope/rocksdb/file_key_manager.h"
#include "kms_envelope/rocksdb/rewrap.h"

namespace {

using namespace kms_envelope;

struct Flags {
  std::string db;
  std::string kms_home;
  std::string kms_endpoint;
  std::string to;
  std::string context_json;
};

absl::StatusOr<std::shared_ptr<KeyProvider>> OpenProvider(const Flags& flags) {
  if (!flags.kms_endpoint.empty()) {
    KMS_ASSIGN_OR_RETURN(remote::Credentials credentials, remote::Credentials::FromEnvironment());
    remote::RemoteKeyProviderOptions options;
    options.endpoint = remote::ResolveEndpoint(flags.kms_endpoint);
    KMS_ASSIGN_OR_RETURN(std::unique_ptr<remote::RemoteKeyProvider> provider,
                         remote::RemoteKeyProvider::New(std::move(options), std::move(credentials)));
    return std::shared_ptr<KeyProvider>(std::move(provider));
  }
  local::LocalKeyStoreOptions options;
  options.directory = flags.kms_home;
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<local::LocalKeyStore> store,
                       local::LocalKeyStore::Open(options));
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<local::LocalKeyProvider> provider,
                       local::LocalKeyProvider::New(std::move(store)));
  return std::shared_ptr<KeyProvider>(std::move(provider));
}

absl::StatusOr<nlohmann::json> Run(const Flags& flags) {
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> provider, OpenProvider(flags));
  rocksdb_encryption::FileKeyManagerOptions options;
  // key_id is only used for new files, which this tool never creates.
  options.key_id = flags.to.empty() ? "unused-by-rewrap" : flags.to;
  if (!flags.context_json.empty()) {
    KMS_ASSIGN_OR_RETURN(options.encryption_context,
                         EncryptionContext::FromJson(flags.context_json));
  }
  KMS_ASSIGN_OR_RETURN(auto manager,
                       rocksdb_encryption::FileKeyManager::New(provider, std::move(options)));
  rocksdb_encryption::RewrapOptions rewrap;
  rewrap.destination_key_id = flags.to;
  KMS_ASSIGN_OR_RETURN(rocksdb_encryption::RewrapReport report,
                       rocksdb_encryption::RewrapDirectory(*manager, flags.db, rewrap));
  return nlohmann::json{{"Directory", flags.db},
                        {"FilesRewrapped", report.files_rewrapped},
                        {"FilesUpToDate", report.files_up_to_date},
                        {"NotEncrypted", report.not_encrypted},
                        {"Vanished", report.vanished}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Re-wrap the per-file data keys of a kms_envelope-encrypted RocksDB directory"};
  Flags flags;
  app.add_option("--db", flags.db, "database directory")->required();
  auto* home = app.add_option("--kms-home", flags.kms_home, "local key store directory");
  auto* endpoint = app.add_option("--kms-endpoint", flags.kms_endpoint,
                                  "remote KMS endpoint URL or region id");
  home->excludes(endpoint);
  app.add_option("--to", flags.to, "destination CMK (GUID or alias/<name>); default: each "
                                   "file's own CMK, current version");
  app.add_option("--context", flags.context_json,
                 "encryption context JSON the files were written with (default: the "
                 "provider's default)");
  CLI11_PARSE(app, argc, argv);
  if (flags.kms_home.empty() && flags.kms_endpoint.empty()) {
    std::fprintf(stderr, "one of --kms-home or --kms-endpoint is required\n");
    return 2;
  }
  absl::StatusOr<nlohmann::json> result = Run(flags);
  if (!result.ok()) {
    nlohmann::json error{{"Code", KmsCodeOrDefault(result.status())},
                         {"Message", std::string(result.status().message())}};
    std::fprintf(stderr, "%s\n", error.dump().c_str());
    return 1;
  }
  std::printf("%s\n", result->dump().c_str());
  return 0;
}
