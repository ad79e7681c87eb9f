#include "kms_envelope/branch/branch_key_provider.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/branch/branch_key_admin.h"
#include "kms_envelope/branch/branch_key_blob.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/internal/uuid.h"

namespace kms_envelope {
namespace branch {
namespace {

const EncryptionContext& ContextOf(const EncryptionContext* context) {
  return context != nullptr ? *context : EncryptionContext::Empty();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BranchKeyProvider>> BranchKeyProvider::New(
    BranchKeyProviderOptions options) {
  if (options.kms == nullptr || options.store == nullptr) {
    return KmsError(kms_code::kInvalidParameter, "a branch key provider needs a KMS and a store");
  }
  if (options.provider_id.empty()) {
    return KmsError(kms_code::kInvalidParameter, "empty provider id");
  }
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<BranchKeyCache> cache, BranchKeyCache::New(options.cache));
  return std::unique_ptr<BranchKeyProvider>(
      new BranchKeyProvider(std::move(options), std::move(cache)));
}

absl::StatusOr<std::string> BranchKeyProvider::ChooseBranchKey(
    std::string_view key_id, const EncryptionContext& context) const {
  if (options_.supplier == nullptr) {
    if (!IsValidBranchKeyId(key_id)) {
      return KmsError(kms_code::kInvalidParameter, "KeyId must name a branch key");
    }
    return std::string(key_id);
  }
  KMS_ASSIGN_OR_RETURN(std::string chosen, options_.supplier->BranchKeyIdFor(context));
  if (!key_id.empty() && key_id != kBranchKeyFromContext && key_id != chosen) {
    return KmsError(kms_code::kInvalidParameter,
                    "KeyId names another branch key than the encryption context selects");
  }
  return chosen;
}

absl::StatusOr<BranchKeyCache::Material> BranchKeyProvider::Load(const std::string& id,
                                                                 uint32_t version) {
  return cache_->GetOrLoad({id, version}, [&]() -> absl::StatusOr<BranchKeyCache::Material> {
    absl::StatusOr<BranchKeyVersion> record = version == kActiveVersion
                                                  ? options_.store->GetActiveVersion(id)
                                                  : options_.store->GetVersion(id, version);
    if (!record.ok()) {
      // A version the store does not hold: a forged or foreign blob.
      if (version != kActiveVersion &&
          GetKmsErrorCode(record.status()) == kms_code::kKeyNotFound) {
        return KmsError(kms_code::kInvalidCiphertext, "no such branch key version");
      }
      return record.status();
    }
    return UnwrapBranchKey(*options_.kms, *record);
  });
}

absl::Status BranchKeyProvider::Wrap(std::string_view key_id, const EncryptionContext& context,
                                     absl::Span<const uint8_t> key, std::string* blob,
                                     std::string* branch_key_id, std::string* version) {
  KMS_ASSIGN_OR_RETURN(std::string id, ChooseBranchKey(key_id, context));
  KMS_ASSIGN_OR_RETURN(BranchKeyCache::Material branch, Load(id, kActiveVersion));
  KMS_RETURN_IF_ERROR(
      SealBranchBlob(branch->key.span(), id, branch->version, context, key, blob));
  *branch_key_id = std::move(id);
  *version = std::to_string(branch->version);
  return absl::OkStatus();
}

absl::Status BranchKeyProvider::GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                    GenerateDataKeyResponse* response) {
  KMS_ASSIGN_OR_RETURN(size_t size, ResolveDataKeySize(request.key_spec, request.number_of_bytes));
  KMS_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::New(size));
  internal::FillRandom(key.mutable_span());
  KMS_RETURN_IF_ERROR(Wrap(request.key_id, ContextOf(request.encryption_context), key.span(),
                           &response->ciphertext_blob, &response->key_id,
                           &response->key_version_id));
  response->plaintext = std::move(key);
  internal::UniqueUuidInto(&response->request_id);
  response->from_cache = false;
  return absl::OkStatus();
}

absl::Status BranchKeyProvider::DecryptInto(const DecryptRequest& request,
                                            DecryptResponse* response) {
  if (request.ciphertext_blob.size() > kMaxCiphertextBlobSize) {
    return KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob too long");
  }
  const EncryptionContext& context = ContextOf(request.encryption_context);
  KMS_ASSIGN_OR_RETURN(BranchBlobView view, ParseBranchBlob(request.ciphertext_blob));
  if (options_.supplier != nullptr) {
    KMS_ASSIGN_OR_RETURN(std::string expected, options_.supplier->BranchKeyIdFor(context));
    if (expected != view.branch_key_id) {
      return KmsError(kms_code::kNoPermission,
                      "the blob's branch key is not the one the encryption context selects");
    }
  }
  const std::string id(view.branch_key_id);
  KMS_ASSIGN_OR_RETURN(BranchKeyCache::Material branch, Load(id, view.version));
  KMS_RETURN_IF_ERROR(OpenBranchBlob(branch->key.span(), view, context, &response->plaintext));
  response->key_id = id;
  response->key_version_id = std::to_string(view.version);
  internal::UniqueUuidInto(&response->request_id);
  response->from_cache = false;
  return absl::OkStatus();
}

absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
BranchKeyProvider::GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) {
  KMS_ASSIGN_OR_RETURN(GenerateDataKeyResponse full, GenerateDataKey(request));
  GenerateDataKeyWithoutPlaintextResponse out;
  out.key_id = std::move(full.key_id);
  out.key_version_id = std::move(full.key_version_id);
  out.ciphertext_blob = std::move(full.ciphertext_blob);
  out.request_id = std::move(full.request_id);
  return out;  // full.plaintext is wiped here
}

absl::StatusOr<EncryptResponse> BranchKeyProvider::Encrypt(const EncryptRequest& request) {
  if (request.plaintext.empty() || request.plaintext.size() > kMaxNumberOfBytes) {
    return KmsError(kms_code::kInvalidParameter,
                    "a branch key wraps 1..1024 bytes (data keys), not general plaintext");
  }
  EncryptResponse out;
  KMS_RETURN_IF_ERROR(Wrap(request.key_id, ContextOf(request.encryption_context),
                           request.plaintext, &out.ciphertext_blob, &out.key_id,
                           &out.key_version_id));
  internal::UniqueUuidInto(&out.request_id);
  return out;
}

absl::StatusOr<ReEncryptResponse> BranchKeyProvider::ReEncrypt(const ReEncryptRequest&) {
  return KmsError(kms_code::kUnsupportedOperation, "branch keys do not re-encrypt server side");
}

}  // namespace branch
}  // namespace kms_envelope
