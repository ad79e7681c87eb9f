// KeyProvider: the KMS data-key API (Alibaba Cloud KMS, OpenAPI 2016-01-20) as a C++ interface.
//
//   std::unique_ptr<KeyProvider> kms = ...;  // LocalKeyProvider, RemoteKeyProvider, caches
//   GenerateDataKeyRequest req;
//   req.key_id = "alias/backup";
//   req.encryption_context = &ctx;           // optional, bound to the wrapped key
//   KMS_ASSIGN_OR_RETURN(GenerateDataKeyResponse dk, kms->GenerateDataKey(req));
//   // seal with dk.plaintext, store dk.ciphertext_blob, let dk.plaintext go out of scope (wiped)
//   DecryptRequest dreq;
//   dreq.ciphertext_blob = dk.ciphertext_blob;
//   dreq.encryption_context = &ctx;
//   KMS_ASSIGN_OR_RETURN(DecryptResponse key, kms->Decrypt(dreq));
//
// Contract (every implementation):
// - Request and response fields are named after the API's parameters. Binary fields
//   (CiphertextBlob, Plaintext) hold raw bytes here; the wire and CLI layers base64-encode them.
//   Request fields are views: the caller keeps what they point to alive for the call.
// - GenerateDataKey: `key_id` is a CMK GUID or `alias/<name>`; `key_spec` is "AES_256",
//   "AES_128" or empty; `number_of_bytes` (1..1024) wins over key_spec when both are set;
//   neither means 32 bytes. The response names the CMK by GUID even when an alias was given,
//   and the primary version that wrapped the key.
// - The encryption context is authenticated with the wrapped key: Decrypt succeeds only with an
//   equivalent context (same pairs). A null context pointer means the empty context.
// - Decrypt needs only the CiphertextBlob and the context (the blob names its CMK version).
// - Errors are absl::Status values carrying the KMS error code (kms_error.h): InvalidParameter,
//   Forbidden.KeyNotFound, Forbidden.AliasNotFound, Rejected.Disabled,
//   Rejected.PendingDeletion, InvalidCiphertext, ... No status message contains key material.
// - Plaintext keys are only ever held in SecretBytes (wiped on destruction).
// - Thread safety: every method may be called concurrently from many threads.
//
// The *Into methods reuse the response object's storage (strings keep their capacity), so a hot
// loop that keeps one response performs no heap allocation per call; the StatusOr methods are
// conveniences over them.
#ifndef KMS_ENVELOPE_KEY_PROVIDER_H_
#define KMS_ENVELOPE_KEY_PROVIDER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {

inline constexpr size_t kMinNumberOfBytes = 1;
inline constexpr size_t kMaxNumberOfBytes = 1024;
inline constexpr size_t kDefaultDataKeySize = 32;
// Encrypt accepts at most 6 KiB of plaintext (the service's limit).
inline constexpr size_t kMaxEncryptPlaintextSize = 6144;
// Upper bound for any CiphertextBlob this library parses: the blob of a 6 KiB Encrypt plaintext,
// i.e. its base64 (8192) plus the 64-byte frame (36-byte version id, 12-byte IV, 16-byte tag).
inline constexpr size_t kMaxCiphertextBlobSize = 8256;

struct GenerateDataKeyRequest {
  std::string_view key_id;                    // KeyId
  std::string_view key_spec;                  // KeySpec ("" = not given)
  std::optional<int64_t> number_of_bytes;     // NumberOfBytes
  const EncryptionContext* encryption_context = nullptr;  // EncryptionContext (null = empty)
  // Not an API parameter (never sent to a KMS): how many plaintext bytes the caller will seal
  // under the returned key in one message. Caching providers count it against their per-key
  // byte limit; unset means the size is not known (streaming), and a cache then hands out a key
  // that no other message shares, so no limit can be exceeded through it.
  std::optional<uint64_t> message_bytes;
};

struct GenerateDataKeyResponse {
  std::string key_id;           // KeyId: the CMK GUID
  std::string key_version_id;   // KeyVersionId: the primary version that wrapped the key
  std::string ciphertext_blob;  // CiphertextBlob (raw bytes)
  SecretBytes plaintext;        // Plaintext (raw bytes)
  std::string request_id;       // RequestId
  bool from_cache = false;      // set by caching wrappers (for audit)
};

struct GenerateDataKeyWithoutPlaintextResponse {
  std::string key_id;
  std::string key_version_id;
  std::string ciphertext_blob;
  std::string request_id;
};

struct DecryptRequest {
  absl::Span<const uint8_t> ciphertext_blob;              // CiphertextBlob (raw bytes)
  const EncryptionContext* encryption_context = nullptr;  // EncryptionContext
};

struct DecryptResponse {
  std::string key_id;          // KeyId
  std::string key_version_id;  // KeyVersionId
  SecretBytes plaintext;       // Plaintext (raw bytes)
  std::string request_id;      // RequestId
  bool from_cache = false;
};

struct EncryptRequest {
  std::string_view key_id;                 // KeyId (GUID or alias/<name>)
  absl::Span<const uint8_t> plaintext;     // Plaintext (raw bytes, at most 6 KiB)
  const EncryptionContext* encryption_context = nullptr;
};

struct EncryptResponse {
  std::string key_id;
  std::string key_version_id;
  std::string ciphertext_blob;
  std::string request_id;
};

struct ReEncryptRequest {
  absl::Span<const uint8_t> ciphertext_blob;                     // CiphertextBlob
  const EncryptionContext* source_encryption_context = nullptr;  // SourceEncryptionContext
  std::string_view destination_key_id;                           // DestinationKeyId
  const EncryptionContext* destination_encryption_context = nullptr;
};

struct ReEncryptResponse {
  std::string key_id;                 // KeyId (destination CMK)
  std::string key_version_id;         // KeyVersionId (destination version)
  std::string source_key_id;          // SourceKeyId
  std::string source_key_version_id;  // SourceKeyVersionId
  std::string ciphertext_blob;
  std::string request_id;
};

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  // A stable, non-secret name for this provider instance, written into envelope headers and
  // audit events ("local", "aliyun-kms", ...). Envelopes use it to route a wrapped key back to
  // a provider that can decrypt it.
  virtual std::string_view provider_id() const = 0;

  [[nodiscard]] virtual absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                         GenerateDataKeyResponse* response) = 0;
  [[nodiscard]] virtual absl::Status DecryptInto(const DecryptRequest& request,
                                                 DecryptResponse* response) = 0;
  [[nodiscard]] virtual absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
  GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) = 0;
  // Providers that cannot re-encrypt server side return Unimplemented
  // (UnsupportedOperation); callers fall back to Decrypt + Encrypt.
  [[nodiscard]] virtual absl::StatusOr<ReEncryptResponse> ReEncrypt(
      const ReEncryptRequest& request) = 0;

  [[nodiscard]] absl::StatusOr<GenerateDataKeyResponse> GenerateDataKey(
      const GenerateDataKeyRequest& request) {
    GenerateDataKeyResponse response;
    absl::Status status = GenerateDataKeyInto(request, &response);
    if (!status.ok()) return status;
    return response;
  }
  [[nodiscard]] absl::StatusOr<DecryptResponse> Decrypt(const DecryptRequest& request) {
    DecryptResponse response;
    absl::Status status = DecryptInto(request, &response);
    if (!status.ok()) return status;
    return response;
  }
};

// Resolves the data key length from KeySpec / NumberOfBytes as the API documents it:
// NumberOfBytes (1..1024) wins when given; else AES_256 -> 32, AES_128 -> 16; neither -> 32.
// InvalidParameter for an out-of-range NumberOfBytes or an unknown KeySpec.
[[nodiscard]] absl::StatusOr<size_t> ResolveDataKeySize(std::string_view key_spec,
                                                        std::optional<int64_t> number_of_bytes);

}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KEY_PROVIDER_H_
