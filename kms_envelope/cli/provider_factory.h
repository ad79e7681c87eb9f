// Provider construction for the command line, through the shared provider configuration
// (config/provider_config.h): every provider option is a global flag "--<name>" and an
// environment variable KMS_ENVELOPE_<NAME>; a flag takes precedence over its variable.
//
//   AddProviderFlags(app, options);            // --home, --kms-endpoint, --cache-max-bytes, ...
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<KeyProvider> kms, MakeProvider(options));
#ifndef KMS_ENVELOPE_CLI_PROVIDER_FACTORY_H_
#define KMS_ENVELOPE_CLI_PROVIDER_FACTORY_H_

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/config/provider_config.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace cli {

// Registers one global flag per provider option; the values given land in
// options.provider_flags.
void AddProviderFlags(CLI::App& app, GlobalOptions& options);

// The flags given, then the environment (which may not name an unknown KMS_ENVELOPE_* variable).
[[nodiscard]] absl::StatusOr<config::ProviderConfig> ProviderConfigFor(
    const GlobalOptions& options);

// The local store directory: --home, else $KMS_ENVELOPE_HOME, else ~/.kms-envelope.
[[nodiscard]] absl::StatusOr<std::string> ResolveHome(const GlobalOptions& options);

// The local store the options name, for key administration and `serve`. InvalidParameter with
// --kms-endpoint / --kms-instance-endpoint (key administration is local only).
[[nodiscard]] absl::StatusOr<std::shared_ptr<local::LocalKeyStore>> OpenLocalStore(
    const GlobalOptions& options);

// The provider the options name, with the branch key and cache layers they ask for.
[[nodiscard]] absl::StatusOr<std::shared_ptr<KeyProvider>> MakeProvider(
    const GlobalOptions& options);

// The base provider alone (local store, remote KMS or instance): the KMS that wraps branch keys.
[[nodiscard]] absl::StatusOr<std::shared_ptr<KeyProvider>> MakeBaseProvider(
    const GlobalOptions& options);

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_PROVIDER_FACTORY_H_
