// InstanceHandler: the KMS 3.0 instance gateway API (dkms-gcs-0.2: AdvanceGenerateDataKey,
// AdvanceEncrypt, AdvanceDecrypt) answered from the local CMK store. `kms-envelope serve
// --instance-api` routes every request that carries an `x-kms-apiname` header here, on the same
// (HTTPS) listener as the 2016-01-20 API.
//
//   InstanceHandlerOptions o;
//   o.store = store;
//   KMS_ASSIGN_OR_RETURN(o.policy, ClientKeyPolicy::FromFile("access.json"));
//   KMS_ASSIGN_OR_RETURN(auto handler, InstanceHandler::New(std::move(o)));
//   InstanceReply reply = handler->Handle(lowercased_headers, body);
//
// Checks, in order (each failure is an Error body, HTTP status from KmsCodeToHttpStatus):
//  1. injected faults (testing): the first `count` requests get the fault's code;
//  2. body at most kMaxInstanceRequestSize (InvalidParameter);
//  3. headers: x-kms-apiname, x-kms-apiversion = dkms-gcs-0.2, x-kms-signaturemethod =
//     RSA_PKCS1_SHA_256, x-kms-acccesskeyid, date, content-type application/x-protobuf,
//     content-sha256 = the body's upper-case hex SHA-256, authorization present; no other
//     x-kms-* header (MissingParameter / InvalidParameter);
//  4. ClientKey known (InvalidAccessKeyId.NotFound), date parses (InvalidParameter) and is
//     within max_clock_skew (RequestTimeTooSkewed), signature verifies against the ClientKey's
//     public key (SignatureDoesNotMatch);
//  5. API known (InvalidAction.NotFound); body parses as the API's request message with no
//     unknown fields and no unsupported field set (Algorithm other than AES_GCM, PaddingMode,
//     an Iv for AdvanceEncrypt, an AdvanceDecrypt Iv other than the blob's: InvalidParameter);
//  6. the ClientKey may use the CMK (Forbidden.NoPermission) — for AdvanceDecrypt the CMK the
//     blob names, checked after authentication of the blob and before any plaintext leaves.
//     A KeyId sent with AdvanceDecrypt must name that same CMK (Rejected.KeyIdNotMatch).
// Aad: any bytes up to kMaxInstanceAadSize; bound to the wrapped key as the local store's
// context {"Aad": base64(Aad)} (empty Aad = empty context), so Decrypt needs the same bytes.
// Not checked: replays inside the skew window (the protocol has no nonce).
// Secrets: plaintexts in SecretBytes; reply bodies that carry one are WipedStrings; the parsed
// request/response messages' Plaintext fields are wiped. Thread safe.
#ifndef KMS_ENVELOPE_INSTANCE_INSTANCE_HANDLER_H_
#define KMS_ENVELOPE_INSTANCE_INSTANCE_HANDLER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kms_envelope/instance/client_key_policy.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/kms_api/wiped_string.h"

namespace kms_envelope {
namespace instance {

inline constexpr size_t kMaxInstanceRequestSize = 64 * 1024;
inline constexpr size_t kMaxInstanceAadSize = 3072;  // base64 fits one 4 KiB context value
inline constexpr std::string_view kRequestTimeTooSkewed = "RequestTimeTooSkewed";

struct InstanceFault {
  std::string code;
  int http_status = 503;
  int count = 1;
};

struct InstanceHandlerOptions {
  std::shared_ptr<local::LocalKeyStore> store;
  ClientKeyPolicy policy;
  absl::Duration max_clock_skew = absl::Minutes(15);
  std::function<absl::Time()> now;  // null: absl::Now
  std::vector<InstanceFault> faults;
};

struct InstanceReply {
  int http_status = 200;
  std::shared_ptr<kms_api::WipedString> body;  // protobuf
  std::string api_name;                       // for the access log
  std::string client_key_id;
  std::string code;                           // "" on success
};

class InstanceHandler {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<InstanceHandler>> New(
      InstanceHandlerOptions options);

  // True for requests meant for this API (they carry x-kms-apiname).
  static bool Claims(const std::map<std::string, std::string>& headers);
  // `headers`: lower-cased names.
  InstanceReply Handle(const std::map<std::string, std::string>& headers, std::string_view body);

  uint64_t requests() const { return requests_.load(); }

 private:
  explicit InstanceHandler(InstanceHandlerOptions options);
  absl::Status Authenticate(const std::map<std::string, std::string>& headers,
                            std::string_view body, const ClientKeyEntry** entry);
  absl::StatusOr<kms_api::WipedString> Dispatch(std::string_view api, std::string_view body,
                                               const ClientKeyEntry& entry);
  absl::Status CheckKey(const ClientKeyEntry& entry, std::string_view requested);
  absl::StatusOr<kms_api::WipedString> GenerateDataKey(std::string_view body,
                                                      const ClientKeyEntry& entry);
  absl::StatusOr<kms_api::WipedString> Encrypt(std::string_view body, const ClientKeyEntry& entry);
  absl::StatusOr<kms_api::WipedString> Decrypt(std::string_view body, const ClientKeyEntry& entry);
  absl::Time Now() const { return options_.now ? options_.now() : absl::Now(); }

  InstanceHandlerOptions options_;
  std::unique_ptr<local::LocalKeyProvider> provider_;
  std::atomic<uint64_t> requests_{0};
};

}  // namespace instance
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INSTANCE_INSTANCE_HANDLER_H_
