// Builds the KeyProvider a ProviderConfig names (provider_config.h): the one factory behind the
// CLI, the C API (and the Python binding) and the RocksDB rewrap tool.
//
//   KMS_ASSIGN_OR_RETURN(ConfiguredProvider kms, OpenConfiguredProvider(config));
//   envelope::EnvelopeOptions options;
//   options.primary = {kms.provider, "alias/app"};
//
// Contract:
// - Options that do not apply to the provider chosen are InvalidParameter naming them (a CA file
//   for the local store, a passphrase file for a remote KMS, a tenant field without a branch key
//   store, ...): nothing in the config is ignored.
// - The returned provider keeps every layer under it alive (branch keys keep their KMS, the
//   cache keeps what it caches). Thread safety is that of the layers (all thread safe).
// - Secrets read here (the passphrase, credentials, the ClientKey password) are wiped once the
//   provider holds what it needs.
#ifndef KMS_ENVELOPE_CONFIG_PROVIDER_FACTORY_H_
#define KMS_ENVELOPE_CONFIG_PROVIDER_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "kms_envelope/config/provider_config.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace config {

struct ConfiguredProvider {
  std::shared_ptr<KeyProvider> provider;
  // The local store under `provider` when that is the base provider (key administration), else
  // null.
  std::shared_ptr<local::LocalKeyStore> local_store;
};

// The passphrase file may hold at most this many bytes.
inline constexpr size_t kMaxPassphraseFileSize = 4096;

[[nodiscard]] absl::StatusOr<ConfiguredProvider> OpenConfiguredProvider(
    const ProviderConfig& config);

// The local store alone, for key administration: InvalidParameter when the config names a
// remote KMS or an instance gateway, or any branch key or cache option.
[[nodiscard]] absl::StatusOr<std::shared_ptr<local::LocalKeyStore>> OpenLocalStore(
    const ProviderConfig& config);

// The base provider alone (local store, remote KMS or instance gateway), for the KMS that wraps
// branch keys when they are created or rotated: InvalidParameter for any branch-* or cache-*
// option.
[[nodiscard]] absl::StatusOr<ConfiguredProvider> OpenBaseProvider(const ProviderConfig& config);

// The two layers on a provider the caller already has (the C API stacks them on a handle):
// branch keys from the branch-* options, the data-key cache from the cache-* options.
[[nodiscard]] absl::StatusOr<std::shared_ptr<KeyProvider>> WithBranchKeys(
    std::shared_ptr<KeyProvider> kms, const ProviderConfig& config);
[[nodiscard]] absl::StatusOr<std::shared_ptr<KeyProvider>> WithCache(
    std::shared_ptr<KeyProvider> inner, const ProviderConfig& config);

// The local store directory `config` names: `home`, else DefaultHome().
std::string ResolveHome(const ProviderConfig& config);

}  // namespace config
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CONFIG_PROVIDER_FACTORY_H_
