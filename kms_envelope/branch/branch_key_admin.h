// Administration of branch keys: create one, add an active version (rotate), unwrap a version.
//
//   KMS_ASSIGN_OR_RETURN(BranchKeyVersion v1, CreateBranchKey(*kms, "alias/root", *store, "t-a"));
//   KMS_ASSIGN_OR_RETURN(BranchKeyVersion v2, RotateBranchKey(*kms, "", *store, "t-a"));
//
// A new version's 32 bytes come from the KMS itself: one GenerateDataKey (NumberOfBytes 32)
// under the CMK with the encryption context BranchKeyWrapContext(id, version), so the wrapped
// key only unwraps for that id and version. The store then adds it and makes it active in one
// transaction (branch_key_store.h); a concurrent rotation elsewhere makes RotateBranchKey read
// the new newest version and try again after a random pause (at most kMaxRotateAttempts times).
//
// Errors: those of the KMS and the store; CreateBranchKey on an existing id fails with
// Rejected.StateModifiedFailed. Thread safe when the KMS and store are.
#ifndef KMS_ENVELOPE_BRANCH_BRANCH_KEY_ADMIN_H_
#define KMS_ENVELOPE_BRANCH_BRANCH_KEY_ADMIN_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "kms_envelope/branch/branch_key_cache.h"
#include "kms_envelope/branch/branch_key_store.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace branch {

inline constexpr int kMaxRotateAttempts = 16;

[[nodiscard]] absl::StatusOr<BranchKeyVersion> CreateBranchKey(KeyProvider& kms,
                                                               std::string_view cmk_key_id,
                                                               BranchKeyStore& store,
                                                               std::string_view branch_key_id);

// `cmk_key_id` empty: the CMK of the active version.
[[nodiscard]] absl::StatusOr<BranchKeyVersion> RotateBranchKey(KeyProvider& kms,
                                                               std::string_view cmk_key_id,
                                                               BranchKeyStore& store,
                                                               std::string_view branch_key_id);

// Unwraps a stored version at the KMS (the context binds id and version; the KMS must answer
// for the CMK the store names). DataLoss when the store's record does not unwrap as itself.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const BranchKeyMaterial>> UnwrapBranchKey(
    KeyProvider& kms, const BranchKeyVersion& version);

}  // namespace branch
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BRANCH_BRANCH_KEY_ADMIN_H_
