#include "kms_envelope/c/c_api_internal.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/strings.h"

namespace kms_envelope {
namespace c_api {
namespace {

kmse_status StatusFor(const absl::Status& status) {
  const std::string code = GetKmsErrorCode(status);
  if (code == kms_code::kInvalidCiphertext) return KMSE_ERR_INVALID_CIPHERTEXT;
  if (code == kms_code::kKeyNotFound || code == kms_code::kAliasNotFound) return KMSE_ERR_NOT_FOUND;
  if (code == kms_code::kNoPermission || code == kms_code::kDisabled ||
      code == kms_code::kPendingDeletion) {
    return KMSE_ERR_PERMISSION_DENIED;
  }
  if (code == kms_code::kThrottling || code == kms_code::kRejectedThrottling ||
      code == kms_code::kServiceUnavailableTemporary || code == kms_code::kInternalFailure) {
    return KMSE_ERR_UNAVAILABLE;
  }
  if (code == kms_code::kUnsupportedOperation) return KMSE_ERR_UNSUPPORTED;
  if (code == kms_code::kInvalidParameter || code == kms_code::kMissingParameter) {
    return KMSE_ERR_INVALID_ARGUMENT;
  }
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return KMSE_OK;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return KMSE_ERR_INVALID_ARGUMENT;
    case absl::StatusCode::kNotFound:
      return KMSE_ERR_NOT_FOUND;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnauthenticated:
      return KMSE_ERR_PERMISSION_DENIED;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return KMSE_ERR_UNAVAILABLE;
    case absl::StatusCode::kDataLoss:
      return KMSE_ERR_IO;
    case absl::StatusCode::kUnimplemented:
      return KMSE_ERR_UNSUPPORTED;
    default:
      return KMSE_ERR_INTERNAL;
  }
}

}  // namespace

void CopyTruncated(std::string_view text, char* out, size_t cap) {
  if (out == nullptr || cap == 0) return;
  const size_t n = text.size() < cap - 1 ? text.size() : cap - 1;
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

kmse_status Fail(kmse_error* err, kmse_status status, std::string_view kms_code,
                 std::string_view message) {
  if (err != nullptr) {
    err->status = status;
    CopyTruncated(kms_code, err->kms_code, sizeof(err->kms_code));
    CopyTruncated(message, err->message, sizeof(err->message));
  }
  return status;
}

kmse_status Report(kmse_error* err, const absl::Status& status) {
  if (status.ok()) return Fail(err, KMSE_OK, "", "");
  return Fail(err, StatusFor(status), GetKmsErrorCode(status),
              internal::Sv(status.message()));
}

kmse_status Ok(kmse_error* err) { return Fail(err, KMSE_OK, "", ""); }

kmse_status InvalidArgument(kmse_error* err, std::string_view message) {
  return Fail(err, KMSE_ERR_INVALID_ARGUMENT, kms_code::kInvalidParameter, message);
}

kmse_status TooSmall(kmse_error* err, size_t required, size_t* len_out, std::string_view what) {
  if (len_out != nullptr) *len_out = required;
  return Fail(err, KMSE_ERR_BUFFER_TOO_SMALL, "",
              absl::StrCat(std::string(what), " buffer too small: ", required, " bytes needed"));
}

absl::StatusOr<EncryptionContext> ParseContext(const char* json) {
  if (json == nullptr) return EncryptionContext();
  return EncryptionContext::FromJson(json);
}

}  // namespace c_api
}  // namespace kms_envelope
