// KMS error codes carried in absl::Status.
//
// Every error that the Alibaba Cloud KMS API has a code for (for example
// `Forbidden.KeyNotFound`, `Rejected.Disabled`, `InvalidCiphertext`) is returned as an
// absl::Status whose canonical code matches its meaning and which carries the KMS code as a
// payload, so callers, the CLI and the KMS-compatible server can report it exactly.
//
//   absl::Status s = KmsError(kms_code::kKeyNotFound, "no CMK with id ...");
//   if (GetKmsErrorCode(s) == kms_code::kKeyNotFound) { ... }
//
// Messages never contain key material; callers must not pass secrets in `message`.
#ifndef KMS_ENVELOPE_KMS_ERROR_H_
#define KMS_ENVELOPE_KMS_ERROR_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace kms_envelope {

namespace kms_code {
// Client errors.
inline constexpr std::string_view kInvalidParameter = "InvalidParameter";
inline constexpr std::string_view kMissingParameter = "MissingParameter";
inline constexpr std::string_view kInvalidCiphertext = "InvalidCiphertext";
inline constexpr std::string_view kKeyNotFound = "Forbidden.KeyNotFound";
inline constexpr std::string_view kAliasNotFound = "Forbidden.AliasNotFound";
inline constexpr std::string_view kNoPermission = "Forbidden.NoPermission";
inline constexpr std::string_view kDisabled = "Rejected.Disabled";
inline constexpr std::string_view kPendingDeletion = "Rejected.PendingDeletion";
inline constexpr std::string_view kStateModifiedFailed = "Rejected.StateModifiedFailed";
inline constexpr std::string_view kAliasAlreadyExists = "Rejected.AliasAlreadyExists";
inline constexpr std::string_view kKeyIdNotMatch = "Rejected.KeyIdNotMatch";
// A quota is used up (the service: too many keys/aliases/versions; the local store: a CMK
// version reached its wrap limit and the key does not rotate by itself).
inline constexpr std::string_view kLimitExceeded = "Rejected.LimitExceeded";
inline constexpr std::string_view kUnsupportedOperation = "UnsupportedOperation";
// Authentication (server side).
inline constexpr std::string_view kInvalidAccessKeyIdNotFound = "InvalidAccessKeyId.NotFound";
inline constexpr std::string_view kSignatureDoesNotMatch = "SignatureDoesNotMatch";
inline constexpr std::string_view kIncompleteSignature = "IncompleteSignature";
inline constexpr std::string_view kSignatureNonceUsed = "SignatureNonceUsed";
inline constexpr std::string_view kInvalidTimeStampExpired = "InvalidTimeStamp.Expired";
inline constexpr std::string_view kInvalidTimeStampFormat = "InvalidTimeStamp.Format";
inline constexpr std::string_view kInvalidAction = "InvalidAction.NotFound";
// Retryable service errors.
inline constexpr std::string_view kThrottling = "Throttling";
inline constexpr std::string_view kRejectedThrottling = "Rejected.Throttling";
inline constexpr std::string_view kServiceUnavailableTemporary = "ServiceUnavailableTemporary";
inline constexpr std::string_view kInternalFailure = "InternalFailure";
}  // namespace kms_code

// The absl::Status payload URL under which the KMS code is stored.
inline constexpr std::string_view kKmsCodePayloadUrl = "type.kms-envelope/kms-code";

// Returns a status with the canonical code that matches `kms_code` (see KmsCodeToStatusCode),
// the message "<kms_code>: <message>" and the KMS code as payload.
[[nodiscard]] absl::Status KmsError(std::string_view kms_code, std::string_view message);

// The KMS code stored in `status`, or "" when it has none. For a non-OK status without a KMS
// code, callers that need one should use KmsCodeOrDefault.
[[nodiscard]] std::string GetKmsErrorCode(const absl::Status& status);

// The KMS code of `status`, or a code derived from its canonical code (InvalidParameter for
// kInvalidArgument, Forbidden.KeyNotFound for kNotFound, InternalFailure otherwise).
[[nodiscard]] std::string KmsCodeOrDefault(const absl::Status& status);

// The canonical absl code for a KMS code (NotFound for Forbidden.KeyNotFound,
// FailedPrecondition for Rejected.Disabled, ...).
[[nodiscard]] absl::StatusCode KmsCodeToStatusCode(std::string_view kms_code);

// The HTTP status the KMS service answers with for a KMS code (404, 409, 400, 403, 503, ...).
[[nodiscard]] int KmsCodeToHttpStatus(std::string_view kms_code);

}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_ERROR_H_
