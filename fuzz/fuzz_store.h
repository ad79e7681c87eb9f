// A fixed, TEST-ONLY local KMS for the fuzz targets: a key store whose root key and CMK
// material are constants in fuzz_store.cc, published on purpose (they protect nothing but the
// seed corpora). Every run of every fuzz target, and the corpus generator, sees the same CMKs,
// so messages and blobs sealed into fuzz/corpus once stay openable.
//
//   std::string dir = fuzz::MakeFixedStoreDir();           // root.key + keystore.bin, 0700
//   auto provider = fuzz::OpenFixedProvider(dir);          // LocalKeyProvider over it
//
// The store file is written here from its documented layout (docs/store-format.md: 72-byte
// header authenticated as AAD, XChaCha20-Poly1305 under the root key, JSON document), not by
// LocalKeyStore, so the loader is checked against an independent writer too.
//
// Oracle for "Open returns exactly what was sealed": every plaintext the corpus generator seals
// under these CMKs is self-checking (SelfCheckingPlaintext): 16 bytes of BLAKE2b-128 over the
// rest, then the rest. Nothing else holds the CMKs, so an Open that succeeds but returns bytes
// failing IsSelfChecking released something that was never sealed.
#ifndef KMS_ENVELOPE_FUZZ_FUZZ_STORE_H_
#define KMS_ENVELOPE_FUZZ_FUZZ_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/types/span.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/local/local_key_provider.h"

namespace kms_envelope {
namespace fuzz {

// The fixed CMKs.
inline constexpr std::string_view kEnabledKeyId = "5e1a4b3c-0f2d-4e6a-9b8c-7d6e5f4a3b21";
inline constexpr std::string_view kEnabledKeyOldVersion = "11111111-2222-4333-8444-555555555555";
inline constexpr std::string_view kEnabledKeyPrimaryVersion = "86a9efd9-3d16-4894-bd4f-1fc43f3f2abf";
inline constexpr std::string_view kSecondKeyId = "6f2b5c4d-1a3e-4f7b-8c9d-8e7f6a5b4c32";
inline constexpr std::string_view kSecondKeyVersion = "22222222-3333-4444-8555-666666666666";
inline constexpr std::string_view kDisabledKeyId = "7a3c6d5e-2b4f-4a8c-9dae-9f8a7b6c5d43";
inline constexpr std::string_view kDisabledKeyVersion = "33333333-4444-4555-8666-777777777777";
inline constexpr std::string_view kAlias = "alias/fuzz";

// The context every seed message and blob is sealed with.
const EncryptionContext& SeedContext();

// The root key (32 bytes).
absl::Span<const uint8_t> RootKey();
// The store's JSON document (what LocalKeyStore keeps encrypted in keystore.bin).
const std::string& StoreDocument();
// A complete keystore.bin sealing `document` under RootKey().
std::string SealStoreFile(std::string_view document);

// Writes root.key (0600) and keystore.bin (sealing `document`) into a fresh directory under
// $TEST_TMPDIR or /tmp and returns its path. Exits the process on I/O failure.
std::string MakeStoreDir(std::string_view document);
inline std::string MakeFixedStoreDir() { return MakeStoreDir(StoreDocument()); }

// A LocalKeyProvider over the store in `dir`. Exits the process if it cannot be opened.
std::shared_ptr<local::LocalKeyProvider> OpenProvider(const std::string& dir);

// The self-checking plaintext oracle (see above). `body` may be empty.
std::string SelfCheckingPlaintext(std::string_view body);
bool IsSelfChecking(absl::Span<const uint8_t> plaintext);

}  // namespace fuzz
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_FUZZ_FUZZ_STORE_H_
