// The KeyMetadata object of DescribeKey / CreateKey / EnableKey ... answers, built from the
// local key store's metadata. The server and the CLI's `key describe` print the same object.
//
//   nlohmann::json j = KeyMetadataJson<nlohmann::json>(metadata);
//   WipedJson w = KeyMetadataJson<WipedJson>(metadata);   // inside a response with a Plaintext
//
// Contract: the fields and names of Alibaba Cloud KMS's KeyMetadata (DeleteDate only while
// PendingDeletion). `Creator` is kCreator: the service answers with the account that created
// the key; here every key is created by kms-envelope (through the CLI or the server, into the
// same store), so the same key must describe itself the same way on both surfaces, and SDK
// clients of `kms-envelope serve` have always seen "kms-envelope". Thread safe.
#ifndef KMS_ENVELOPE_KMS_API_KEY_METADATA_JSON_H_
#define KMS_ENVELOPE_KMS_API_KEY_METADATA_JSON_H_

#include <string_view>

#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace kms_api {

inline constexpr std::string_view kCreator = "kms-envelope";

template <typename Json>
Json KeyMetadataJson(const local::KeyMetadata& m) {
  Json j = Json::object();
  j["KeyId"] = m.key_id;
  j["Description"] = m.description;
  j["KeyState"] = m.key_state;
  j["CreationDate"] = m.creation_date;
  if (!m.delete_date.empty()) j["DeleteDate"] = m.delete_date;
  j["PrimaryKeyVersion"] = m.primary_key_version;
  j["LastRotationDate"] = m.last_rotation_date;
  j["KeySpec"] = m.key_spec;
  j["KeyUsage"] = m.key_usage;
  j["Origin"] = m.origin;
  j["ProtectionLevel"] = m.protection_level;
  j["Arn"] = m.arn;
  j["Creator"] = kCreator;
  j["AutomaticRotation"] = m.automatic_rotation;
  return j;
}

}  // namespace kms_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_API_KEY_METADATA_JSON_H_
