// The in-memory model of a local key store: CMKs, their versions (with precomputed AES-256-GCM
// key schedules) and aliases, plus lookups over it.
//
//   KMS_ASSIGN_OR_RETURN(const KeyRecord* key, Resolve(state, "alias/backup"));
//   const VersionRecord& primary = key->versions[key->primary];
//   KMS_RETURN_IF_ERROR(CheckUsable(*key));
//
// Plain data without locking: LocalKeyStore publishes a State and never changes it afterwards;
// a mutation works on a Clone (which shares the immutable VersionKeys) and replaces it.
#ifndef KMS_ENVELOPE_LOCAL_STORE_STATE_H_
#define KMS_ENVELOPE_LOCAL_STORE_STATE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/local/key_metadata.h"
#include "kms_envelope/local/wrap_counter.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace local {

inline constexpr size_t kCmkSize = 32;

// One CMK version's key material and its AES-256-GCM key. Immutable apart from `wraps`, which
// counts this process's reserved wraps and so must outlive reloads of the store: reloads
// reuse a VersionKey whose material is unchanged.
struct VersionKey {
  VersionKey(SecretBytes m, internal::AeadKey a) : material(std::move(m)), aead(std::move(a)) {}
  SecretBytes material;
  internal::AeadKey aead;
  mutable WrapAllowance wraps;
};

// kCmkSize bytes of material; the key schedule is expanded once, here, into locked memory.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const VersionKey>> MakeVersionKey(
    SecretBytes material);
[[nodiscard]] absl::StatusOr<std::shared_ptr<const VersionKey>> NewRandomVersionKey();

struct VersionRecord {
  std::string id;
  std::string creation_date;
  std::shared_ptr<const VersionKey> key;
  uint64_t wraps_reserved = 0;  // by all processes (persisted)
};

struct KeyRecord {
  std::string key_id, description, state, creation_date, delete_date, last_rotation_date;
  std::vector<VersionRecord> versions;
  size_t primary = 0;  // index into versions
  bool automatic_rotation = true;
};

struct VersionRef {
  const KeyRecord* key;
  const VersionRecord* version;
};

struct State {
  std::map<std::string, KeyRecord, std::less<>> keys;
  std::vector<std::string> key_order;  // creation order
  std::map<std::string, std::string, std::less<>> aliases;
  std::map<std::string, VersionRef, std::less<>> by_version;  // rebuilt by Reindex

  void Reindex();
  std::unique_ptr<State> Clone() const;
};

// The key an id or alias names: Forbidden.KeyNotFound / Forbidden.AliasNotFound /
// InvalidParameter (empty). No allocation on success.
[[nodiscard]] absl::StatusOr<const KeyRecord*> Resolve(const State& state,
                                                      std::string_view key_id_or_alias);
[[nodiscard]] absl::StatusOr<KeyRecord*> ResolveMutable(State& state,
                                                       std::string_view key_id_or_alias);
// The version a CiphertextBlob names: InvalidCiphertext when the store does not hold it.
[[nodiscard]] absl::StatusOr<VersionRef> ResolveVersion(const State& state,
                                                       std::string_view key_version_id);
// True for the failures of Resolve / ResolveVersion that another process's change can cure.
bool IsLookupMiss(const absl::Status& status);

// OK for an Enabled key; Rejected.Disabled / Rejected.PendingDeletion otherwise.
[[nodiscard]] absl::Status CheckUsable(const KeyRecord& key);

KeyMetadata ToMetadata(const KeyRecord& key);
AliasMetadata ToAliasMetadata(const std::string& alias_name, const std::string& key_id);

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_STORE_STATE_H_
