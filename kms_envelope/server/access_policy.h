// Access keys and per-key policy of `kms-envelope serve`.
//
//   // access.json:
//   // {"AccessKeys": [
//   //    {"AccessKeyId": "app1", "AccessKeySecret": "s3cret",
//   //     "Actions": ["GenerateDataKey", "Decrypt"], "Keys": ["alias/app1", "<guid>"]},
//   //    {"AccessKeyId": "admin", "AccessKeySecret": "...", "Actions": ["*"], "Keys": ["*"]},
//    {"AccessKeyId": "STS.app1", "AccessKeySecret": "...", "SecurityToken": "tok", ...}]}
//   KMS_ASSIGN_OR_RETURN(AccessPolicy policy, AccessPolicy::FromFile("access.json"));
//   const AccessKey* key = policy.Find("app1");
//   bool ok = key->AllowsAction("Decrypt");
//
// Contract:
// - Secrets live in SecretBytes; the file is parsed from a wiped buffer. At most kMaxAccessKeys
//   keys; ids unique; secrets non-empty. "Actions" and "Keys" default to nothing (deny); "*"
//   allows everything. Key entries are CMK GUIDs or `alias/<name>`; the server resolves aliases
//   when it checks (an entry `alias/x` allows the CMK the alias points at now).
// - "SecurityToken" (optional) binds an STS token to the key: every request of that key must
//   carry exactly it, and a request of a key without one must carry none (the server checks
//   with MatchesSecurityToken; the token is compared in constant time).
// - Immutable after construction; safe to share between threads.
#ifndef KMS_ENVELOPE_SERVER_ACCESS_POLICY_H_
#define KMS_ENVELOPE_SERVER_ACCESS_POLICY_H_

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace server {

inline constexpr size_t kMaxAccessKeys = 1024;
inline constexpr size_t kMaxAccessFileSize = 1 << 20;

struct AccessKey {
  std::string access_key_id;
  SecretBytes access_key_secret;
  std::set<std::string> actions;  // "*" = all
  std::vector<std::string> keys;  // CMK GUIDs / aliases, "*" = all
  SecretBytes security_token;     // empty: the key takes no SecurityToken

  bool AllowsAction(std::string_view action) const {
    return actions.count("*") > 0 || actions.count(std::string(action)) > 0;
  }
  bool AllowsAllKeys() const;
  // True when `token` (empty: none was sent) is the one bound to the key.
  bool MatchesSecurityToken(std::string_view token) const;
};

class AccessPolicy {
 public:
  AccessPolicy() = default;
  AccessPolicy(AccessPolicy&&) = default;
  AccessPolicy& operator=(AccessPolicy&&) = default;

  [[nodiscard]] static absl::StatusOr<AccessPolicy> FromJson(std::string_view json);
  [[nodiscard]] static absl::StatusOr<AccessPolicy> FromFile(const std::string& path);

  // Adds a key (tests, programmatic setup). InvalidParameter for a duplicate id or empty secret.
  [[nodiscard]] absl::Status Add(std::string_view access_key_id, std::string_view secret,
                                 std::vector<std::string> actions, std::vector<std::string> keys,
                                 std::string_view security_token = {});

  // The key with this id, or nullptr.
  const AccessKey* Find(std::string_view access_key_id) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<std::string, AccessKey, std::less<>> keys_;
};

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_ACCESS_POLICY_H_
