#include "kms_envelope/branch/branch_key_store_spec.h"

#include <string>

#include "kms_envelope/branch/file_branch_key_store.h"
#include "kms_envelope/branch/postgres_branch_key_store.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace branch {

absl::StatusOr<std::shared_ptr<BranchKeyStore>> OpenBranchKeyStore(std::string_view spec) {
  auto rest = [&](std::string_view prefix) { return std::string(spec.substr(prefix.size())); };
  if (spec.substr(0, kFileStorePrefix.size()) == kFileStorePrefix &&
      spec.size() > kFileStorePrefix.size()) {
    auto store = FileBranchKeyStore::Open(rest(kFileStorePrefix));
    if (!store.ok()) return store.status();
    return std::shared_ptr<BranchKeyStore>(std::move(*store));
  }
  if (spec.substr(0, kPostgresStorePrefix.size()) == kPostgresStorePrefix &&
      spec.size() > kPostgresStorePrefix.size()) {
    PostgresBranchKeyStoreOptions options;
    options.conninfo = rest(kPostgresStorePrefix);
    auto store = PostgresBranchKeyStore::Open(options);
    if (!store.ok()) return store.status();
    return std::shared_ptr<BranchKeyStore>(std::move(*store));
  }
  return KmsError(kms_code::kInvalidParameter,
                  "branch key store must be file:<directory> or postgresql:<connection string>");
}

}  // namespace branch
}  // namespace kms_envelope
