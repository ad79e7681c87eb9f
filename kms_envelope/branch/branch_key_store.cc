#include "kms_envelope/branch/branch_key_store.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace branch {

using internal::Av;

bool IsValidBranchKeyId(std::string_view id) {
  if (id.empty() || id.size() > kMaxBranchKeyIdSize) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '/' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status ValidateBranchKeyVersion(const BranchKeyVersion& v) {
  if (!IsValidBranchKeyId(v.branch_key_id)) {
    return KmsError(kms_code::kInvalidParameter,
                    "branch key id must be 1..128 characters of [A-Za-z0-9._:/@-]");
  }
  if (v.version < 1 || v.version > kMaxBranchKeyVersion) {
    return KmsError(kms_code::kInvalidParameter, "branch key version out of range");
  }
  if (v.cmk_key_id.empty() || v.cmk_key_id.size() > kMaxCmkKeyIdSize) {
    return KmsError(kms_code::kInvalidParameter, "CMK key id missing or too long");
  }
  if (v.wrapped_key.empty() || v.wrapped_key.size() > kMaxWrappedKeySize) {
    return KmsError(kms_code::kInvalidParameter, "wrapped branch key missing or too long");
  }
  if (v.create_time.size() > 64) {
    return KmsError(kms_code::kInvalidParameter, "create time too long");
  }
  return absl::OkStatus();
}

absl::StatusOr<EncryptionContext> BranchKeyWrapContext(std::string_view branch_key_id,
                                                       uint32_t version) {
  return EncryptionContext::FromPairs({{std::string(kWrapContextIdKey), std::string(branch_key_id)},
                                       {std::string(kWrapContextVersionKey),
                                        std::to_string(version)}});
}

absl::Status VersionConflict(std::string_view branch_key_id, uint32_t version) {
  return KmsError(kms_code::kStateModifiedFailed,
                  absl::StrCat("branch key ", Av(branch_key_id), " version ", version,
                               " is not the next version (another writer was first)"));
}

}  // namespace branch
}  // namespace kms_envelope
