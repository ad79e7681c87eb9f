// The vocabulary of the local key store as Alibaba Cloud KMS documents it: key states, alias
// rules, limits, and the metadata DescribeKey / ListAliases return.
//
//   if (!IsValidAliasName(name)) return KmsError(kms_code::kInvalidParameter, ...);
//   KeyMetadata m = ...;  // m.key_state == kKeyStateEnabled
//
// Dates are ISO-8601 UTC `yyyy-MM-ddTHH:mm:ssZ` (internal/iso_time.h).
#ifndef KMS_ENVELOPE_LOCAL_KEY_METADATA_H_
#define KMS_ENVELOPE_LOCAL_KEY_METADATA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kms_envelope/kms_api/key_id.h"

namespace kms_envelope {
namespace local {

inline constexpr int kMinPendingWindowDays = 7;
inline constexpr int kMaxPendingWindowDays = 30;
inline constexpr size_t kMaxAliasNameSize = kms_api::kMaxAliasNameSize;
inline constexpr std::string_view kAliasPrefix = kms_api::kAliasPrefix;
inline constexpr size_t kMaxDescriptionSize = 8192;

inline constexpr std::string_view kKeyStateEnabled = "Enabled";
inline constexpr std::string_view kKeyStateDisabled = "Disabled";
inline constexpr std::string_view kKeyStatePendingDeletion = "PendingDeletion";
inline constexpr std::string_view kAutomaticRotationEnabled = "Enabled";
inline constexpr std::string_view kAutomaticRotationDisabled = "Disabled";

struct KeyMetadata {
  std::string key_id;               // KeyId (GUID)
  std::string description;          // Description
  std::string key_state;            // KeyState
  std::string creation_date;        // CreationDate
  std::string delete_date;          // DeleteDate ("" unless PendingDeletion)
  std::string primary_key_version;  // PrimaryKeyVersion
  std::string last_rotation_date;   // LastRotationDate
  std::string key_spec = "Aliyun_AES_256";
  std::string key_usage = "ENCRYPT/DECRYPT";
  std::string origin = "Aliyun_KMS";
  std::string protection_level = "SOFTWARE";
  std::string arn;                  // Arn: acs:kms:local:0:key/<KeyId>
  std::vector<std::string> key_version_ids;  // oldest first
  // "Enabled": the key rotates by itself when its primary version reaches the wrap limit.
  std::string automatic_rotation = std::string(kAutomaticRotationEnabled);
  // Wraps all processes reserved under the primary version (>= the blobs it wrapped: the
  // unspent rest of a process's range counts as used).
  uint64_t primary_key_version_wrap_count = 0;
};

struct AliasMetadata {
  std::string alias_name;  // AliasName
  std::string alias_arn;   // AliasArn: acs:kms:local:0:<AliasName>
  std::string key_id;      // KeyId
};

// True for `alias/` + 1.. characters of [a-zA-Z0-9:/_-], at most kMaxAliasNameSize in all, not
// starting with the reserved `alias/acs` (the service's rule, kms_api/key_id.h).
using kms_api::IsValidAliasName;

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_KEY_METADATA_H_
