#include "kms_envelope/remote/response_reader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_api/key_id.h"
#include "kms_envelope/kms_api/retry_policy.h"
#include "kms_envelope/kms_api/xml_response.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace remote {

using kms_api::kMaxIdSize;
using kms_api::WipedJson;
using kms_api::WipedString;

// A complete HTTP answer -> the parsed body (JSON, or XML as its JSON twin) or the KMS error.
void ClassifyResponse(const WipedString& body, long http_status,
                      Attempt* result) {
  if (kms_api::LooksLikeXml(body)) {
    if (!kms_api::ParseXmlResponse(body, &result->body).ok()) {
      result->body = WipedJson(WipedJson::value_t::discarded);
    }
  } else {
    result->body = WipedJson::parse(body, nullptr, /*allow_exceptions=*/false);
  }
  const bool parsed = !result->body.is_discarded() && result->body.is_object();
  std::string code;
  if (parsed) {
    auto it = result->body.find("Code");
    if (it != result->body.end() && it->is_string()) {
      code = std::string(std::string_view(it->get_ref<const WipedString&>()).substr(0, 128));
    }
  }
  if (http_status == 200 && code.empty()) {
    result->status = parsed ? absl::OkStatus()
                            : kms_api::MalformedResponse("body is neither a JSON object nor a KMS XML document");
    return;
  }
  result->retryable = kms_api::ShouldRetryResponse(code, static_cast<int>(http_status));
  if (code.empty()) {
    result->status = http_status >= 500
                         ? KmsError(kms_code::kInternalFailure,
                                    absl::StrCat("HTTP ", http_status, " without a KMS error body"))
                         : absl::UnknownError(absl::StrCat("KMS answered HTTP ", http_status,
                                                           " without an error code"));
    return;
  }
  std::string message, request_id;
  OptionalField(result->body, "Message", &message);
  OptionalField(result->body, "RequestId", &request_id);
  if (message.size() > kMaxErrorFieldSize) message.resize(kMaxErrorFieldSize);
  result->status = KmsError(code, absl::StrCat(message, " (RequestId: ", request_id, ")"));
}

// A string field of the response: present, a string, 1..max bytes.
absl::StatusOr<std::string_view> StringField(const WipedJson& j, const char* name, size_t max) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return kms_api::MalformedResponse(absl::StrCat("no string ", name));
  std::string_view v = it->get_ref<const WipedString&>();
  if (v.empty() || v.size() > max) return kms_api::MalformedResponse(absl::StrCat(name, " is empty or too long"));
  return v;
}

absl::Status CheckKeyId(const WipedJson& j, std::string_view requested, std::string* out) {
  KMS_ASSIGN_OR_RETURN(std::string_view key_id, StringField(j, "KeyId", kMaxIdSize));
  if (!requested.empty() && !kms_api::IsAlias(requested) && key_id != requested) {
    return kms_api::MalformedResponse("KeyId differs from the requested key");
  }
  out->assign(key_id.data(), key_id.size());
  return absl::OkStatus();
}

absl::Status CopyField(const WipedJson& j, const char* name, std::string* out) {
  KMS_ASSIGN_OR_RETURN(std::string_view v, StringField(j, name, kMaxIdSize));
  out->assign(v.data(), v.size());
  return absl::OkStatus();
}

void OptionalField(const WipedJson& j, const char* name, std::string* out) {
  auto it = j.find(name);
  if (it != j.end() && it->is_string()) {
    std::string_view v = it->get_ref<const WipedString&>();
    out->assign(v.substr(0, kMaxIdSize));
  } else {
    out->clear();
  }
}

absl::StatusOr<std::string> DecodeBlob(const WipedJson& j) {
  KMS_ASSIGN_OR_RETURN(std::string_view b64,
                       StringField(j, "CiphertextBlob",
                                   internal::Base64EncodedSize(kMaxCiphertextBlobSize)));
  absl::StatusOr<std::string> blob = internal::Base64Decode(b64, kMaxCiphertextBlobSize);
  if (!blob.ok()) return kms_api::MalformedResponse("CiphertextBlob is not valid base64 of at most 8 KiB");
  if (blob->empty()) return kms_api::MalformedResponse("empty CiphertextBlob");
  return blob;
}

// Decodes Plaintext into secret memory; `exact` (when set) is the required length.
absl::Status DecodePlaintext(const WipedJson& j, size_t max, std::optional<size_t> exact,
                             SecretBytes* out) {
  auto it = j.find("Plaintext");
  if (it == j.end() || !it->is_string()) return kms_api::MalformedResponse("no string Plaintext");
  std::string_view b64 = it->get_ref<const WipedString&>();
  absl::StatusOr<SecretBytes> plain = internal::Base64DecodeSecret(internal::Bytes(b64), max);
  if (!plain.ok()) return kms_api::MalformedResponse("Plaintext is not valid base64 within the size limit");
  if (exact.has_value() && plain->size() != *exact) {
    return kms_api::MalformedResponse("Plaintext length differs from the requested data key size");
  }
  *out = std::move(plain).value();
  return absl::OkStatus();
}

}  // namespace remote
}  // namespace kms_envelope
