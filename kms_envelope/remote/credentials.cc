#include "kms_envelope/remote/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/posix_io.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/wiped_json.h"

namespace kms_envelope {
namespace remote {

using kms_api::WipeString;
using kms_api::WipedJson;
using kms_api::WipedString;
namespace {

absl::Status Invalid(std::string_view what) { return KmsError(kms_code::kInvalidParameter, what); }

}  // namespace

absl::StatusOr<Credentials> Credentials::New(std::string_view access_key_id,
                                             std::string_view access_key_secret,
                                             std::string_view security_token) {
  if (access_key_id.empty() || access_key_id.size() > kMaxAccessKeyIdSize) {
    return Invalid("AccessKeyId is empty or too long");
  }
  if (access_key_secret.empty() || access_key_secret.size() > kMaxAccessKeySecretSize) {
    return Invalid("AccessKeySecret is empty or too long");
  }
  if (security_token.size() > kMaxSecurityTokenSize) return Invalid("SecurityToken is too long");
  Credentials out;
  out.access_key_id = std::string(access_key_id);
  KMS_ASSIGN_OR_RETURN(out.access_key_secret,
                       SecretBytes::CopyFrom(internal::Bytes(access_key_secret)));
  out.security_token = std::string(security_token);
  return out;
}

absl::StatusOr<Credentials> Credentials::FromEnvironment() {
  const char* id = std::getenv(std::string(kEnvAccessKeyId).c_str());
  const char* secret = std::getenv(std::string(kEnvAccessKeySecret).c_str());
  const char* token = std::getenv(std::string(kEnvSecurityToken).c_str());
  if (id == nullptr || *id == '\0' || secret == nullptr || *secret == '\0') {
    return KmsError(kms_code::kMissingParameter,
                    "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET");
  }
  return New(id, secret, token == nullptr ? "" : token);
}

absl::StatusOr<Credentials> Credentials::FromFile(const std::string& path) {
  const internal::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return absl::NotFoundError("cannot open credentials file " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<size_t>(st.st_size) > kMaxCredentialsFileSize) {
    return Invalid("credentials file is not a regular file of at most 64 KiB: " + path);
  }
  WipedString text;
  text.resize(static_cast<size_t>(st.st_size));
  uint8_t* bytes = reinterpret_cast<uint8_t*>(text.data());
  KMS_ASSIGN_OR_RETURN(size_t got,
                       internal::ReadFull(fd.get(), absl::MakeSpan(bytes, text.size()), path));
  text.resize(got);
  WipedJson j = WipedJson::parse(text, nullptr, /*allow_exceptions=*/false);
  WipeString(&text);
  if (j.is_discarded() || !j.is_object()) return Invalid("credentials file is not a JSON object");
  auto field = [&](const char* name) -> std::string_view {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return {};
    return std::string_view(it->get_ref<const WipedString&>());
  };
  absl::StatusOr<Credentials> out =
      New(field("AccessKeyId"), field("AccessKeySecret"), field("SecurityToken"));
  return out;
}

absl::StatusOr<Credentials> Credentials::Clone() const {
  Credentials out;
  out.access_key_id = access_key_id;
  KMS_ASSIGN_OR_RETURN(out.access_key_secret, SecretBytes::CopyFrom(access_key_secret.span()));
  out.security_token = security_token;
  return out;
}

}  // namespace remote
}  // namespace kms_envelope
