// LocalKeyStore: customer master keys (CMKs) kept on this machine, modelled on Alibaba Cloud KMS.
//
//   LocalKeyStoreOptions options;
//   options.directory = "/home/me/.kms-envelope";          // created if missing (0700)
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<LocalKeyStore> store, LocalKeyStore::Open(options));
//   KMS_ASSIGN_OR_RETURN(KeyMetadata cmk, store->CreateKey("backups"));
//   KMS_RETURN_IF_ERROR(store->CreateAlias("alias/backup", cmk.key_id));
//   KMS_ASSIGN_OR_RETURN(std::string new_version, store->RotateKey("alias/backup"));
//
// Model (as the service documents it):
// - A CMK has a GUID (`KeyId`), a description, a state (Enabled, Disabled, PendingDeletion), a
//   creation date and one or more versions (`KeyVersionId`, a UUID) of which one is primary.
//   Rotation adds a version and makes it primary; old versions stay to decrypt old blobs.
// - Aliases `alias/<name>` (kMaxAliasNameSize characters at most, [a-zA-Z0-9:/_-] after the
//   prefix, not `alias/acs...`) point at one CMK; duplicates fail with
//   Rejected.AliasAlreadyExists.
// - State changes: EnableKey/DisableKey on Enabled or Disabled keys; ScheduleKeyDeletion
//   (PendingWindowInDays kMinPendingWindowDays..kMaxPendingWindowDays) from Enabled or Disabled;
//   CancelKeyDeletion from PendingDeletion (the key becomes Enabled). Anything else fails with
//   Rejected.StateModifiedFailed. Unknown keys: Forbidden.KeyNotFound; unknown aliases:
//   Forbidden.AliasNotFound; bad arguments: InvalidParameter.
// - Deletion: the service destroys a PendingDeletion key when its DeleteDate passes. This store
//   does it only when asked (PurgeDeletedKeys, `kms-envelope key purge-deleted`): a machine
//   clock set forward by mistake must not destroy keys by itself. Until purged, a
//   PendingDeletion key can still be restored with CancelKeyDeletion.
// - Dates are ISO-8601 UTC `yyyy-MM-ddTHH:mm:ssZ`.
//
// Persistence (docs/store-format.md): one file `<directory>/keystore.bin`, AEAD-encrypted
// (XChaCha20-Poly1305) under a root key, header authenticated. The root key is either a 32-byte
// file (`<directory>/root.key` or `root_key_file`, created 0600 with O_EXCL on first use) or
// derived from a passphrase with Argon2id (salt and limits stored in the header). Writes are
// atomic (temp file, fsync, rename, directory fsync) and serialized across processes by flock on
// `<directory>/keystore.lock`; every mutation is lock -> reload -> mutate -> write -> unlock, so
// concurrent writers in several processes never lose each other's changes. A missing store
// file is a new, empty store; a truncated, tampered or foreign file, or a wrong root key or
// passphrase, is refused with DataLoss / FailedPrecondition and the file is left untouched.
// Readers pick up other processes' changes: administrative reads re-read the file when it
// changed, the hot path (WithPrimaryVersion / WithVersion) checks at most every
// kRefreshInterval and on a miss.
// - Wrap limit: each version wraps at most `wrap_limit` blobs (AES-GCM with random IVs,
//   wrap_counter.h), counted across every process that uses the store through ranges reserved
//   under the file lock. At the limit the key rotates by itself when its AutomaticRotation is
//   Enabled (the default); otherwise GenerateDataKey / Encrypt under it fail with
//   Rejected.LimitExceeded until it is rotated, while Decrypt goes on.
//
// The pieces, one responsibility each: store_file.h (the file's bytes), store_document.h (its
// JSON document <-> State), root_key.h, store_persistence.h (lock, read, atomic write, change
// detection), key_lifecycle.h (what each call does to the State); this class only orders them
// under its locks. It never sees a CiphertextBlob: LocalKeyProvider seals and opens blobs
// with the version keys the store lends.
//
// Thread safety: all methods may be called concurrently. The hot path runs the lease callback
// under a reader lock, with no disk I/O and no heap allocation.
#ifndef KMS_ENVELOPE_LOCAL_LOCAL_KEY_STORE_H_
#define KMS_ENVELOPE_LOCAL_LOCAL_KEY_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kms_envelope/local/key_metadata.h"
#include "kms_envelope/local/wrap_counter.h"

namespace kms_envelope {
namespace internal {
class AeadKey;  // private: the lease is only for LocalKeyProvider, which includes its header
}  // namespace internal
namespace local {

// How often the hot path looks at the store file for changes made by other processes.
inline constexpr absl::Duration kRefreshInterval = absl::Seconds(1);

// A CMK version's key as the store lends it to LocalKeyProvider for one call: valid only
// inside the callback it is passed to, never to be kept.
struct VersionKeyLease {
  std::string_view key_id;
  std::string_view key_version_id;
  const internal::AeadKey& key;  // AES-256-GCM, key schedule precomputed
};
using LeaseUse = absl::FunctionRef<absl::Status(const VersionKeyLease&)>;

struct LocalKeyStoreOptions {
  // Store directory (created 0700 if missing). Ignored when in_memory.
  std::string directory;
  // Non-empty: derive the root key from this passphrase (Argon2id) instead of a key file.
  std::string passphrase;
  // Root key file; "" = <directory>/root.key. Ignored with a passphrase.
  std::string root_key_file;
  // Tests: no files at all.
  bool in_memory = false;
  // The clock for creation, rotation and deletion dates and for PurgeDeletedKeys; null:
  // absl::Now (tests inject one).
  std::function<absl::Time()> now;
  // Wraps per CMK version before it rotates or refuses (1..kMaxWrapLimit), and the largest
  // range one process reserves at a time (>= 1). Every process using a store should use the
  // same limit: each enforces its own against the shared count.
  uint64_t wrap_limit = kDefaultWrapLimit;
  uint64_t wrap_reservation = kDefaultWrapReservation;
};

class LocalKeyStore {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LocalKeyStore>> Open(
      const LocalKeyStoreOptions& options);
  ~LocalKeyStore();
  LocalKeyStore(const LocalKeyStore&) = delete;
  LocalKeyStore& operator=(const LocalKeyStore&) = delete;

  // Administration (each mutation is persisted before it returns).
  [[nodiscard]] absl::StatusOr<KeyMetadata> CreateKey(std::string_view description);
  [[nodiscard]] absl::StatusOr<KeyMetadata> DescribeKey(std::string_view key_id_or_alias);
  [[nodiscard]] absl::StatusOr<std::vector<KeyMetadata>> ListKeys();  // by creation, oldest first
  [[nodiscard]] absl::StatusOr<KeyMetadata> EnableKey(std::string_view key_id_or_alias);
  [[nodiscard]] absl::StatusOr<KeyMetadata> DisableKey(std::string_view key_id_or_alias);
  [[nodiscard]] absl::StatusOr<KeyMetadata> ScheduleKeyDeletion(std::string_view key_id_or_alias,
                                                                int pending_window_in_days);
  [[nodiscard]] absl::StatusOr<KeyMetadata> CancelKeyDeletion(std::string_view key_id_or_alias);
  // Destroys every PendingDeletion CMK whose DeleteDate has passed: all its versions' key
  // material (wiped in memory; the store file is rewritten without it), its aliases and the
  // key. CiphertextBlobs made under it can never be decrypted again (Forbidden.KeyNotFound /
  // InvalidCiphertext). Returns the purged KeyIds, oldest first; when none is due the store
  // file is not rewritten. Copies of the old store file that the filesystem or backups kept
  // still hold the key (sealed under the root key).
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> PurgeDeletedKeys();
  // CreateKeyVersion: a new primary version; returns its KeyVersionId. Rejected.Disabled /
  // Rejected.PendingDeletion unless the key is Enabled.
  [[nodiscard]] absl::StatusOr<std::string> RotateKey(std::string_view key_id_or_alias);
  // UpdateRotationPolicy: whether the key rotates by itself at the wrap limit (true) or
  // refuses new wraps there (false). For Enabled or Disabled keys.
  [[nodiscard]] absl::StatusOr<KeyMetadata> UpdateRotationPolicy(std::string_view key_id_or_alias,
                                                                 bool enable_automatic_rotation);
  [[nodiscard]] absl::Status CreateAlias(std::string_view alias_name, std::string_view key_id);
  // Points an existing alias at another key (UpdateAlias).
  [[nodiscard]] absl::Status UpdateAlias(std::string_view alias_name, std::string_view key_id);
  [[nodiscard]] absl::Status DeleteAlias(std::string_view alias_name);
  [[nodiscard]] absl::StatusOr<std::vector<AliasMetadata>> ListAliases();  // sorted by name
  [[nodiscard]] absl::StatusOr<std::vector<AliasMetadata>> ListAliasesByKeyId(
      std::string_view key_id_or_alias);

  // Hot path (LocalKeyProvider wraps one key with the lease). Lends the primary version of an
  // Enabled CMK to `use` and returns what `use` returns. Counts one wrap (wrap_counter.h): an
  // atomic decrement, plus a store write once per reserved range; at the limit rotates the
  // key or fails with Rejected.LimitExceeded without calling `use`.
  [[nodiscard]] absl::Status WithPrimaryVersion(std::string_view key_id_or_alias, LeaseUse use);
  // Lends any version of an Enabled CMK by its KeyVersionId (Decrypt): InvalidCiphertext when
  // the store does not hold it. Counts nothing.
  [[nodiscard]] absl::Status WithVersion(std::string_view key_version_id, LeaseUse use);

  // The GUID an id or alias names (Forbidden.KeyNotFound / Forbidden.AliasNotFound).
  [[nodiscard]] absl::StatusOr<std::string> ResolveKeyId(std::string_view key_id_or_alias);

  // The store directory ("" in memory).
  const std::string& directory() const;

 private:
  struct Impl;
  explicit LocalKeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_LOCAL_KEY_STORE_H_
