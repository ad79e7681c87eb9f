// kmse_remote_provider_open: kms_envelope/remote has no RemoteKeyProvider yet, so this build
// reports UnsupportedOperation (KMSE_ERR_UNSUPPORTED). Replace with a RemoteKeyProvider factory
// once kms_envelope/remote lands.
#include "kms_envelope/c/provider_factory.h"

namespace kms_envelope {
namespace c_api {

absl::StatusOr<std::shared_ptr<ProviderHandle>> OpenRemoteProvider(const std::string&,
                                                                   const std::string&,
                                                                   const std::string&, bool) {
  return KmsError(kms_code::kUnsupportedOperation,
                  "this build of the C API has no remote KMS provider");
}

}  // namespace c_api
}  // namespace kms_envelope
