// KeyPolicy: which CMKs an access key of `kms-envelope serve` may use, decided before anything
// is decrypted, changed or listed.
//
//   KeyPolicy policy(store, access_key);
//   KMS_RETURN_IF_ERROR(policy.CheckKey("alias/app1"));        // KeyId-style parameters
//   KMS_RETURN_IF_ERROR(policy.CheckBlob(ciphertext_blob));     // the CMK a blob names
//   if (policy.AllowsKeyId(guid)) ...                           // ListKeys / ListAliases
//
// Contract:
// - One answer for every CMK the key may not use: Forbidden.NoPermission "this AccessKey may not
//   use that CMK", whether the CMK exists, is disabled, pending deletion, or the blob names an
//   unknown version. Nothing is decrypted before this check, so a caller cannot learn a key's
//   state or test context guesses on keys outside its policy.
// - Policy entries are CMK GUIDs or aliases; an alias entry allows the CMK the alias points at
//   when the check runs. A literal match of an entry (a requested alias that does not exist yet)
//   is allowed: the action then reports it missing.
// - CheckBlob reads only the version id in the blob's clear header (ParseCiphertextBlob); a
//   malformed blob is InvalidCiphertext, which says nothing about any CMK.
// - A key with "*" is allowed everything without touching the store.
// - Borrows the store and the key; not thread safe itself (make one per request).
#ifndef KMS_ENVELOPE_SERVER_KEY_POLICY_H_
#define KMS_ENVELOPE_SERVER_KEY_POLICY_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/server/access_policy.h"

namespace kms_envelope {
namespace server {

class KeyPolicy {
 public:
  KeyPolicy(local::LocalKeyStore& store, const AccessKey& key) : store_(store), key_(key) {}

  // For a KeyId / DestinationKeyId parameter (GUID or alias).
  [[nodiscard]] absl::Status CheckKey(std::string_view requested);
  // For a CiphertextBlob (raw bytes): the CMK whose version the blob names.
  [[nodiscard]] absl::Status CheckBlob(absl::Span<const uint8_t> blob);
  // For listings: may the key see the CMK with this GUID?
  bool AllowsKeyId(const std::string& guid);

 private:
  // The GUIDs the policy entries name now (resolved once per request).
  const std::set<std::string>& AllowedGuids();

  local::LocalKeyStore& store_;
  const AccessKey& key_;
  std::optional<std::set<std::string>> allowed_;
};

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_KEY_POLICY_H_
