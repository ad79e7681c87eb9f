// AccessKey credentials for the Alibaba Cloud OpenAPI.
//
//   KMS_ASSIGN_OR_RETURN(Credentials creds, Credentials::FromEnvironment());
//   // or Credentials::FromFile("/etc/kms-envelope/credentials.json"):
//   //   {"AccessKeyId": "LTAI...", "AccessKeySecret": "...", "SecurityToken": "..."}
//
// Contract:
// - Environment: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET (both required),
//   ALIBABA_CLOUD_SECURITY_TOKEN (optional; STS credentials).
// - The secret lives only in SecretBytes. The JSON file's text is read into a wiped buffer and
//   wiped after parsing; nlohmann's parse copies are WipedString too. The file must be a regular
//   file of at most kMaxCredentialsFileSize bytes.
// - Nothing here logs; error messages name the variable or file, never a value.
// - Move-only (SecretBytes); immutable once built; safe to share read-only between threads.
#ifndef KMS_ENVELOPE_REMOTE_CREDENTIALS_H_
#define KMS_ENVELOPE_REMOTE_CREDENTIALS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace remote {

inline constexpr size_t kMaxCredentialsFileSize = 64 * 1024;
inline constexpr size_t kMaxAccessKeyIdSize = 256;
inline constexpr size_t kMaxAccessKeySecretSize = 1024;
inline constexpr size_t kMaxSecurityTokenSize = 8192;

inline constexpr std::string_view kEnvAccessKeyId = "ALIBABA_CLOUD_ACCESS_KEY_ID";
inline constexpr std::string_view kEnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
inline constexpr std::string_view kEnvSecurityToken = "ALIBABA_CLOUD_SECURITY_TOKEN";

struct Credentials {
  std::string access_key_id;
  SecretBytes access_key_secret;
  std::string security_token;  // "" unless STS; sent as SecurityToken / x-acs-security-token

  // Validates sizes and non-emptiness. InvalidParameter otherwise.
  [[nodiscard]] static absl::StatusOr<Credentials> New(std::string_view access_key_id,
                                                       std::string_view access_key_secret,
                                                       std::string_view security_token = "");
  [[nodiscard]] static absl::StatusOr<Credentials> FromEnvironment();
  [[nodiscard]] static absl::StatusOr<Credentials> FromFile(const std::string& path);

  [[nodiscard]] absl::StatusOr<Credentials> Clone() const;
};

}  // namespace remote
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_REMOTE_CREDENTIALS_H_
