// CiphertextBlob: the wrapped form of a data key, laid out as Alibaba Cloud KMS lays it out.
//
//   std::string blob;
//   uint8_t iv[kBlobIvSize];
//   internal::FillRandom(absl::MakeSpan(iv));
//   KMS_RETURN_IF_ERROR(SealCiphertextBlob(cmk_version_key, version_id, data_key, iv, ctx, &blob));
//   KMS_ASSIGN_OR_RETURN(ParsedCiphertextBlob parsed, ParseCiphertextBlob(blob_bytes));
//   SecretBytes key;
//   KMS_RETURN_IF_ERROR(OpenCiphertextBlob(cmk_version_key, parsed, ctx, &key));
//
// Layout (docs/ciphertext-blob.md):
//   key_version_id (36 ASCII bytes, a UUID) || iv (12) || AES-256-GCM ciphertext of
//   base64(plaintext) || tag (16)
// The service encrypts the base64 TEXT of the data key, so a 32-byte key gives
// 36 + 12 + 44 + 16 = 108 bytes and a 16-byte key 88 bytes. The associated data is the canonical
// encoding of the encryption context (EncryptionContext::Canonical()), so Decrypt succeeds only
// with an equivalent context.
//
// The base64 text of the key only ever lives in SecretBytes. Every malformed, truncated or
// tampered blob fails with InvalidCiphertext and releases nothing. Thread safe (no state).
#ifndef KMS_ENVELOPE_LOCAL_CIPHERTEXT_BLOB_H_
#define KMS_ENVELOPE_LOCAL_CIPHERTEXT_BLOB_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace local {

inline constexpr size_t kKeyVersionIdSize = internal::kUuidSize;
inline constexpr size_t kBlobIvSize = 12;
inline constexpr size_t kBlobTagSize = 16;
// The smallest well-formed blob: a 1-byte plaintext is 4 base64 characters.
inline constexpr size_t kMinCiphertextBlobSize = kKeyVersionIdSize + kBlobIvSize + 4 + kBlobTagSize;

// Size of the blob for a plaintext of n bytes.
constexpr size_t CiphertextBlobSize(size_t plaintext_size) {
  return kKeyVersionIdSize + kBlobIvSize + (plaintext_size + 2) / 3 * 4 + kBlobTagSize;
}

static_assert(CiphertextBlobSize(kMaxEncryptPlaintextSize) <= kMaxCiphertextBlobSize,
              "kMaxCiphertextBlobSize must admit the blob of a maximal Encrypt plaintext");

struct ParsedCiphertextBlob {
  std::string_view key_version_id;            // views into the parsed bytes
  absl::Span<const uint8_t> iv;
  absl::Span<const uint8_t> ciphertext_and_tag;
};

// Splits a blob into its parts, checking sizes (kMinCiphertextBlobSize..kMaxCiphertextBlobSize,
// base64 length a multiple of 4) and the version id syntax. InvalidCiphertext otherwise.
[[nodiscard]] absl::StatusOr<ParsedCiphertextBlob> ParseCiphertextBlob(
    absl::Span<const uint8_t> blob);

// Wraps `plaintext` (1..kMaxEncryptPlaintextSize bytes) under `cmk` (AES-256-GCM) into `out`
// (reusing its capacity) with the caller's `iv` (kBlobIvSize fresh random bytes: never reuse an
// IV under one CMK version). `cmk` must be AES-256-GCM. `key_version_id` must be a UUID (only
// its length is checked here: the store validates ids when it creates or loads them). The base64
// text lives in a per-thread locked scratch buffer (SecretBytes) and is wiped after the call.
[[nodiscard]] absl::Status SealCiphertextBlob(const internal::AeadKey& cmk,
                                              std::string_view key_version_id,
                                              absl::Span<const uint8_t> plaintext,
                                              absl::Span<const uint8_t> iv,
                                              const EncryptionContext& context, std::string* out);

// Authenticates and unwraps; on success `plaintext` holds the raw bytes.
[[nodiscard]] absl::Status OpenCiphertextBlob(const internal::AeadKey& cmk,
                                              const ParsedCiphertextBlob& blob,
                                              const EncryptionContext& context,
                                              SecretBytes* plaintext);

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_CIPHERTEXT_BLOB_H_
