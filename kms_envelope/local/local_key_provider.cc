#include "kms_envelope/local/local_key_provider.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/internal/wipe.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/ciphertext_blob.h"

namespace kms_envelope {
namespace local {
namespace {

const EncryptionContext& ContextOrEmpty(const EncryptionContext* context) {
  return context != nullptr ? *context : EncryptionContext::Empty();
}

// Makes `secret` exactly `size` bytes, reusing its storage when it already is.
absl::Status ResizeSecret(SecretBytes* secret, size_t size) {
  if (secret->size() == size) return absl::OkStatus();
  KMS_ASSIGN_OR_RETURN(*secret, SecretBytes::New(size));
  return absl::OkStatus();
}

// Copies an id the store lent into a response, unless the (reused) response holds it already.
void AssignId(std::string_view id, std::string* out) {
  if (*out != id) out->assign(id);
}

// Random bytes for the data key and the IV in one draw; the used prefix is wiped after use.
struct KeyAndIv {
  uint8_t bytes[kMaxNumberOfBytes + kBlobIvSize];
};

}  // namespace

absl::Status LocalKeyProvider::Seal(std::string_view key_id_or_alias,
                                    absl::Span<const uint8_t> plaintext,
                                    absl::Span<const uint8_t> iv, const EncryptionContext& context,
                                    std::string* key_id, std::string* key_version_id,
                                    std::string* blob) {
  return store_->WithPrimaryVersion(key_id_or_alias, [&](const VersionKeyLease& lease) {
    KMS_RETURN_IF_ERROR(
        SealCiphertextBlob(lease.key, lease.key_version_id, plaintext, iv, context, blob));
    AssignId(lease.key_id, key_id);
    AssignId(lease.key_version_id, key_version_id);
    return absl::OkStatus();
  });
}

absl::Status LocalKeyProvider::Open(absl::Span<const uint8_t> blob,
                                    const EncryptionContext& context, std::string* key_id,
                                    std::string* key_version_id, SecretBytes* plaintext) {
  KMS_ASSIGN_OR_RETURN(ParsedCiphertextBlob parsed, ParseCiphertextBlob(blob));
  return store_->WithVersion(parsed.key_version_id, [&](const VersionKeyLease& lease) {
    KMS_RETURN_IF_ERROR(OpenCiphertextBlob(lease.key, parsed, context, plaintext));
    AssignId(lease.key_id, key_id);
    AssignId(lease.key_version_id, key_version_id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::unique_ptr<LocalKeyProvider>> LocalKeyProvider::New(
    std::shared_ptr<LocalKeyStore> store) {
  if (store == nullptr) return absl::InvalidArgumentError("LocalKeyProvider needs a store");
  return std::unique_ptr<LocalKeyProvider>(new LocalKeyProvider(std::move(store)));
}

absl::Status LocalKeyProvider::GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                   GenerateDataKeyResponse* response) {
  KMS_ASSIGN_OR_RETURN(size_t size,
                       ResolveDataKeySize(request.key_spec, request.number_of_bytes));
  if (request.key_id.empty()) return KmsError(kms_code::kInvalidParameter, "KeyId is required");
  KMS_RETURN_IF_ERROR(ResizeSecret(&response->plaintext, size));
  // Only the bytes used are drawn (and wiped); the rest of the buffer stays untouched. The
  // RequestId needs uniqueness, not secrecy: it comes from a counter, not from the keystream.
  KeyAndIv random;
  const size_t drawn = size + kBlobIvSize;
  internal::FillRandom(absl::MakeSpan(random.bytes, drawn));
  std::memcpy(response->plaintext.mutable_data(), random.bytes, size);
  absl::Status sealed =
      Seal(request.key_id, response->plaintext.span(),
           absl::MakeConstSpan(random.bytes + size, kBlobIvSize),
           ContextOrEmpty(request.encryption_context), &response->key_id,
           &response->key_version_id, &response->ciphertext_blob);
  internal::WipeBytes(random.bytes, drawn);
  if (!sealed.ok()) {
    response->plaintext.Clear();
    response->ciphertext_blob.clear();
    return sealed;
  }
  internal::UniqueUuidInto(&response->request_id);
  response->from_cache = false;
  return absl::OkStatus();
}

absl::Status LocalKeyProvider::DecryptInto(const DecryptRequest& request,
                                           DecryptResponse* response) {
  absl::Status opened =
      Open(request.ciphertext_blob, ContextOrEmpty(request.encryption_context), &response->key_id,
           &response->key_version_id, &response->plaintext);
  if (!opened.ok()) {
    response->plaintext.Clear();
    return opened;
  }
  internal::UniqueUuidInto(&response->request_id);
  response->from_cache = false;
  return absl::OkStatus();
}

absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
LocalKeyProvider::GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) {
  GenerateDataKeyResponse full;
  KMS_RETURN_IF_ERROR(GenerateDataKeyInto(request, &full));
  GenerateDataKeyWithoutPlaintextResponse out;
  out.key_id = std::move(full.key_id);
  out.key_version_id = std::move(full.key_version_id);
  out.ciphertext_blob = std::move(full.ciphertext_blob);
  out.request_id = std::move(full.request_id);
  return out;  // `full.plaintext` is wiped here
}

absl::StatusOr<EncryptResponse> LocalKeyProvider::Encrypt(const EncryptRequest& request) {
  if (request.key_id.empty()) return KmsError(kms_code::kInvalidParameter, "KeyId is required");
  if (request.plaintext.empty() || request.plaintext.size() > kMaxEncryptPlaintextSize) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("Plaintext must be 1..", kMaxEncryptPlaintextSize, " bytes"));
  }
  uint8_t iv[kBlobIvSize];
  internal::FillRandom(absl::MakeSpan(iv));
  EncryptResponse out;
  KMS_RETURN_IF_ERROR(Seal(
      request.key_id, request.plaintext, iv, ContextOrEmpty(request.encryption_context),
      &out.key_id, &out.key_version_id, &out.ciphertext_blob));
  internal::UniqueUuidInto(&out.request_id);
  return out;
}

absl::StatusOr<ReEncryptResponse> LocalKeyProvider::ReEncrypt(const ReEncryptRequest& request) {
  if (request.destination_key_id.empty()) {
    return KmsError(kms_code::kMissingParameter, "DestinationKeyId is required");
  }
  DecryptRequest source;
  source.ciphertext_blob = request.ciphertext_blob;
  source.encryption_context = request.source_encryption_context;
  DecryptResponse plain;
  KMS_RETURN_IF_ERROR(DecryptInto(source, &plain));
  uint8_t iv[kBlobIvSize];
  internal::FillRandom(absl::MakeSpan(iv));
  ReEncryptResponse out;
  KMS_RETURN_IF_ERROR(Seal(
      request.destination_key_id, plain.plaintext.span(), iv,
      ContextOrEmpty(request.destination_encryption_context), &out.key_id, &out.key_version_id,
      &out.ciphertext_blob));
  out.source_key_id = std::move(plain.key_id);
  out.source_key_version_id = std::move(plain.key_version_id);
  internal::UniqueUuidInto(&out.request_id);
  return out;  // `plain.plaintext` is wiped here
}

}  // namespace local
}  // namespace kms_envelope
