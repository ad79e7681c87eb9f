// LocalKeyProvider: the KeyProvider API (GenerateDataKey, Decrypt, Encrypt, ReEncrypt, ...) over a
// LocalKeyStore.
//
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<LocalKeyStore> store, LocalKeyStore::Open(options));
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<LocalKeyProvider> kms,
//                        LocalKeyProvider::New(std::move(store)));
//   GenerateDataKeyRequest req;
//   req.key_id = "alias/backup";
//   GenerateDataKeyResponse dk;                      // reuse across calls: no allocation
//   KMS_RETURN_IF_ERROR(kms->GenerateDataKeyInto(req, &dk));
//
// Contract: key_provider.h. Blobs are laid out as the service lays them out
// (docs/ciphertext-blob.md): a 32-byte data key gives a 108-byte CiphertextBlob, 16 bytes 88.
// GenerateDataKey/Encrypt/Decrypt fail with Rejected.Disabled or Rejected.PendingDeletion
// unless the CMK is Enabled; Decrypt of any malformed or tampered blob, or with a context that
// is not equivalent, fails with InvalidCiphertext. Every response carries a RequestId (a UUID
// unique in the process, from a per-thread random start and a counter: not a secret). ReEncrypt decrypts under the source and encrypts under the destination; the plaintext
// only lives in SecretBytes.
//
// Thread safe. The data key and IV come from one FillRandom call; the blob is sealed and opened
// here (ciphertext_blob.h) with the CMK version key the store lends for the call
// (LocalKeyStore::WithPrimaryVersion / WithVersion), whose AES-256-GCM key schedule the store
// precomputed.
#ifndef KMS_ENVELOPE_LOCAL_LOCAL_KEY_PROVIDER_H_
#define KMS_ENVELOPE_LOCAL_LOCAL_KEY_PROVIDER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace local {

inline constexpr std::string_view kLocalProviderId = "local";

class LocalKeyProvider : public KeyProvider {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LocalKeyProvider>> New(
      std::shared_ptr<LocalKeyStore> store);

  std::string_view provider_id() const override { return kLocalProviderId; }

  [[nodiscard]] absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                 GenerateDataKeyResponse* response) override;
  [[nodiscard]] absl::Status DecryptInto(const DecryptRequest& request,
                                         DecryptResponse* response) override;
  [[nodiscard]] absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
  GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) override;
  [[nodiscard]] absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) override;
  [[nodiscard]] absl::StatusOr<ReEncryptResponse> ReEncrypt(
      const ReEncryptRequest& request) override;

  LocalKeyStore& store() { return *store_; }
  const std::shared_ptr<LocalKeyStore>& shared_store() const { return store_; }

 private:
  explicit LocalKeyProvider(std::shared_ptr<LocalKeyStore> store) : store_(std::move(store)) {}
  // Wraps `plaintext` under the primary version of the CMK into a CiphertextBlob (outputs
  // reuse their capacity).
  absl::Status Seal(std::string_view key_id_or_alias, absl::Span<const uint8_t> plaintext,
                    absl::Span<const uint8_t> iv, const EncryptionContext& context,
                    std::string* key_id, std::string* key_version_id, std::string* blob);
  // Authenticates and unwraps a CiphertextBlob with the version it names.
  absl::Status Open(absl::Span<const uint8_t> blob, const EncryptionContext& context,
                    std::string* key_id, std::string* key_version_id, SecretBytes* plaintext);
  std::shared_ptr<LocalKeyStore> store_;
};

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_LOCAL_KEY_PROVIDER_H_
