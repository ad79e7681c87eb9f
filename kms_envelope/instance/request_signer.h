// Request signing of the KMS 3.0 instance gateway API (RSA_PKCS1_SHA_256 over a string to sign),
// shared by InstanceKeyProvider (signs) and the instance listener of `kms-envelope serve`
// (verifies).
//
//   InstanceHeaders h = MakeInstanceHeaders("AdvanceEncrypt", body, key.key_id(), absl::Now());
//   KMS_ASSIGN_OR_RETURN(std::string auth, SignStringToSign(key.pkey(), StringToSign(h)));
//   // send h.* as headers, "Authorization: " + auth
//
// Wire rules (from the instance SDKs' sources; docs/kms-instance.md says which files):
// - Headers: `date` (RFC 1123, "Sun, 06 Dec 2026 16:49:02 GMT"), `content-type` and `accept`
//   `application/x-protobuf`, `content-sha256` (UPPER-case hex SHA-256 of the body),
//   `x-kms-apiversion: dkms-gcs-0.2`, `x-kms-apiname: <Action>`,
//   `x-kms-signaturemethod: RSA_PKCS1_SHA_256`, and the ClientKey id in `x-kms-acccesskeyid`
//   (three c's: the SDKs spell it so, and the gateway reads that spelling).
// - String to sign: "POST\n" + content-sha256 + "\n" + content-type + "\n" + date + "\n" +
//   every x-kms-* header in ascending name order as "name:trimmed-value\n" + "/" (the path;
//   the API has no query string).
// - Authorization: "Bearer " + base64(RSASSA-PKCS1-v1_5(SHA-256(string to sign))).
// Thread safe: functions only; an EVP_PKEY may be shared between threads for signing.
#ifndef KMS_ENVELOPE_INSTANCE_REQUEST_SIGNER_H_
#define KMS_ENVELOPE_INSTANCE_REQUEST_SIGNER_H_

#include <openssl/evp.h>

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kms_envelope {
namespace instance {

inline constexpr std::string_view kInstanceApiVersion = "dkms-gcs-0.2";
inline constexpr std::string_view kSignatureMethod = "RSA_PKCS1_SHA_256";
inline constexpr std::string_view kProtobufContentType = "application/x-protobuf";
inline constexpr std::string_view kAccessKeyIdHeader = "x-kms-acccesskeyid";
inline constexpr std::string_view kBearerPrefix = "Bearer ";
// The gateway refuses a Date further than this from its clock (RequestTimeTooSkewed).
inline constexpr absl::Duration kMaxClockSkew = absl::Minutes(15);
// Signatures longer than this (base64 of a 4096-bit RSA signature is 684) are refused unread.
inline constexpr size_t kMaxAuthorizationSize = 2048;

// The signed headers of one request. Names are lower case.
struct InstanceHeaders {
  std::string date;            // date
  std::string content_sha256;  // content-sha256
  std::string content_type = std::string(kProtobufContentType);
  std::map<std::string, std::string> x_kms;  // x-kms-* (sorted by name)
};

// Upper-case hex SHA-256 of `body`.
std::string UpperHexSha256(std::string_view body);
// RFC 1123 in GMT, e.g. "Sun, 06 Dec 2026 16:49:02 GMT".
std::string FormatHttpDate(absl::Time t);
// Parses FormatHttpDate's format; InvalidParameter otherwise.
[[nodiscard]] absl::StatusOr<absl::Time> ParseHttpDate(std::string_view text);

// The headers a client sends for `api_name` with this body, ClientKey id and time.
InstanceHeaders MakeInstanceHeaders(std::string_view api_name, std::string_view body,
                                    std::string_view access_key_id, absl::Time now);
// The string to sign for a POST to "/" with these headers.
std::string StringToSign(const InstanceHeaders& headers);

// "Bearer <base64 signature>" with `private_key` (RSA). Internal on OpenSSL failure.
[[nodiscard]] absl::StatusOr<std::string> SignStringToSign(EVP_PKEY* private_key,
                                                           std::string_view string_to_sign);
// True when `authorization` is "Bearer " + a valid signature of `string_to_sign` by the RSA
// `public_key`.
bool VerifyAuthorization(EVP_PKEY* public_key, std::string_view string_to_sign,
                         std::string_view authorization);

}  // namespace instance
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INSTANCE_REQUEST_SIGNER_H_
