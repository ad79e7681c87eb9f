#include "kms_envelope/branch/branch_key_id_supplier.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/branch/branch_key_store.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace branch {

absl::StatusOr<std::unique_ptr<ContextFieldSupplier>> ContextFieldSupplier::New(
    std::string field, std::string prefix) {
  if (field.empty() || field.size() > EncryptionContext::kMaxKeySize) {
    return KmsError(kms_code::kInvalidParameter, "supplier needs a context field name");
  }
  if (prefix.size() >= kMaxBranchKeyIdSize || (!prefix.empty() && !IsValidBranchKeyId(prefix))) {
    return KmsError(kms_code::kInvalidParameter, "bad branch key id prefix");
  }
  return std::unique_ptr<ContextFieldSupplier>(
      new ContextFieldSupplier(std::move(field), std::move(prefix)));
}

absl::StatusOr<std::string> ContextFieldSupplier::BranchKeyIdFor(
    const EncryptionContext& context) const {
  auto it = context.pairs().find(field_);
  if (it == context.pairs().end()) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("the encryption context has no \"", field_,
                                 "\" to choose a branch key"));
  }
  std::string id = absl::StrCat(prefix_, it->second);
  if (!IsValidBranchKeyId(id)) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("context field \"", field_, "\" does not give a valid branch key id"));
  }
  return id;
}

}  // namespace branch
}  // namespace kms_envelope
