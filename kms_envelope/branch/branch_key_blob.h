// The CiphertextBlob of a data key wrapped under a branch key (docs/branch-keys.md, "Blob").
//
//   std::string blob;
//   KMS_RETURN_IF_ERROR(SealBranchBlob(branch_key, "tenant-a", 3, ctx, data_key, &blob));
//   KMS_ASSIGN_OR_RETURN(BranchBlobView view, ParseBranchBlob(blob_bytes));
//   // look up view.branch_key_id / view.version, then:
//   KMS_RETURN_IF_ERROR(OpenBranchBlob(branch_key, view, ctx, &data_key));
//
// Layout (all integers big endian), L = id length, n = data key length:
//   0       4  magic "KEBK"
//   4       1  format version (1)
//   5       1  L (1..kMaxBranchKeyIdSize)
//   6       L  branch key id
//   6+L     4  branch key version (1..kMaxBranchKeyVersion)
//   10+L   32  salt (fresh random per data key)
//   42+L   12  AES-256-GCM nonce (fresh random)
//   54+L    n  data key encrypted (n = 1..kMaxNumberOfBytes)
//   54+L+n 16  GCM tag
// Wrapping key = HKDF-SHA256(IKM = the 32-byte branch key version, salt = salt,
//   info = kBranchKdfLabel || bytes [0, 10+L) of the blob (magic, format, L, id, version)
//        || canonical encryption context), 32 bytes; AAD = bytes [0, 54+L).
// So every data key gets its own wrapping key, and a blob whose id, version or context was
// changed derives another key and fails authentication.
//
// Thread safe (no state). Derived keys live in SecretBytes / wiped stack buffers.
#ifndef KMS_ENVELOPE_BRANCH_BRANCH_KEY_BLOB_H_
#define KMS_ENVELOPE_BRANCH_BRANCH_KEY_BLOB_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace branch {

inline constexpr std::string_view kBranchBlobMagic = "KEBK";
inline constexpr uint8_t kBranchBlobFormatVersion = 1;
inline constexpr size_t kBranchKeySize = 32;
inline constexpr size_t kBranchSaltSize = 32;
inline constexpr size_t kBranchNonceSize = 12;
inline constexpr size_t kBranchTagSize = 16;
inline constexpr std::string_view kBranchKdfLabel = "kms-envelope branch key wrap v1";

// Bytes of a blob for an id of `id_size` bytes and a data key of `key_size` bytes.
constexpr size_t BranchBlobSize(size_t id_size, size_t key_size) {
  return 54 + id_size + key_size + kBranchTagSize;
}

struct BranchBlobView {
  std::string_view branch_key_id;
  uint32_t version = 0;
  absl::Span<const uint8_t> blob;  // the whole blob (views point into it)
  size_t id_size = 0;
};

// Writes the blob for `data_key` into *blob (reusing its capacity). InvalidParameter for a
// bad id, version or key size.
[[nodiscard]] absl::Status SealBranchBlob(absl::Span<const uint8_t> branch_key,
                                          std::string_view branch_key_id, uint32_t version,
                                          const EncryptionContext& context,
                                          absl::Span<const uint8_t> data_key, std::string* blob);

// Checks the framing only (no key needed). InvalidCiphertext for anything malformed.
[[nodiscard]] absl::StatusOr<BranchBlobView> ParseBranchBlob(absl::Span<const uint8_t> blob);

// Authenticates and unwraps. InvalidCiphertext (and *data_key cleared) on any failure.
[[nodiscard]] absl::Status OpenBranchBlob(absl::Span<const uint8_t> branch_key,
                                          const BranchBlobView& view,
                                          const EncryptionContext& context,
                                          SecretBytes* data_key);

}  // namespace branch
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BRANCH_BRANCH_KEY_BLOB_H_
