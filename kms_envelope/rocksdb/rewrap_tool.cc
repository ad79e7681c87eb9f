// kms-rocksdb-rewrap: re-wrap every file key of an encrypted RocksDB directory (key rotation).
//
//   kms-rocksdb-rewrap --db /var/lib/db --home ~/.kms-envelope               # local store
//   kms-rocksdb-rewrap --db /var/lib/db --kms-endpoint cn-hangzhou --to alias/new
//   (remote credentials from ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN)
//
// The provider comes from the same options as `kms-envelope`'s (config/provider_config.h:
// flags and KMS_ENVELOPE_* variables); --kms-home is another name for --home.
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
#include "kms_envelope/config/provider_factory.h"
#include "kms_envelope/config/provider_flags.h"
#include "kms_envelope/rocksdb/file_key_manager.h"
#include "kms_envelope/rocksdb/rewrap.h"

extern char** environ;

namespace {

using namespace kms_envelope;

struct Flags {
  std::string db;
  config::GivenFlags provider;
  std::string to;
  std::string context_json;
};

// Whether the options name a provider: this tool never falls back to the default local store.
bool NamesProvider(const config::ProviderConfig& c) {
  return !c.home.empty() || !c.kms_endpoint.empty() || !c.kms_instance_endpoint.empty();
}

absl::StatusOr<nlohmann::json> Run(const Flags& flags, const config::ProviderConfig& c) {
  KMS_ASSIGN_OR_RETURN(config::ConfiguredProvider made, config::OpenConfiguredProvider(c));
  std::shared_ptr<KeyProvider> provider = std::move(made.provider);
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
  config::AddProviderFlags(app, "PATH", &flags.provider);
  app.add_option_function<std::string>(
      "--kms-home", [&flags](const std::string& v) { flags.provider.emplace_back("home", v); },
      "the same as --home");
  app.add_option("--to", flags.to, "destination CMK (GUID or alias/<name>); default: each "
                                   "file's own CMK, current version");
  app.add_option("--context", flags.context_json,
                 "encryption context JSON the files were written with (default: the "
                 "provider's default)");
  CLI11_PARSE(app, argc, argv);
  absl::StatusOr<config::ProviderConfig> c = config::ConfigFromFlags(flags.provider, environ);
  if (c.ok() && !NamesProvider(*c)) {
    std::fprintf(stderr, "one of --home (--kms-home), --kms-endpoint or --kms-instance-endpoint "
                         "is required\n");
    return 2;
  }
  absl::StatusOr<nlohmann::json> result = c.ok() ? Run(flags, *c) : c.status();
  if (!result.ok()) {
    nlohmann::json error{{"Code", KmsCodeOrDefault(result.status())},
                         {"Message", std::string(result.status().message())}};
    std::fprintf(stderr, "%s\n", error.dump().c_str());
    return 1;
  }
  std::printf("%s\n", result->dump().c_str());
  return 0;
}
