#include "kms_envelope/branch/branch_key_admin.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/branch/branch_key_blob.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace branch {
namespace {

absl::StatusOr<BranchKeyVersion> AddVersion(KeyProvider& kms, std::string_view cmk_key_id,
                                            BranchKeyStore& store, std::string_view id,
                                            uint32_t version) {
  KMS_ASSIGN_OR_RETURN(EncryptionContext context, BranchKeyWrapContext(id, version));
  GenerateDataKeyRequest req;
  req.key_id = cmk_key_id;
  req.number_of_bytes = kBranchKeySize;
  req.encryption_context = &context;
  KMS_ASSIGN_OR_RETURN(GenerateDataKeyResponse dk, kms.GenerateDataKey(req));
  dk.plaintext.Clear();  // only the wrapped form is kept; it is unwrapped when used
  BranchKeyVersion v;
  v.branch_key_id = std::string(id);
  v.version = version;
  v.cmk_key_id = std::move(dk.key_id);
  v.wrapped_key = std::move(dk.ciphertext_blob);
  KMS_RETURN_IF_ERROR(store.PutActiveVersion(v));
  v.active = true;
  return v;
}

}  // namespace

absl::StatusOr<BranchKeyVersion> CreateBranchKey(KeyProvider& kms, std::string_view cmk_key_id,
                                                 BranchKeyStore& store, std::string_view id) {
  if (!IsValidBranchKeyId(id)) {
    return KmsError(kms_code::kInvalidParameter,
                    "branch key id must be 1..128 characters of [A-Za-z0-9._:/@-]");
  }
  if (cmk_key_id.empty()) return KmsError(kms_code::kMissingParameter, "no CMK given");
  return AddVersion(kms, cmk_key_id, store, id, 1);
}

absl::StatusOr<BranchKeyVersion> RotateBranchKey(KeyProvider& kms, std::string_view cmk_key_id,
                                                 BranchKeyStore& store, std::string_view id) {
  absl::Status last;
  std::minstd_rand rng(std::random_device{}());
  for (int attempt = 0; attempt < kMaxRotateAttempts; ++attempt) {
    KMS_ASSIGN_OR_RETURN(std::vector<BranchKeyVersion> versions, store.ListVersions(id));
    const BranchKeyVersion* active = nullptr;
    for (const BranchKeyVersion& v : versions) {
      if (v.active) active = &v;
    }
    if (active == nullptr) return absl::DataLossError("branch key has no active version");
    const std::string cmk(cmk_key_id.empty() ? std::string_view(active->cmk_key_id) : cmk_key_id);
    absl::StatusOr<BranchKeyVersion> added =
        AddVersion(kms, cmk, store, id, versions.back().version + 1);
    if (added.ok() || GetKmsErrorCode(added.status()) != kms_code::kStateModifiedFailed) {
      return added;
    }
    last = added.status();
    // Another writer took that version: back off a random while so racing writers spread out.
    std::uniform_int_distribution<int> jitter(1, 2 << std::min(attempt, 6));
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
  }
  return last;
}

absl::StatusOr<std::shared_ptr<const BranchKeyMaterial>> UnwrapBranchKey(
    KeyProvider& kms, const BranchKeyVersion& version) {
  KMS_ASSIGN_OR_RETURN(EncryptionContext context,
                       BranchKeyWrapContext(version.branch_key_id, version.version));
  DecryptRequest req;
  req.ciphertext_blob = internal::Bytes(version.wrapped_key);
  req.encryption_context = &context;
  absl::StatusOr<DecryptResponse> key = kms.Decrypt(req);
  if (!key.ok()) {
    if (GetKmsErrorCode(key.status()) != kms_code::kInvalidCiphertext) return key.status();
    return absl::DataLossError(absl::StrCat("branch key ", version.branch_key_id, " version ",
                                            version.version,
                                            " in the store does not unwrap for that id and version"));
  }
  if (key->key_id != version.cmk_key_id || key->plaintext.size() != kBranchKeySize) {
    return absl::DataLossError(absl::StrCat("branch key ", version.branch_key_id, " version ",
                                            version.version, " is not what the store says"));
  }
  auto material = std::make_shared<BranchKeyMaterial>();
  material->branch_key_id = version.branch_key_id;
  material->version = version.version;
  material->cmk_key_id = version.cmk_key_id;
  material->key = std::move(key->plaintext);
  return std::shared_ptr<const BranchKeyMaterial>(std::move(material));
}

}  // namespace branch
}  // namespace kms_envelope
