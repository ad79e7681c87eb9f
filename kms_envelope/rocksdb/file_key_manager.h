// FileKeyManager: per-file envelope data keys for encrypted storage files (the engine-neutral core
// of the RocksDB EncryptionProvider in encryption_provider.h, also used by the rewrap tool).
//
//   FileKeyManagerOptions options;
//   options.key_id = "alias/rocksdb";
//   KMS_ASSIGN_OR_RETURN(auto manager, FileKeyManager::New(provider, options));
//   KMS_ASSIGN_OR_RETURN(std::string prefix, manager->NewFilePrefix());   // write at offset 0
//   KMS_ASSIGN_OR_RETURN(OpenedFile file, manager->OpenFilePrefix(prefix));
//   KMS_RETURN_IF_ERROR(file.cipher->Apply(offset, bytes));              // contents at offset
//
// Contract:
// - NewFilePrefix asks the KeyProvider for a fresh 32-byte data key (GenerateDataKey under
//   options.key_id with options.encryption_context) and returns the kFilePrefixSize-byte prefix
//   (two identical header slots, file_header.h). The plaintext data key only lives in SecretBytes.
// - OpenFilePrefix parses both slots, unwraps the data key of the newest one through the
//   provider (KeyProvider::Decrypt with the same encryption context), checks the header tag,
//   and returns the contents cipher. A slot that fails (torn by an interrupted rewrap, or
//   modified) is skipped when the other slot verifies; `degraded` reports that. When no slot
//   verifies the error says why (no header, header authentication failed, provider could not
//   unwrap the key (its KMS code is kept), wrong provider, CMK not allowed).
// - What is authenticated: the header (all fields, HMAC-SHA256 under a key derived from the data
//   key). NOT authenticated: the file contents (a malleable stream cipher; see
//   docs/rocksdb.md). RocksDB's block checksums are the integrity layer for contents.
// - Unwrap cache: unwrapped data keys are kept (SecretBytes, keyed by CiphertextBlob) for
//   options.unwrap_cache_ttl, at most options.unwrap_cache_capacity entries (LRU), so opening a
//   file does not call the KMS each time; a key created by NewFilePrefix goes straight into it.
// - Only CMKs in options.allowed_key_ids (GUIDs; empty = any) are ever asked to unwrap a key named
//   in a header, so a forged header cannot make us call an arbitrary CMK.
// - Thread safety: all methods may be called concurrently.
#ifndef KMS_ENVELOPE_ROCKSDB_FILE_KEY_MANAGER_H_
#define KMS_ENVELOPE_ROCKSDB_FILE_KEY_MANAGER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/rocksdb/file_header.h"
#include "kms_envelope/rocksdb/file_stream_cipher.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace rocksdb_encryption {

inline constexpr size_t kDefaultUnwrapCacheCapacity = 4096;
inline constexpr size_t kMaxUnwrapCacheCapacity = 1 << 20;
inline constexpr absl::Duration kDefaultUnwrapCacheTtl = absl::Minutes(15);

// The encryption context bound to every file key when the options name none.
inline constexpr std::string_view kDefaultFileContextKey = "kms-envelope:purpose";
inline constexpr std::string_view kDefaultFileContextValue = "rocksdb-file";

struct FileKeyManagerOptions {
  // CMK (GUID or alias/<name>) that wraps the data keys of new files. Required.
  std::string key_id;
  FileCipherId cipher = FileCipherId::kAes256Ctr;
  // Bound to every wrapped file key; the same context is needed to open the files. Defaults to
  // {"kms-envelope:purpose": "rocksdb-file"} when left empty.
  EncryptionContext encryption_context;
  // CMK GUIDs whose wrapped keys we agree to unwrap; empty = any.
  std::vector<std::string> allowed_key_ids;
  size_t unwrap_cache_capacity = kDefaultUnwrapCacheCapacity;  // 0 disables the cache
  absl::Duration unwrap_cache_ttl = kDefaultUnwrapCacheTtl;
};

struct OpenedFile {
  std::unique_ptr<FileStreamCipher> cipher;
  FileHeader header;      // the header that verified
  size_t slot = 0;        // which slot it came from
  bool degraded = false;  // the other slot did not verify
};

// What a rewrap of one file's prefix will write.
struct RewrapPlan {
  // Both slots already hold the same valid header wrapped under the destination CMK's current
  // version: nothing to write.
  bool up_to_date = false;
  FileHeader old_header;
  FileHeader new_header;
  std::string new_slot;   // kFileHeaderSlotSize bytes (empty when up_to_date)
  size_t first_slot = 0;  // write new_slot here first, sync, then into the other slot, sync
};

struct FileKeyManagerStats {
  uint64_t data_keys_generated = 0;  // GenerateDataKey calls
  uint64_t provider_decrypts = 0;    // Decrypt calls that reached the provider
  uint64_t cache_hits = 0;           // unwraps served by the cache
  uint64_t files_opened = 0;         // successful OpenFilePrefix calls
  uint64_t degraded_opens = 0;       // ... of which with one bad slot
};

class FileKeyManager {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<FileKeyManager>> New(
      std::shared_ptr<KeyProvider> provider, FileKeyManagerOptions options);

  // A prefix (kFilePrefixSize bytes) for a new file, under a fresh data key.
  [[nodiscard]] absl::StatusOr<std::string> NewFilePrefix();

  // Verifies the prefix of an existing file and returns its contents cipher.
  [[nodiscard]] absl::StatusOr<OpenedFile> OpenFilePrefix(absl::Span<const uint8_t> prefix);

  // Plans re-wrapping the file's data key under `destination_key_id` ("" = the CMK named in the
  // header, i.e. its current primary version). Uses KeyProvider::ReEncrypt, or Decrypt + Encrypt
  // when the provider cannot re-encrypt; checks that the new blob unwraps to the same data key
  // before returning. The file contents are untouched (same data key, same salt).
  [[nodiscard]] absl::StatusOr<RewrapPlan> PlanRewrap(absl::Span<const uint8_t> prefix,
                                                      std::string_view destination_key_id);

  FileKeyManagerStats stats() const;
  const FileKeyManagerOptions& options() const { return options_; }
  KeyProvider& provider() const { return *provider_; }

 private:
  struct CacheEntry {
    SecretBytes data_key;
    std::string key_id;
    std::string key_version_id;
    absl::Time expires;
    std::list<std::string>::iterator lru;
  };
  struct Verified {
    FileHeader header;
    SecretBytes data_key;
    FileKeys keys;
    size_t slot = 0;
    bool degraded = false;
  };

  FileKeyManager(std::shared_ptr<KeyProvider> provider, FileKeyManagerOptions options);

  absl::StatusOr<Verified> VerifyPrefix(absl::Span<const uint8_t> prefix);
  absl::Status VerifySlot(const ParsedFileHeader& parsed, Verified* out);
  // The data key of `blob` (cache, else provider). Sets *key_id to the CMK that wrapped it.
  // One provider Decrypt of a file's blob under the manager's context (counted in stats).
  absl::Status DecryptBlob(std::string_view blob, DecryptResponse* response);
  absl::StatusOr<SecretBytes> Unwrap(const std::string& blob, std::string* key_id);
  void CachePut(const std::string& blob, const SecretBytes& data_key, const std::string& key_id,
                const std::string& key_version_id);
  bool KeyAllowed(std::string_view key_id) const;

  std::shared_ptr<KeyProvider> provider_;
  FileKeyManagerOptions options_;

  mutable std::mutex cache_mu_;
  std::unordered_map<std::string, CacheEntry> cache_;
  std::list<std::string> lru_;  // front = most recently used

  std::atomic<uint64_t> data_keys_generated_{0};
  std::atomic<uint64_t> provider_decrypts_{0};
  std::atomic<uint64_t> cache_hits_{0};
  std::atomic<uint64_t> files_opened_{0};
  std::atomic<uint64_t> degraded_opens_{0};
};

}  // namespace rocksdb_encryption
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ROCKSDB_FILE_KEY_MANAGER_H_
