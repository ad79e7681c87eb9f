// Opens a BranchKeyStore named by a one-line spec (for the CLI and the C API).
//
//   KMS_ASSIGN_OR_RETURN(std::shared_ptr<BranchKeyStore> store,
//                        OpenBranchKeyStore("file:/var/lib/app/branch-keys"));
//   // or "postgresql:host=db dbname=app user=kmse" (a libpq connection string or URI)
//
// Any other prefix, or an empty remainder, is InvalidParameter.
#ifndef KMS_ENVELOPE_BRANCH_BRANCH_KEY_STORE_SPEC_H_
#define KMS_ENVELOPE_BRANCH_BRANCH_KEY_STORE_SPEC_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "kms_envelope/branch/branch_key_store.h"

namespace kms_envelope {
namespace branch {

inline constexpr std::string_view kFileStorePrefix = "file:";
inline constexpr std::string_view kPostgresStorePrefix = "postgresql:";

[[nodiscard]] absl::StatusOr<std::shared_ptr<BranchKeyStore>> OpenBranchKeyStore(
    std::string_view spec);

}  // namespace branch
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BRANCH_BRANCH_KEY_STORE_SPEC_H_
