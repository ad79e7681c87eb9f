// BranchKeyProvider: data keys wrapped under per-tenant branch keys instead of one KMS call each
// (the AWS Hierarchical keyring's design; docs/branch-keys.md).
//
//   BranchKeyProviderOptions o;
//   o.kms = local_or_remote_provider;               // unwraps the branch keys
//   o.store = std::make_shared<...>(FileBranchKeyStore or PostgresBranchKeyStore);
//   o.supplier = ContextFieldSupplier::New("tenant", "tenant-").value();   // optional
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<BranchKeyProvider> kms, BranchKeyProvider::New(o));
//   // then use it as any KeyProvider (Envelope primary, rewrap, ...)
//
// Contract (key_provider.h, plus):
// - GenerateDataKey: the branch key is `key_id` when no supplier is set; with a supplier it is
//   the supplier's choice for the request's context, and `key_id` must be empty,
//   kBranchKeyFromContext or exactly that id (anything else is InvalidParameter, never
//   ignored). The data key (fresh random) is wrapped under a key derived from the branch key's
//   active version, a fresh salt, the id, the version and the canonical context
//   (branch_key_blob.h). Response: KeyId = branch key id, KeyVersionId = the version (decimal).
//   No KMS call while the active version is cached (BranchKeyCacheOptions.ttl).
// - Decrypt: the blob names id and version; with a supplier the id must be the one the
//   context selects (else Forbidden.NoPermission, before any key is loaded); unknown ids or
//   versions and every forged or tampered blob are InvalidCiphertext (or Forbidden.KeyNotFound
//   for an id the store does not hold).
// - Encrypt wraps 1..kMaxNumberOfBytes bytes the same way (larger is InvalidParameter), so
//   rewrap can move keys onto a branch key. ReEncrypt: UnsupportedOperation (callers fall
//   back to Decrypt + Encrypt).
// - Store and KMS errors pass through (Unavailable while a shared store is unreachable:
//   retry). Thread safe.
#ifndef KMS_ENVELOPE_BRANCH_BRANCH_KEY_PROVIDER_H_
#define KMS_ENVELOPE_BRANCH_BRANCH_KEY_PROVIDER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/branch/branch_key_cache.h"
#include "kms_envelope/branch/branch_key_id_supplier.h"
#include "kms_envelope/branch/branch_key_store.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace branch {

inline constexpr std::string_view kBranchProviderId = "branch";
// The key id that means "whatever branch key the supplier picks" (for an Envelope primary,
// which needs a non-empty key id).
inline constexpr std::string_view kBranchKeyFromContext = "branch-key/from-context";

struct BranchKeyProviderOptions {
  std::shared_ptr<KeyProvider> kms;
  std::shared_ptr<BranchKeyStore> store;
  std::shared_ptr<const BranchKeyIdSupplier> supplier;  // null: key_id names the branch key
  BranchKeyCacheOptions cache;
  std::string provider_id = std::string(kBranchProviderId);
};

class BranchKeyProvider : public KeyProvider {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BranchKeyProvider>> New(
      BranchKeyProviderOptions options);

  std::string_view provider_id() const override { return options_.provider_id; }
  [[nodiscard]] absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                 GenerateDataKeyResponse* response) override;
  [[nodiscard]] absl::Status DecryptInto(const DecryptRequest& request,
                                         DecryptResponse* response) override;
  [[nodiscard]] absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
  GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) override;
  [[nodiscard]] absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) override;
  [[nodiscard]] absl::StatusOr<ReEncryptResponse> ReEncrypt(
      const ReEncryptRequest& request) override;

  BranchKeyCache& cache() { return *cache_; }

 private:
  BranchKeyProviderOptions options_;
  std::unique_ptr<BranchKeyCache> cache_;

  BranchKeyProvider(BranchKeyProviderOptions options, std::unique_ptr<BranchKeyCache> cache)
      : options_(std::move(options)), cache_(std::move(cache)) {}
  [[nodiscard]] absl::StatusOr<std::string> ChooseBranchKey(std::string_view key_id,
                                                            const EncryptionContext& context) const;
  [[nodiscard]] absl::StatusOr<BranchKeyCache::Material> Load(const std::string& id,
                                                              uint32_t version);
  // Wraps `key` under the active version of the chosen branch key into *blob.
  [[nodiscard]] absl::Status Wrap(std::string_view key_id, const EncryptionContext& context,
                                  absl::Span<const uint8_t> key, std::string* blob,
                                  std::string* branch_key_id, std::string* version);
};

}  // namespace branch
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BRANCH_BRANCH_KEY_PROVIDER_H_
