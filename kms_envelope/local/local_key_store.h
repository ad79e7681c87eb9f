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
// changed, the hot path (SealWithPrimaryVersion/OpenBlob) checks at most every
// kRefreshInterval and on a miss.
// - Wrap limit: each version wraps at most `wrap_limit` blobs (AES-GCM with random IVs,
//   wrap_counter.h), counted across every process that uses the store through ranges reserved
//   under the file lock. At the limit the key rotates by itself when its AutomaticRotation is
//   Enabled (the default); otherwise GenerateDataKey / Encrypt under it fail with
//   Rejected.LimitExceeded until it is rotated, while Decrypt goes on.
//
// Thread safety: all methods may be called concurrently. The hot path holds a reader lock,
// does no disk I/O and no heap allocation when the output strings have capacity.
#ifndef KMS_ENVELOPE_LOCAL_LOCAL_KEY_STORE_H_
#define KMS_ENVELOPE_LOCAL_LOCAL_KEY_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/internal/iso_time.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/local/wrap_counter.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace local {

inline constexpr int kMinPendingWindowDays = 7;
inline constexpr int kMaxPendingWindowDays = 30;
inline constexpr size_t kMaxAliasNameSize = 255;
inline constexpr std::string_view kAliasPrefix = "alias/";
inline constexpr size_t kMaxDescriptionSize = 8192;
// The store file is refused (before reading) when larger than this.
inline constexpr size_t kMaxStoreFileSize = size_t{64} << 20;
// Argon2id parameters for passphrase-derived root keys (libsodium "moderate"-ish, recorded in
// the header so they can change without breaking old stores).
inline constexpr uint64_t kArgon2OpsLimit = 3;
inline constexpr size_t kArgon2MemLimit = size_t{64} << 20;
// How often the hot path looks at the store file for changes made by other processes.
inline constexpr absl::Duration kRefreshInterval = absl::Seconds(1);

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

  // Hot path (used by LocalKeyProvider). Wraps `plaintext` (1..kMaxEncryptPlaintextSize bytes)
  // under the primary version of an Enabled CMK into `blob` (docs/ciphertext-blob.md) with the
  // given 12-byte IV, and sets `key_id` (GUID) and `key_version_id`. Outputs reuse capacity.
  // Counts the wrap (wrap_counter.h): one atomic decrement, plus a store write once per
  // reserved range; at the limit rotates the key or fails with Rejected.LimitExceeded.
  [[nodiscard]] absl::Status SealWithPrimaryVersion(std::string_view key_id_or_alias,
                                                    absl::Span<const uint8_t> plaintext,
                                                    absl::Span<const uint8_t> iv,
                                                    const EncryptionContext& context,
                                                    std::string* key_id,
                                                    std::string* key_version_id,
                                                    std::string* blob);
  // Authenticates and unwraps a CiphertextBlob with the version it names (any version of an
  // Enabled CMK). InvalidCiphertext for anything malformed, unknown or forged.
  [[nodiscard]] absl::Status OpenBlob(absl::Span<const uint8_t> blob,
                                      const EncryptionContext& context, std::string* key_id,
                                      std::string* key_version_id, SecretBytes* plaintext);

  // The GUID an id or alias names (Forbidden.KeyNotFound / Forbidden.AliasNotFound).
  [[nodiscard]] absl::StatusOr<std::string> ResolveKeyId(std::string_view key_id_or_alias);

  // The store directory ("" in memory).
  const std::string& directory() const;

 private:
  struct Impl;
  explicit LocalKeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True for `alias/` + 1.. characters of [a-zA-Z0-9:/_-], at most kMaxAliasNameSize in all, not
// starting with the reserved `alias/acs`.
bool IsValidAliasName(std::string_view alias_name);

// For callers elsewhere in the tree; new code uses internal/iso_time.h and internal/uuid.h.
inline std::string FormatIsoDate(absl::Time t) { return internal::FormatIsoTime(t); }
inline void RandomUuidInto(std::string* out) { internal::RandomUuidInto(out); }
inline void RequestIdInto(std::string* out) { internal::UniqueUuidInto(out); }

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_LOCAL_KEY_STORE_H_
