// Shared helpers for the envelope tests: real local KMS instances (LocalKeyStore +
// LocalKeyProvider) under $TEST_TMPDIR, deterministic plaintexts, small assertions.
#ifndef KMS_ENVELOPE_TESTS_ENVELOPE_ENVELOPE_TEST_UTIL_H_
#define KMS_ENVELOPE_TESTS_ENVELOPE_ENVELOPE_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace envelope_test {

// One local KMS with one CMK in it.
struct TestKms {
  std::shared_ptr<KeyProvider> provider;
  std::string key_id;  // CMK GUID
  std::string alias;   // "alias/<name>" naming the same CMK
  std::string dir;     // store directory ("" when in memory)
  // Creates another CMK in the same store; returns its GUID.
  std::function<absl::StatusOr<std::string>()> create_key;
  // Rotates `key_id` (new primary version).
  std::function<absl::Status(const std::string&)> rotate_key;
};

// A fresh local store (in memory when `name` is empty, else under $TEST_TMPDIR/<name>).
absl::StatusOr<TestKms> NewTestKms(const std::string& name = "");

// Opens an existing store directory (holding store.kmse and root.key; the golden vectors'
// checked-in store, copied to a writable place first). key_id/alias stay empty.
absl::StatusOr<TestKms> OpenTestKmsAt(const std::string& dir);

// Deterministic plaintext: byte i = (i * 131 + seed) mod 251 (no period aligned with frames).
std::string TestPlaintext(size_t size, uint8_t seed = 7);

// $TEST_TMPDIR (or /tmp) joined with `name`.
std::string TempPath(const std::string& name);

// Whole-file helpers for test fixtures (a missing file reads as "").
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

}  // namespace envelope_test
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_ENVELOPE_ENVELOPE_TEST_UTIL_H_
