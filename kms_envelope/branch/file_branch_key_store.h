// FileBranchKeyStore: the embedded BranchKeyStore, one JSON file in a directory.
//
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<FileBranchKeyStore> store,
//                        FileBranchKeyStore::Open("/var/lib/app/branch-keys"));
//
// Contract: branch_key_store.h. Layout (docs/branch-keys.md, "Local store"):
// `<directory>/branch-keys.json` holds every version (wrapped keys in base64; nothing in it is
// secret in the clear) and `<directory>/branch-keys.lock` serializes writers across processes
// with flock. PutActiveVersion is lock -> read -> check -> write a complete new file (unnamed
// until complete, internal::UnnamedFile) -> rename over the old one -> fsync the directory ->
// unlock: a kill at any point leaves the old file or the new one, never a partial or empty
// one, so the active version is always the old or the new one. Readers need no lock (rename
// is atomic). The file is refused (DataLoss, left untouched) when larger than
// kMaxBranchKeyFileSize, not valid JSON, of another format, holding an unknown field, or
// inconsistent (an active version that does not exist, versions out of order).
//
// Thread safe; every read re-reads the file, so changes by other processes are seen at once
// (put a BranchKeyCache in front for the hot path: BranchKeyProvider does).
#ifndef KMS_ENVELOPE_BRANCH_FILE_BRANCH_KEY_STORE_H_
#define KMS_ENVELOPE_BRANCH_FILE_BRANCH_KEY_STORE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/branch/branch_key_store.h"

namespace kms_envelope {
namespace branch {

inline constexpr size_t kMaxBranchKeyFileSize = size_t{64} << 20;
inline constexpr std::string_view kBranchKeyFileName = "branch-keys.json";
inline constexpr std::string_view kBranchKeyLockName = "branch-keys.lock";

class FileBranchKeyStore : public BranchKeyStore {
 public:
  // Creates `directory` (0700) when missing. A missing file is an empty store.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<FileBranchKeyStore>> Open(
      const std::string& directory);

  [[nodiscard]] absl::Status PutActiveVersion(const BranchKeyVersion& version) override;
  [[nodiscard]] absl::StatusOr<BranchKeyVersion> GetActiveVersion(
      std::string_view branch_key_id) override;
  [[nodiscard]] absl::StatusOr<BranchKeyVersion> GetVersion(std::string_view branch_key_id,
                                                            uint32_t version) override;
  [[nodiscard]] absl::StatusOr<std::vector<BranchKeyVersion>> ListVersions(
      std::string_view branch_key_id) override;
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> ListBranchKeyIds() override;

  const std::string& file_path() const { return file_path_; }

 private:
  explicit FileBranchKeyStore(std::string directory);
  std::string directory_, file_path_, lock_path_;
};

}  // namespace branch
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BRANCH_FILE_BRANCH_KEY_STORE_H_
