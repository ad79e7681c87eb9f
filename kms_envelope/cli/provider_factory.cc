#include "kms_envelope/cli/provider_factory.h"

#include <sys/stat.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/config/provider_factory.h"
#include "kms_envelope/config/provider_flags.h"
#include "kms_envelope/status_macros.h"

extern char** environ;

namespace kms_envelope {
namespace cli {
namespace {

// Anyone may add, rename or remove entries in a world-writable directory (even with the sticky
// bit they may plant names the store then reads): the store is used, but the user is told.
void WarnIfWorldWritable(const std::string& directory) {
  struct stat st;
  if (::stat(directory.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & S_IWOTH) != 0) {
    ReportNote(absl::StrCat("warning: the key store directory ", directory,
                            " is world-writable; other users can tamper with it (chmod o-w)"));
  }
}

// The config, after warning about a world-writable local store directory when it names one.
absl::StatusOr<config::ProviderConfig> CheckedConfig(const GlobalOptions& options) {
  KMS_ASSIGN_OR_RETURN(config::ProviderConfig c, ProviderConfigFor(options));
  if (c.kms_endpoint.empty() && c.kms_instance_endpoint.empty()) {
    WarnIfWorldWritable(config::ResolveHome(c));
  }
  return c;
}

}  // namespace

void AddProviderFlags(CLI::App& app, GlobalOptions& options) {
  config::AddProviderFlags(app, kPathType, &options.provider_flags);
}

absl::StatusOr<config::ProviderConfig> ProviderConfigFor(const GlobalOptions& options) {
  return config::ConfigFromFlags(options.provider_flags, environ);
}

absl::StatusOr<std::string> ResolveHome(const GlobalOptions& options) {
  KMS_ASSIGN_OR_RETURN(config::ProviderConfig c, ProviderConfigFor(options));
  return config::ResolveHome(c);
}

absl::StatusOr<std::shared_ptr<local::LocalKeyStore>> OpenLocalStore(const GlobalOptions& options) {
  KMS_ASSIGN_OR_RETURN(config::ProviderConfig c, CheckedConfig(options));
  return config::OpenLocalStore(c);
}

absl::StatusOr<std::shared_ptr<KeyProvider>> MakeProvider(const GlobalOptions& options) {
  KMS_ASSIGN_OR_RETURN(config::ProviderConfig c, CheckedConfig(options));
  KMS_ASSIGN_OR_RETURN(config::ConfiguredProvider made, config::OpenConfiguredProvider(c));
  return std::move(made.provider);
}

absl::StatusOr<std::shared_ptr<KeyProvider>> MakeBaseProvider(const GlobalOptions& options) {
  KMS_ASSIGN_OR_RETURN(config::ProviderConfig c, CheckedConfig(options));
  KMS_ASSIGN_OR_RETURN(config::ConfiguredProvider made, config::OpenBaseProvider(c));
  return std::move(made.provider);
}

}  // namespace cli
}  // namespace kms_envelope
