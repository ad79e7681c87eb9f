// Fuzz target: the CiphertextBlob parser and LocalKeyProvider::Decrypt on arbitrary blob bytes,
// against the fixed TEST-ONLY store (fuzz_store.h).
//
// Invariants:
// - ParseCiphertextBlob accepts only well-formed layouts: a 36-byte UUID, a 12-byte IV, a
//   ciphertext of 4k base64 bytes (k >= 1) and a 16-byte tag, summing to the input size, within
//   kMinCiphertextBlobSize..kMaxCiphertextBlobSize.
// - Decrypt fails with InvalidCiphertext (or Rejected.Disabled for the disabled CMK) unless the
//   blob parses; when it succeeds, the blob names a version of an enabled fixed CMK, the response
//   names that CMK and version, and the plaintext is one the corpus generator sealed
//   (self-checking). A successful Decrypt under the empty context is impossible (every seed is
//   bound to SeedContext()).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/types/span.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_store.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/ciphertext_blob.h"

namespace {

using namespace kms_envelope;  // NOLINT: a fuzz target, not library code

std::shared_ptr<local::LocalKeyProvider> g_provider;

int g_deep = 0;  // inputs that reached the deep path (KmsFuzzReplayCheck)

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_provider = fuzz::OpenProvider(fuzz::MakeFixedStoreDir());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::Span<const uint8_t> blob(data, size);
  auto parsed = local::ParseCiphertextBlob(blob);
  if (parsed.ok()) {
    FUZZ_CHECK(size >= local::kMinCiphertextBlobSize && size <= kMaxCiphertextBlobSize);
    FUZZ_CHECK(parsed->key_version_id.size() == local::kKeyVersionIdSize);
    FUZZ_CHECK(internal::IsUuid(parsed->key_version_id));
    FUZZ_CHECK(parsed->iv.size() == local::kBlobIvSize);
    FUZZ_CHECK(parsed->ciphertext_and_tag.size() >= 4 + local::kBlobTagSize);
    FUZZ_CHECK((parsed->ciphertext_and_tag.size() - local::kBlobTagSize) % 4 == 0);
    FUZZ_CHECK(parsed->key_version_id.size() + parsed->iv.size() +
                   parsed->ciphertext_and_tag.size() == size);
    // Views into the input, in order.
    FUZZ_CHECK(reinterpret_cast<const uint8_t*>(parsed->key_version_id.data()) == data);
    FUZZ_CHECK(parsed->iv.data() == data + local::kKeyVersionIdSize);
  } else {
    FUZZ_CHECK(GetKmsErrorCode(parsed.status()) == kms_code::kInvalidCiphertext);
  }

  DecryptRequest request;
  request.ciphertext_blob = blob;
  request.encryption_context = &fuzz::SeedContext();
  DecryptResponse response;
  absl::Status status = g_provider->DecryptInto(request, &response);
  if (status.ok()) {
    ++g_deep;
    FUZZ_CHECK(parsed.ok());
    const std::string version(parsed->key_version_id);
    FUZZ_CHECK(response.key_version_id == version);
    if (response.key_id == fuzz::kEnabledKeyId) {
      FUZZ_CHECK(version == fuzz::kEnabledKeyOldVersion ||
                 version == fuzz::kEnabledKeyPrimaryVersion);
    } else {
      FUZZ_CHECK(response.key_id == fuzz::kSecondKeyId && version == fuzz::kSecondKeyVersion);
    }
    FUZZ_CHECK(fuzz::IsSelfChecking(response.plaintext.span()));
    FUZZ_CHECK(!response.plaintext.empty());
  } else {
    const std::string code = GetKmsErrorCode(status);
    FUZZ_CHECK(code == kms_code::kInvalidCiphertext || code == kms_code::kDisabled);
    if (code == kms_code::kDisabled) {
      FUZZ_CHECK(parsed.ok() && parsed->key_version_id == fuzz::kDisabledKeyVersion);
    }
  }

  request.encryption_context = nullptr;  // the empty context: never what a seed was bound to
  absl::Status empty = g_provider->DecryptInto(request, &response);
  FUZZ_CHECK(!empty.ok());
  return 0;
}

extern "C" int KmsFuzzReplayCheck() {
  if (g_deep >= 4) return 0;
  std::fprintf(stderr, "only %d seeds decrypted (expected at least 4)\n", g_deep);
  return 1;
}
