#include "kms_envelope/testing/envelope_fault_provider.h"

#include <cstring>

#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace testing {

std::string_view EnvelopeFaultProvider::provider_id() const {
  if (provider_id_override_.has_value()) return *provider_id_override_;
  return inner_->provider_id();
}

absl::Status EnvelopeFaultProvider::GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                        GenerateDataKeyResponse* response) {
  ++generate_calls_;
  if (before_generate_) before_generate_();
  absl::Status s = inner_->GenerateDataKeyInto(request, response);
  if (!s.ok()) return s;
  response->from_cache = from_cache_;
  return after_generate_ ? after_generate_(response) : s;
}

absl::Status EnvelopeFaultProvider::DecryptInto(const DecryptRequest& request,
                                                DecryptResponse* response) {
  ++decrypt_calls_;
  if (fail_decrypt_) return KmsError(kms_code::kInternalFailure, "injected Decrypt failure");
  absl::Status s = inner_->DecryptInto(request, response);
  if (!s.ok()) return s;
  response->from_cache = from_cache_;
  if (substitute_data_key_) {
    std::memset(response->plaintext.mutable_data(), 0x5a, response->plaintext.size());
  }
  return after_decrypt_ ? after_decrypt_(response) : s;
}

absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
EnvelopeFaultProvider::GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) {
  ++generate_calls_;
  return inner_->GenerateDataKeyWithoutPlaintext(request);
}

absl::StatusOr<EncryptResponse> EnvelopeFaultProvider::Encrypt(const EncryptRequest& request) {
  ++encrypt_calls_;
  return inner_->Encrypt(request);
}

absl::StatusOr<ReEncryptResponse> EnvelopeFaultProvider::ReEncrypt(const ReEncryptRequest& request) {
  ++reencrypt_calls_;
  if (reencrypt_unsupported_) {
    return KmsError(kms_code::kUnsupportedOperation, "injected: ReEncrypt not supported");
  }
  return inner_->ReEncrypt(request);
}

}  // namespace testing
}  // namespace kms_envelope
