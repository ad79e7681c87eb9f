// BranchKeyIdSupplier: picks the branch key for a request from its encryption context, so that
// each tenant's data keys hang off that tenant's own branch key.
//
//   KMS_ASSIGN_OR_RETURN(std::shared_ptr<const BranchKeyIdSupplier> by_tenant,
//                        ContextFieldSupplier::New("tenant", "tenant-"));
//   // {"tenant":"acme", ...} -> branch key "tenant-acme"
//
// Contract: BranchKeyIdFor is deterministic (the same context always gives the same id), so
// BranchKeyProvider can refuse, before any key is touched, a blob whose branch key id is not
// the one the caller's context selects (one tenant asking for another's message).
// InvalidParameter when the context does not say (the field is missing) or the id it gives is
// not a valid branch key id. Thread safe.
#ifndef KMS_ENVELOPE_BRANCH_BRANCH_KEY_ID_SUPPLIER_H_
#define KMS_ENVELOPE_BRANCH_BRANCH_KEY_ID_SUPPLIER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kms_envelope/encryption_context.h"

namespace kms_envelope {
namespace branch {

class BranchKeyIdSupplier {
 public:
  virtual ~BranchKeyIdSupplier() = default;
  [[nodiscard]] virtual absl::StatusOr<std::string> BranchKeyIdFor(
      const EncryptionContext& context) const = 0;
};

// Branch key id = prefix + context[field].
class ContextFieldSupplier : public BranchKeyIdSupplier {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ContextFieldSupplier>> New(
      std::string field, std::string prefix);
  [[nodiscard]] absl::StatusOr<std::string> BranchKeyIdFor(
      const EncryptionContext& context) const override;

 private:
  ContextFieldSupplier(std::string field, std::string prefix)
      : field_(std::move(field)), prefix_(std::move(prefix)) {}
  std::string field_, prefix_;
};

}  // namespace branch
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BRANCH_BRANCH_KEY_ID_SUPPLIER_H_
