// RemoteKeyProvider: the KeyProvider API over the Alibaba Cloud KMS RPC API (Version 2016-01-20)
// — the real service, or `kms-envelope serve`.
//
//   KMS_ASSIGN_OR_RETURN(Credentials creds, Credentials::FromEnvironment());
//   RemoteKeyProviderOptions options;
//   options.endpoint = EndpointForRegion("cn-hangzhou", /*vpc=*/false);  // or "http://127.0.0.1:PORT"
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<RemoteKeyProvider> kms,
//                        RemoteKeyProvider::New(std::move(options), std::move(creds)));
//   KMS_ASSIGN_OR_RETURN(GenerateDataKeyResponse dk, kms->GenerateDataKey(req));
//
// Contract (beyond key_provider.h):
// - Each attempt is a POST to `<endpoint>/` with every parameter in the query string (in a form
//   body instead when the URL would pass kMaxUrlLength), signed with
//   V1 (HMAC-SHA1, Signature parameter) or V3 (ACS3-HMAC-SHA256, Authorization header). Every
//   attempt gets a fresh SignatureNonce (UUID v4) and Timestamp, so retries are never replays.
//   Format=JSON; responses are parsed with nlohmann-json.
// - CiphertextBlob and Plaintext are base64 on the wire in both directions (Encrypt's Plaintext
//   too, so arbitrary bytes round-trip; see docs/remote.md).
// - Errors: a response body {RequestId, HostId, Code, Message, Recommend} becomes
//   KmsError(Code, "<Message> (RequestId: <id>)"). Retries follow retry_policy.h (by code,
//   capped exponential backoff with full jitter, overall deadline); the last error is returned.
// - Every response is validated before it is trusted: strict base64, a GenerateDataKey
//   plaintext of exactly the requested length, a Decrypt plaintext of at most
//   kMaxEncryptPlaintextSize bytes, blobs of 1..kMaxCiphertextBlobSize bytes, a KeyId equal to the
//   requested one when a GUID (not an alias) was requested, KeyId / KeyVersionId present and at
//   most kMaxIdSize bytes, response body at most kMaxResponseBodySize bytes. A response that
//   fails validation is reported as absl::DataLossError("malformed KMS response: ...") and is
//   not retried (a peer that answers wrongly once is not trusted to answer right the next time).
// - Secrets: the AccessKeySecret stays in SecretBytes. Plaintext only in SecretBytes once
//   decoded. Text that carries plaintext on its way (the request query for Encrypt, the response
//   body for GenerateDataKey/Decrypt, the JSON parser's strings) is WipedString, wiped on free.
//   Unavoidable unwiped copies: libcurl copies the URL (CURLOPT_URL strdup) and keeps it until
//   the handle is reset; libcurl's receive buffer and OpenSSL's record buffers hold the
//   response in transit. docs/remote.md lists them.
// - Transport: libcurl with TLS peer and host verification on (`ca_file` adds a CA bundle for a
//   self-signed server), proxies from the environment (libcurl's default: https_proxy,
//   no_proxy, ...), connections reused through a small pool of easy handles, per-attempt timeout
//   min(per_attempt_timeout, time left before the overall deadline).
// - Thread safe: any number of threads may call concurrently (each takes a handle from the pool).
#ifndef KMS_ENVELOPE_REMOTE_REMOTE_KEY_PROVIDER_H_
#define KMS_ENVELOPE_REMOTE_REMOTE_KEY_PROVIDER_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_api/key_id.h"
#include "kms_envelope/remote/credentials.h"
#include "kms_envelope/kms_api/retry_policy.h"
#include "kms_envelope/kms_api/wiped_string.h"

namespace kms_envelope {
namespace remote {

inline constexpr std::string_view kRemoteProviderId = "aliyun-kms";
inline constexpr std::string_view kKmsApiVersion = "2016-01-20";
inline constexpr size_t kMaxResponseBodySize = 64 * 1024;
using kms_api::kMaxIdSize;
// Requests whose URL would be longer than this send their parameters in an
// application/x-www-form-urlencoded body instead (servers, ours included, cap the request line
// at about 8 KiB; a 6 KiB Encrypt plaintext is about 11 KiB once base64- and percent-encoded).
inline constexpr size_t kMaxUrlLength = 4096;

enum class SignatureVersion { kV1, kV3 };

struct RemoteKeyProviderOptions {
  // Base URL: "https://kms.<region>.aliyuncs.com", "https://kms-vpc.<region>.aliyuncs.com",
  // or any URL (e.g. "http://127.0.0.1:8443" for `kms-envelope serve`). No trailing path.
  std::string endpoint;
  SignatureVersion signature_version = SignatureVersion::kV1;
  kms_api::RetryPolicy retry;
  kms_api::RetryClock clock = kms_api::RetryClock::Real();
  std::string ca_file;  // extra CA bundle (PEM); "" = the system store
  size_t max_idle_handles = 8;
  absl::Duration connect_timeout = absl::Seconds(5);
};

// "https://kms.<region>.aliyuncs.com" or, with `vpc`, "https://kms-vpc.<region>.aliyuncs.com".
std::string EndpointForRegion(std::string_view region, bool vpc);
// A --kms-endpoint value: a URL (contains "://") is used as is (trailing '/' dropped), anything
// else is a region id ("cn-hangzhou", or "vpc:cn-hangzhou" for the VPC endpoint).
std::string ResolveEndpoint(std::string_view endpoint_or_region);

class RemoteKeyProvider : public KeyProvider {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RemoteKeyProvider>> New(
      RemoteKeyProviderOptions options, Credentials credentials);
  ~RemoteKeyProvider() override;

  std::string_view provider_id() const override { return kRemoteProviderId; }

  [[nodiscard]] absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                 GenerateDataKeyResponse* response) override;
  [[nodiscard]] absl::Status DecryptInto(const DecryptRequest& request,
                                         DecryptResponse* response) override;
  [[nodiscard]] absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
  GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) override;
  [[nodiscard]] absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) override;
  [[nodiscard]] absl::StatusOr<ReEncryptResponse> ReEncrypt(
      const ReEncryptRequest& request) override;

  // Any other action (CreateKey, DescribeKey, ListKeys, CreateAlias, ListAliases, EnableKey,
  // DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, CreateKeyVersion, ...), with the same
  // signing, retries and error mapping; returns the response JSON. Refuses the actions whose
  // response carries a Plaintext (GenerateDataKey, Decrypt): use the typed methods.
  // Values are WipedString: an Encrypt's Plaintext may pass through here.
  using CallParams = std::vector<std::pair<std::string, kms_api::WipedString>>;
  [[nodiscard]] absl::StatusOr<nlohmann::json> Call(std::string_view action,
                                                    const CallParams& params);

  // Number of HTTP attempts made so far (all calls; for tests and metrics).
  uint64_t attempts() const { return attempts_.load(std::memory_order_relaxed); }

  struct Impl;

 private:
  explicit RemoteKeyProvider(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> attempts_{0};
};

}  // namespace remote
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_REMOTE_REMOTE_KEY_PROVIDER_H_
