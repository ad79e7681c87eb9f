#include "kms_envelope/kms_error.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/strings.h"

namespace kms_envelope {

using internal::Av;

absl::StatusCode KmsCodeToStatusCode(std::string_view code) {
  namespace c = kms_code;
  if (code == c::kInvalidParameter || code == c::kMissingParameter ||
      code == c::kInvalidCiphertext || code == c::kInvalidTimeStampFormat ||
      code == c::kInvalidAction) {
    return absl::StatusCode::kInvalidArgument;
  }
  if (code == c::kKeyNotFound || code == c::kAliasNotFound) return absl::StatusCode::kNotFound;
  if (code == c::kNoPermission) return absl::StatusCode::kPermissionDenied;
  if (code == c::kInvalidAccessKeyIdNotFound || code == c::kSignatureDoesNotMatch ||
      code == c::kIncompleteSignature || code == c::kSignatureNonceUsed ||
      code == c::kInvalidTimeStampExpired) {
    return absl::StatusCode::kUnauthenticated;
  }
  if (code == c::kAliasAlreadyExists) return absl::StatusCode::kAlreadyExists;
  if (absl::StartsWith(Av(code), "Rejected.Throttling") || code == c::kThrottling) {
    return absl::StatusCode::kResourceExhausted;
  }
  if (absl::StartsWith(Av(code), "Rejected.")) return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(Av(code), "Forbidden.")) return absl::StatusCode::kPermissionDenied;
  if (code == c::kUnsupportedOperation) return absl::StatusCode::kUnimplemented;
  if (code == c::kServiceUnavailableTemporary) return absl::StatusCode::kUnavailable;
  return absl::StatusCode::kInternal;
}

int KmsCodeToHttpStatus(std::string_view code) {
  namespace c = kms_code;
  if (code == c::kKeyNotFound || code == c::kAliasNotFound || code == c::kInvalidAccessKeyIdNotFound ||
      code == c::kInvalidAction) {
    return 404;
  }
  if (code == c::kThrottling || code == c::kRejectedThrottling) return 400;
  if (absl::StartsWith(Av(code), "Rejected.")) return 409;
  if (absl::StartsWith(Av(code), "Forbidden.")) return 403;
  if (code == c::kServiceUnavailableTemporary) return 503;
  if (code == c::kInternalFailure) return 500;
  if (code == c::kSignatureDoesNotMatch || code == c::kIncompleteSignature ||
      code == c::kSignatureNonceUsed || code == c::kInvalidTimeStampExpired) {
    return 400;
  }
  return 400;
}

absl::Status KmsError(std::string_view kms_code, std::string_view message) {
  absl::Status status(KmsCodeToStatusCode(kms_code), absl::StrCat(Av(kms_code), ": ", Av(message)));
  status.SetPayload(Av(kKmsCodePayloadUrl), absl::Cord(Av(kms_code)));
  return status;
}

std::string GetKmsErrorCode(const absl::Status& status) {
  auto payload = status.GetPayload(Av(kKmsCodePayloadUrl));
  if (!payload.has_value()) return "";
  return std::string(*payload);
}

std::string KmsCodeOrDefault(const absl::Status& status) {
  std::string code = GetKmsErrorCode(status);
  if (!code.empty()) return code;
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return std::string(kms_code::kInvalidParameter);
  }
  if (status.code() == absl::StatusCode::kNotFound) return std::string(kms_code::kKeyNotFound);
  return std::string(kms_code::kInternalFailure);
}

}  // namespace kms_envelope
