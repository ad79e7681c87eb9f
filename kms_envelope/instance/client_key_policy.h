// ClientKeyPolicy: the ClientKeys the instance API of `kms-envelope serve` accepts — public keys
// and the CMKs each may use — from the "ClientKeys" array of the server's access file.
//
//   // access.json (next to the AccessKeys of the 2016-01-20 API):
//   // {"AccessKeys": [...],
//   //  "ClientKeys": [{"KeyId": "KAAP.app1", "PublicKey": "-----BEGIN PUBLIC KEY-----\n...",
//   //                  "Keys": ["alias/app1"]}]}
//   KMS_ASSIGN_OR_RETURN(ClientKeyPolicy p, ClientKeyPolicy::FromFile("access.json"));
//   const ClientKeyEntry* e = p.Find("KAAP.app1");
//
// Contract: each entry has exactly KeyId, one of PublicKey (SPKI PEM) / Certificate (PEM), and
// Keys (CMK GUIDs or aliases, "*" = all; empty = none). RSA >= 2048 bits. Unknown members,
// duplicate ids, more than kMaxClientKeys entries: InvalidParameter. A file without a
// "ClientKeys" member is an empty policy (nothing is accepted). Immutable; thread safe.
#ifndef KMS_ENVELOPE_INSTANCE_CLIENT_KEY_POLICY_H_
#define KMS_ENVELOPE_INSTANCE_CLIENT_KEY_POLICY_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kms_envelope/instance/client_key.h"

namespace kms_envelope {
namespace instance {

inline constexpr size_t kMaxClientKeys = 1024;
inline constexpr size_t kMaxPolicyFileSize = 1 << 20;

struct ClientKeyEntry {
  std::string key_id;
  std::shared_ptr<EVP_PKEY> public_key;
  std::vector<std::string> keys;  // CMK GUIDs / aliases, "*" = all
};

class ClientKeyPolicy {
 public:
  [[nodiscard]] static absl::StatusOr<ClientKeyPolicy> FromJson(std::string_view json);
  [[nodiscard]] static absl::StatusOr<ClientKeyPolicy> FromFile(const std::string& path);
  // Adds an entry (tests). InvalidParameter for a duplicate id or a bad key.
  [[nodiscard]] absl::Status Add(std::string_view key_id, std::string_view public_key_pem,
                                 std::vector<std::string> keys);

  const ClientKeyEntry* Find(std::string_view key_id) const;
  size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, ClientKeyEntry, std::less<>> entries_;
};

}  // namespace instance
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INSTANCE_CLIENT_KEY_POLICY_H_
