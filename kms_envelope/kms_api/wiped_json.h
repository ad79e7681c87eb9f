// WipedJson: nlohmann::json whose strings are WipedString, for request and response documents
// that may carry key material (a Plaintext, an AccessKeySecret in a credentials file).
//
//   WipedJson j = WipedJson::parse(body, nullptr, /*allow_exceptions=*/false);
//   std::string_view plaintext_b64 = j["Plaintext"].get_ref<const WipedString&>();
//
// Same limits as WipedString (wiped_string.h). Thread-compatible like nlohmann::json.
#ifndef KMS_ENVELOPE_KMS_API_WIPED_JSON_H_
#define KMS_ENVELOPE_KMS_API_WIPED_JSON_H_

#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "kms_envelope/kms_api/wiped_string.h"

namespace kms_envelope {
namespace kms_api {

using WipedJson = nlohmann::basic_json<std::map, std::vector, WipedString>;

}  // namespace kms_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_API_WIPED_JSON_H_
