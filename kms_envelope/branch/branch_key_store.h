// BranchKeyStore: where the KMS-wrapped versions of branch keys live (docs/branch-keys.md).
//
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<BranchKeyStore> store, FileBranchKeyStore::Open(dir));
//   BranchKeyVersion v;
//   v.branch_key_id = "tenant-a"; v.version = 1; v.cmk_key_id = guid; v.wrapped_key = blob;
//   KMS_RETURN_IF_ERROR(store->PutActiveVersion(v));          // creates the branch key
//   KMS_ASSIGN_OR_RETURN(BranchKeyVersion active, store->GetActiveVersion("tenant-a"));
//
// Model: a branch key id names a sequence of versions 1, 2, 3, ...; exactly one is active (the
// one new data keys are wrapped under); every version stays readable for Decrypt. A version's
// material never appears here in the clear: `wrapped_key` is a KMS CiphertextBlob whose
// encryption context binds the branch key id and version (BranchKeyWrapContext), so a row moved
// to another id or version does not unwrap.
//
// Contract (every implementation):
// - PutActiveVersion(v) adds version v.version and makes it active in one transaction: either
//   both happen or neither (a crash or kill leaves the old active version, or the new one,
//   never none). v.version must be exactly 1 + the newest version (1 creates the branch key);
//   otherwise Rejected.StateModifiedFailed (FailedPrecondition): another writer got there first,
//   re-read and try again. Bad fields are InvalidParameter.
// - Get*: NotFound (Forbidden.KeyNotFound) for an unknown id or version; Unavailable
//   (ServiceUnavailableTemporary) when the backing service cannot be reached (retry later).
// - Corrupt or foreign store content is refused with DataLoss and never overwritten.
// - Thread safety: every method may be called concurrently; several processes (or hosts, for
//   a shared store) may use one store at once.
// - Not authenticated: whoever can write the store can make an older version active again
//   (a rollback) or delete versions, but cannot make a forged key unwrap.
#ifndef KMS_ENVELOPE_BRANCH_BRANCH_KEY_STORE_H_
#define KMS_ENVELOPE_BRANCH_BRANCH_KEY_STORE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/encryption_context.h"

namespace kms_envelope {
namespace branch {

// Branch key ids: 1..kMaxBranchKeyIdSize bytes of [A-Za-z0-9._:/@-].
inline constexpr size_t kMaxBranchKeyIdSize = 128;
inline constexpr uint32_t kMaxBranchKeyVersion = 0x7fffffff;  // fits a PostgreSQL integer
inline constexpr size_t kMaxWrappedKeySize = 1024;
inline constexpr size_t kMaxCmkKeyIdSize = 256;
// Encryption-context keys the wrapped branch key is bound to at the KMS.
inline constexpr std::string_view kWrapContextIdKey = "kms-envelope:branch-key-id";
inline constexpr std::string_view kWrapContextVersionKey = "kms-envelope:branch-key-version";

struct BranchKeyVersion {
  std::string branch_key_id;
  uint32_t version = 0;
  std::string cmk_key_id;   // the CMK (GUID) that wrapped it
  std::string wrapped_key;  // KMS CiphertextBlob (raw bytes) of the 32-byte branch key
  std::string create_time;  // ISO-8601 UTC, set by the store when empty
  bool active = false;      // filled in by reads
};

class BranchKeyStore {
 public:
  virtual ~BranchKeyStore() = default;
  [[nodiscard]] virtual absl::Status PutActiveVersion(const BranchKeyVersion& version) = 0;
  [[nodiscard]] virtual absl::StatusOr<BranchKeyVersion> GetActiveVersion(
      std::string_view branch_key_id) = 0;
  [[nodiscard]] virtual absl::StatusOr<BranchKeyVersion> GetVersion(
      std::string_view branch_key_id, uint32_t version) = 0;
  // Oldest first; NotFound for an unknown id.
  [[nodiscard]] virtual absl::StatusOr<std::vector<BranchKeyVersion>> ListVersions(
      std::string_view branch_key_id) = 0;
  // Every branch key id, sorted.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> ListBranchKeyIds() = 0;
};

bool IsValidBranchKeyId(std::string_view branch_key_id);

// InvalidParameter unless every field of `version` is within the limits above (create_time may
// be empty).
[[nodiscard]] absl::Status ValidateBranchKeyVersion(const BranchKeyVersion& version);

// The encryption context a branch key version is wrapped under at the KMS.
[[nodiscard]] absl::StatusOr<EncryptionContext> BranchKeyWrapContext(
    std::string_view branch_key_id, uint32_t version);

// The status stores return when PutActiveVersion loses a race (or names a stale version).
[[nodiscard]] absl::Status VersionConflict(std::string_view branch_key_id, uint32_t version);

}  // namespace branch
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BRANCH_BRANCH_KEY_STORE_H_
