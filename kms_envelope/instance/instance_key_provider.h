// InstanceKeyProvider: the KeyProvider API over the gateway of an Alibaba Cloud KMS 3.0
// dedicated instance (`https://<instance-id>.cryptoservice.kms.aliyuncs.com`, API version
// dkms-gcs-0.2) — the real gateway, or the instance listener of `kms-envelope serve`.
//
//   KMS_ASSIGN_OR_RETURN(instance::ClientKey key,
//                        instance::ClientKey::FromFiles("clientKey.json", "password.txt"));
//   instance::InstanceKeyProviderOptions options;
//   options.endpoint = "https://kst-hzz6xxxx.cryptoservice.kms.aliyuncs.com";
//   options.ca_file = "PrivateKmsCA_kst-hzz6xxxx.pem";   // the instance CA
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<instance::InstanceKeyProvider> kms,
//                        instance::InstanceKeyProvider::New(std::move(options), std::move(key)));
//
// Contract (beyond key_provider.h):
// - Calls: GenerateDataKey and GenerateDataKeyWithoutPlaintext -> AdvanceGenerateDataKey (the
//   API has no WithoutPlaintext variant: the plaintext is wiped unread), Encrypt ->
//   AdvanceEncrypt, Decrypt -> AdvanceDecrypt. The Advance calls wrap under the CMK's primary
//   version and return a self-describing blob, so rotating the CMK takes effect and old blobs
//   still decrypt; plain Encrypt/Decrypt would use the CMK's first version forever.
// - ReEncrypt is AdvanceDecrypt + AdvanceEncrypt in this process (the API has none); the
//   intermediate plaintext lives in SecretBytes only and is wiped before returning.
// - EncryptionContext travels as the protobuf `Aad`: its canonical bytes
//   (EncryptionContext::Canonical()), the same bytes our envelopes authenticate. The empty
//   context sends no Aad.
// - Each attempt is a POST of a protobuf body to `<endpoint>/`, signed as request_signer.h
//   describes with a fresh Date. Non-2xx answers carry a protobuf Error {StatusCode,
//   ErrorCode, ErrorMessage, RequestId} and become KmsError(ErrorCode, "<message> (RequestId:
//   <id>)"). Retries as kms_api/retry_policy.h: Rejected.Throttling,
//   ServiceUnavailableTemporary and InternalFailure (the SDKs' list), 5xx without an Error body,
//   and transport failures; capped exponential backoff with full jitter inside an overall
//   deadline, each attempt bounded by per_attempt_timeout.
// - Responses are validated before they are trusted (as RemoteKeyProvider's): KeyId equal to a
//   requested GUID, KeyVersionId 1..kMaxIdSize bytes, blobs 1..kMaxCiphertextBlobSize bytes, a
//   GenerateDataKey plaintext of exactly the requested size, a Decrypt plaintext of at most
//   kMaxEncryptPlaintextSize, bodies at most kMaxInstanceResponseSize. Failures are DataLoss
//   ("malformed KMS response: ...") and are not retried.
// - Transport: libcurl, HTTPS only, peer and host verification always on (`ca_file`: the
//   instance CA; there is no switch to turn verification off), proxies from the environment.
// - Secrets: the ClientKey's private key as client_key.h says. Request bodies that carry a
//   plaintext (AdvanceEncrypt) and every response body are built in wiped buffers; the
//   protobuf messages' Plaintext strings are wiped before the messages are freed. libcurl's
//   receive buffer and OpenSSL's record buffers hold the response in transit (not wiped).
// - Thread safe: any number of threads may call concurrently.
#ifndef KMS_ENVELOPE_INSTANCE_INSTANCE_KEY_PROVIDER_H_
#define KMS_ENVELOPE_INSTANCE_INSTANCE_KEY_PROVIDER_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kms_envelope/instance/client_key.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_api/key_id.h"
#include "kms_envelope/kms_api/retry_policy.h"

namespace kms_envelope {
namespace instance {

inline constexpr std::string_view kInstanceProviderId = "aliyun-kms-instance";
inline constexpr size_t kMaxInstanceResponseSize = 64 * 1024;
using kms_api::kMaxIdSize;

struct InstanceKeyProviderOptions {
  // "https://<instance-id>.cryptoservice.kms.aliyuncs.com" (a bare host name gets https://),
  // or "https://127.0.0.1:PORT" for `kms-envelope serve --instance-listen`.
  std::string endpoint;
  std::string ca_file;  // PEM CA bundle; "" = the system store
  kms_api::RetryPolicy retry;
  kms_api::RetryClock clock = kms_api::RetryClock::Real();
  absl::Duration connect_timeout = absl::Seconds(5);
  size_t max_idle_handles = 8;
};

class InstanceKeyProvider : public KeyProvider {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<InstanceKeyProvider>> New(
      InstanceKeyProviderOptions options, ClientKey client_key);
  ~InstanceKeyProvider() override;

  std::string_view provider_id() const override { return kInstanceProviderId; }

  [[nodiscard]] absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                 GenerateDataKeyResponse* response) override;
  [[nodiscard]] absl::Status DecryptInto(const DecryptRequest& request,
                                         DecryptResponse* response) override;
  [[nodiscard]] absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
  GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) override;
  [[nodiscard]] absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) override;
  [[nodiscard]] absl::StatusOr<ReEncryptResponse> ReEncrypt(
      const ReEncryptRequest& request) override;

  // HTTP attempts made so far (tests, metrics).
  uint64_t attempts() const { return attempts_.load(std::memory_order_relaxed); }

  struct Impl;

 private:
  explicit InstanceKeyProvider(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> attempts_{0};
};

}  // namespace instance
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INSTANCE_INSTANCE_KEY_PROVIDER_H_
