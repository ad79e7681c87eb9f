// Helpers for the RocksDB encryption tests: a real local KMS (LocalKeyStore + LocalKeyProvider)
// in a directory under $TEST_TMPDIR, and raw file inspection.
#ifndef KMS_ENVELOPE_TESTS_ROCKSDB_ROCKSDB_TEST_UTIL_H_
#define KMS_ENVELOPE_TESTS_ROCKSDB_ROCKSDB_TEST_UTIL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace rocksdb_test {

// One local KMS (its own store, own root key) with one CMK.
struct TestKms {
  std::shared_ptr<KeyProvider> provider;
  std::string key_id;  // CMK GUID
  std::string dir;
  std::shared_ptr<void> store;  // keeps the store alive (type-erased)
  // Creates another CMK in the same store; returns its GUID.
  std::function<absl::StatusOr<std::string>()> create_key;
  // Rotates a CMK: a new primary version; returns the new version id.
  std::function<absl::StatusOr<std::string>(const std::string&)> rotate_key;
};

// A fresh local KMS under $TEST_TMPDIR/<name>.
absl::StatusOr<TestKms> NewTestKms(const std::string& name);

// $TEST_TMPDIR (or /tmp) joined with `name`.
std::string TempPath(const std::string& name);

// Names of the regular files directly in `dir`, sorted.
std::vector<std::string> ListFiles(const std::string& dir);

// The whole file; "" if it cannot be read.
std::string ReadWholeFile(const std::string& path);

// Overwrites bytes at `offset`.
absl::Status PatchFile(const std::string& path, size_t offset, const std::string& bytes);

}  // namespace rocksdb_test
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_ROCKSDB_ROCKSDB_TEST_UTIL_H_
