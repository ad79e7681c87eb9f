// KmsError: canonical code, message, payload and HTTP status for every KMS code.
#include "kms_envelope/kms_error.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace kms_envelope {
namespace {

struct Expectation {
  std::string_view code;
  absl::StatusCode status;
  int http;
};

// The full table of declared codes; a new code without a row here is caught by review, and a
// changed mapping fails this test.
constexpr Expectation kTable[] = {
    {kms_code::kInvalidParameter, absl::StatusCode::kInvalidArgument, 400},
    {kms_code::kMissingParameter, absl::StatusCode::kInvalidArgument, 400},
    {kms_code::kInvalidCiphertext, absl::StatusCode::kInvalidArgument, 400},
    {kms_code::kKeyNotFound, absl::StatusCode::kNotFound, 404},
    {kms_code::kAliasNotFound, absl::StatusCode::kNotFound, 404},
    {kms_code::kNoPermission, absl::StatusCode::kPermissionDenied, 403},
    {kms_code::kDisabled, absl::StatusCode::kFailedPrecondition, 409},
    {kms_code::kPendingDeletion, absl::StatusCode::kFailedPrecondition, 409},
    {kms_code::kStateModifiedFailed, absl::StatusCode::kFailedPrecondition, 409},
    {kms_code::kAliasAlreadyExists, absl::StatusCode::kAlreadyExists, 409},
    {kms_code::kKeyIdNotMatch, absl::StatusCode::kFailedPrecondition, 409},
    {kms_code::kUnsupportedOperation, absl::StatusCode::kUnimplemented, 400},
    {kms_code::kInvalidAccessKeyIdNotFound, absl::StatusCode::kUnauthenticated, 404},
    {kms_code::kSignatureDoesNotMatch, absl::StatusCode::kUnauthenticated, 400},
    {kms_code::kIncompleteSignature, absl::StatusCode::kUnauthenticated, 400},
    {kms_code::kSignatureNonceUsed, absl::StatusCode::kUnauthenticated, 400},
    {kms_code::kInvalidTimeStampExpired, absl::StatusCode::kUnauthenticated, 400},
    {kms_code::kInvalidTimeStampFormat, absl::StatusCode::kInvalidArgument, 400},
    {kms_code::kInvalidAction, absl::StatusCode::kInvalidArgument, 404},
    {kms_code::kThrottling, absl::StatusCode::kResourceExhausted, 400},
    {kms_code::kRejectedThrottling, absl::StatusCode::kResourceExhausted, 400},
    {kms_code::kServiceUnavailableTemporary, absl::StatusCode::kUnavailable, 503},
    {kms_code::kInternalFailure, absl::StatusCode::kInternal, 500},
};

TEST(KmsError, MapsEveryCodeToItsCanonicalCodeAndHttpStatus) {
  for (const Expectation& e : kTable) {
    EXPECT_EQ(KmsCodeToStatusCode(e.code), e.status) << e.code;
    EXPECT_EQ(KmsCodeToHttpStatus(e.code), e.http) << e.code;
  }
}

TEST(KmsError, CarriesTheCodeAsPayloadAndPrefixesTheMessage) {
  for (const Expectation& e : kTable) {
    absl::Status s = KmsError(e.code, "details");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), e.status);
    EXPECT_EQ(GetKmsErrorCode(s), e.code);
    EXPECT_EQ(KmsCodeOrDefault(s), e.code);
    EXPECT_EQ(std::string(s.message()), std::string(e.code) + ": details");
  }
}

TEST(KmsError, UnknownCodesAreInternalButKeepTheirPayload) {
  absl::Status s = KmsError("Some.NewCode", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(GetKmsErrorCode(s), "Some.NewCode");
  EXPECT_EQ(KmsCodeToHttpStatus("Some.NewCode"), 400);
  // Prefix families map by prefix.
  EXPECT_EQ(KmsCodeToStatusCode("Rejected.Something"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(KmsCodeToHttpStatus("Rejected.Something"), 409);
  EXPECT_EQ(KmsCodeToStatusCode("Forbidden.Something"), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(KmsCodeToHttpStatus("Forbidden.Something"), 403);
}

TEST(KmsError, StatusesWithoutAPayloadGetADerivedCode) {
  EXPECT_EQ(GetKmsErrorCode(absl::InvalidArgumentError("x")), "");
  EXPECT_EQ(KmsCodeOrDefault(absl::InvalidArgumentError("x")), kms_code::kInvalidParameter);
  EXPECT_EQ(KmsCodeOrDefault(absl::NotFoundError("x")), kms_code::kKeyNotFound);
  EXPECT_EQ(KmsCodeOrDefault(absl::InternalError("x")), kms_code::kInternalFailure);
  EXPECT_EQ(KmsCodeOrDefault(absl::UnavailableError("x")), kms_code::kInternalFailure);
  EXPECT_EQ(GetKmsErrorCode(absl::OkStatus()), "");
}

TEST(KmsError, PayloadSurvivesCopiesAndIsIndependentOfTheMessage) {
  absl::Status original = KmsError(kms_code::kKeyNotFound, "no CMK");
  absl::Status copy = original;
  EXPECT_EQ(GetKmsErrorCode(copy), kms_code::kKeyNotFound);
  // A message that merely mentions a code does not make it the code.
  absl::Status lookalike = absl::NotFoundError("Rejected.Disabled: fake");
  EXPECT_EQ(GetKmsErrorCode(lookalike), "");
}

}  // namespace
}  // namespace kms_envelope
