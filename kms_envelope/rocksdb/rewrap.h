// Key rotation for encrypted RocksDB directories: re-wrap every file's data key under a new CMK
// version (or another CMK) by rewriting only the file headers, never the contents.
//
//   // after rotating the CMK (its primary version is now the new one):
//   RewrapOptions options;                       // destination_key_id "" = same CMK, new version
//   KMS_ASSIGN_OR_RETURN(RewrapReport report,
//                        RewrapDirectory(provider->manager(), "/var/lib/db", options));
//
// Per file (FileKeyManager::PlanRewrap, then two in-place writes):
//   1. read the 4096-byte prefix, verify it, unwrap the data key;
//   2. ReEncrypt the CiphertextBlob under the destination (Decrypt + Encrypt when the provider
//      cannot re-encrypt), check that the new blob unwraps to the same data key;
//   3. pwrite the new header (generation + 1) into the slot that was NOT used to open the file,
//      fdatasync; then pwrite it into the other slot, fdatasync.
// Crash safety: at every instant at least one slot holds a complete, valid header for the same
// data key. A torn or interrupted write damages at most the slot being written; readers
// (OpenFilePrefix) fall back to the other slot, and running the rewrap again repairs it. The
// contents are never touched, so the database stays readable throughout, including while it is
// open: RocksDB reads a prefix only when it opens a file, and only appends after the prefix.
//
// Limits: one rewrap at a time per directory (two concurrent rewraps of one file could each
// overwrite the slot the other relies on). Files created while the rewrap runs get keys from the
// provider's configured key_id, so rotate (or repoint key_id) before rewrapping. Until the second
// write lands, the old blob is still in the other slot: the old CMK version must stay enabled
// until RewrapDirectory returns.
#ifndef KMS_ENVELOPE_ROCKSDB_REWRAP_H_
#define KMS_ENVELOPE_ROCKSDB_REWRAP_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/rocksdb/file_key_manager.h"

namespace kms_envelope {
namespace rocksdb_encryption {

struct RewrapOptions {
  // CMK (GUID or alias/<name>) to wrap under; "" keeps each file's CMK (its primary version).
  std::string destination_key_id;
};

enum class FileRewrapResult {
  kRewrapped,     // the header now names the destination's current version
  kUpToDate,      // both slots already did; nothing written
  kNotEncrypted,  // no kms_envelope header (e.g. RocksDB's LOCK file, an empty file)
  kVanished,      // deleted before it could be opened (RocksDB removed it)
};

struct RewrapReport {
  size_t files_rewrapped = 0;
  size_t files_up_to_date = 0;
  std::vector<std::string> not_encrypted;  // file names
  std::vector<std::string> vanished;
};

// Re-wraps one file in place. Errors (the header does not verify, the KMS refuses) leave the
// file unchanged.
[[nodiscard]] absl::StatusOr<FileRewrapResult> RewrapFile(FileKeyManager& manager,
                                                          const std::string& path,
                                                          const RewrapOptions& options);

// Re-wraps every regular file directly in `dir`. Stops at the first error (files done so far
// stay re-wrapped, which is safe: they remain readable).
[[nodiscard]] absl::StatusOr<RewrapReport> RewrapDirectory(FileKeyManager& manager,
                                                           const std::string& dir,
                                                           const RewrapOptions& options);

}  // namespace rocksdb_encryption
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ROCKSDB_REWRAP_H_
