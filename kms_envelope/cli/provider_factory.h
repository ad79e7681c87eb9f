// Provider construction for the command line: the local CMK store (default) or, with
// --kms-endpoint, a remote KMS.
//
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<KeyProvider> kms, MakeProvider(options));
//
// The local store lives in ResolveHome(options); with --passphrase-file its root key is derived
// from the file's contents (one trailing newline stripped) instead of <home>/root.key.
#ifndef KMS_ENVELOPE_CLI_PROVIDER_FACTORY_H_
#define KMS_ENVELOPE_CLI_PROVIDER_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace cli {

// The local store the options name. InvalidParameter with --kms-endpoint (key administration
// is local only).
[[nodiscard]] absl::StatusOr<std::shared_ptr<local::LocalKeyStore>> OpenLocalStore(
    const GlobalOptions& options);

// The provider the options name: remote when --kms-endpoint is set, else the local store.
[[nodiscard]] absl::StatusOr<std::unique_ptr<KeyProvider>> MakeProvider(
    const GlobalOptions& options);

}  // namespace cli
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CLI_PROVIDER_FACTORY_H_
