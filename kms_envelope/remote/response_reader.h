// How RemoteKeyProvider reads a KMS answer: the HTTP status and body of one exchange turned into
// the parsed document or the KMS error, and the checked fields of a success document.
//
//   Attempt a;
//   ClassifyResponse(http.body, http.http_status, &a);   // a.status, a.retryable, a.body
//   KMS_RETURN_IF_ERROR(CheckKeyId(a.body, request.key_id, &response->key_id));
//
// Contract: a body is JSON, or XML read as its JSON twin (kms_api/xml_response.h). A 200 without
// a Code is success only when it parses to an object; an error's Code, Message and RequestId are
// bounded and become KmsError(Code, "<Message> (RequestId: <id>)"); a 5xx without a Code is
// InternalFailure. Every field a caller uses is checked (present, a string, bounded; the KeyId
// must be the one requested unless an alias was; a Plaintext must have the exact size asked for)
// and refused as DataLoss "malformed KMS response" otherwise. Plaintexts decode straight into
// SecretBytes. Thread safe (no state).
#ifndef KMS_ENVELOPE_REMOTE_RESPONSE_READER_H_
#define KMS_ENVELOPE_REMOTE_RESPONSE_READER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/kms_api/http_client.h"
#include "kms_envelope/kms_api/wiped_json.h"
#include "kms_envelope/kms_api/wiped_string.h"
#include "kms_envelope/secret_bytes.h"
#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace remote {

inline constexpr size_t kMaxErrorFieldSize = 1024;

// The outcome of one HTTP exchange.
struct Attempt {
  absl::Status status;
  bool retryable = false;
  kms_api::WipedJson body;
};

// A complete HTTP answer -> the parsed body (JSON, or XML as its JSON twin) or the KMS error.
void ClassifyResponse(const kms_api::WipedString& body, long http_status, Attempt* result);

// A string field of the response: present, a string, 1..max bytes.
absl::StatusOr<std::string_view> StringField(const kms_api::WipedJson& j, const char* name,
                                             size_t max);
// The answer's KeyId: the requested key's (unless an alias was requested), into *out.
absl::Status CheckKeyId(const kms_api::WipedJson& j, std::string_view requested, std::string* out);
absl::Status CopyField(const kms_api::WipedJson& j, const char* name, std::string* out);
// A bounded copy of an optional string field; "" when absent.
void OptionalField(const kms_api::WipedJson& j, const char* name, std::string* out);
absl::StatusOr<std::string> DecodeBlob(const kms_api::WipedJson& j);
// Decodes Plaintext into secret memory; `exact` (when set) is the required length.
absl::Status DecodePlaintext(const kms_api::WipedJson& j, size_t max, std::optional<size_t> exact,
                             SecretBytes* out);

// The fields of a response that returns a wrapped key and must not carry a plaintext
// (GenerateDataKeyWithoutPlaintext, Encrypt, ReEncrypt): KeyId (the requested key),
// KeyVersionId, CiphertextBlob and the optional RequestId.
template <typename Response>
absl::Status ParseWrappedKeyResponse(const kms_api::WipedJson& j, std::string_view requested_key_id,
                                     Response* out) {
  if (j.contains("Plaintext")) return kms_api::MalformedResponse("unexpected Plaintext");
  KMS_RETURN_IF_ERROR(CheckKeyId(j, requested_key_id, &out->key_id));
  KMS_RETURN_IF_ERROR(CopyField(j, "KeyVersionId", &out->key_version_id));
  KMS_ASSIGN_OR_RETURN(out->ciphertext_blob, DecodeBlob(j));
  OptionalField(j, "RequestId", &out->request_id);
  return absl::OkStatus();
}

}  // namespace remote
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_REMOTE_RESPONSE_READER_H_
