// Key identifiers of the KMS API: a CMK is named by its KeyId (a GUID) or by an alias
// `alias/<name>`; this is the one place that tells them apart and says what an alias may be.
//
//   if (IsAlias(request.key_id)) ...            // the response may name the GUID behind it
//   if (!IsValidAliasName(name)) return KmsError(kms_code::kInvalidParameter, ...);
//
// Contract: IsAlias only looks at the prefix (any KeyId starting with `alias/` is an alias
// reference, valid or not: the service decides whether it exists). IsValidAliasName is the
// rule for creating one: `alias/` + 1.. characters of [a-zA-Z0-9:/_-], at most
// kMaxAliasNameSize characters in all, not starting with the reserved `alias/acs`. Thread safe.
#ifndef KMS_ENVELOPE_KMS_API_KEY_ID_H_
#define KMS_ENVELOPE_KMS_API_KEY_ID_H_

#include <cstddef>
#include <string_view>

namespace kms_envelope {
namespace kms_api {

inline constexpr std::string_view kAliasPrefix = "alias/";
inline constexpr std::string_view kReservedAliasPrefix = "alias/acs";
inline constexpr size_t kMaxAliasNameSize = 255;
// The longest KeyId, KeyVersionId or RequestId a client accepts in an answer (bounds what it
// copies; real ones are 36-character UUIDs or alias names).
inline constexpr size_t kMaxIdSize = 256;

// True when `key_id` names an alias rather than a GUID.
bool IsAlias(std::string_view key_id);

bool IsValidAliasName(std::string_view alias_name);

}  // namespace kms_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_API_KEY_ID_H_
