// The key store file (`keystore.bin`, docs/store-format.md) as bytes: the header layout, its
// bounds, and sealing / opening the document under the root key. No I/O: persistence reads
// and writes whole files, and //fuzz:store_file_fuzzer feeds ParseStoreFile directly.
//
//   KMS_ASSIGN_OR_RETURN(StoreFileView view, ParseStoreFile(file_bytes));
//   // ... obtain the root key for view.header.kdf (a key file, or Argon2id) ...
//   KMS_ASSIGN_OR_RETURN(SecretBytes document, OpenStoreFile(root, view));
//   KMS_ASSIGN_OR_RETURN(std::vector<uint8_t> file, SealStoreFile(root, kdf, document.span()));
//
// Layout (integers big endian):
//   magic "KMSESTOR" (8) || format version (2) || root key kind (1) || reserved 0 (1) ||
//   Argon2id opslimit (8) || memlimit (8) || salt (16) || XChaCha20 nonce (24) ||
//   L = ciphertext + tag length (4) || XChaCha20-Poly1305(root, nonce, AAD = the 72-byte
//   header, JSON document) (L)
// Every header byte is authenticated, but only by OpenStoreFile: ParseStoreFile checks what
// can be checked before a key exists (magic, version, kind, reserved byte, L against the
// size). Failures are DataLoss with a message that names no path (the caller adds it).
// Thread safe (no state).
#ifndef KMS_ENVELOPE_LOCAL_STORE_FILE_H_
#define KMS_ENVELOPE_LOCAL_STORE_FILE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace local {

// 2 adds the wrap counts: a reader of version 1 only would drop them when it rewrote the file,
// so it must refuse the file instead. Version 1 files are still read (counts start at 0).
inline constexpr uint16_t kStoreFormatVersion = 2;
inline constexpr uint16_t kOldestStoreFormatVersion = 1;
inline constexpr size_t kStoreSaltSize = 16;
inline constexpr size_t kStoreNonceSize = internal::kXChaCha20NonceSize;
inline constexpr size_t kStoreHeaderSize = 72;
inline constexpr size_t kStoreTagSize = internal::kAeadTagSize;
// The store file is refused (before reading) when larger than this.
inline constexpr size_t kMaxStoreFileSize = size_t{64} << 20;

enum class RootKeyKind : uint8_t { kKeyFile = 1, kArgon2id = 2 };

// How the root key is obtained: for kKeyFile every other field is zero.
struct KdfParams {
  RootKeyKind kind = RootKeyKind::kKeyFile;
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;
  std::array<uint8_t, kStoreSaltSize> salt = {};
  bool operator==(const KdfParams& o) const {
    return kind == o.kind && opslimit == o.opslimit && memlimit == o.memlimit && salt == o.salt;
  }
};

struct StoreHeader {
  uint16_t format_version = kStoreFormatVersion;
  KdfParams kdf;
  std::array<uint8_t, kStoreNonceSize> nonce = {};
  uint32_t sealed_size = 0;  // L
};

// A parsed, not yet authenticated, file; the spans point into the parsed bytes.
struct StoreFileView {
  StoreHeader header;
  absl::Span<const uint8_t> header_bytes;  // the AAD
  absl::Span<const uint8_t> sealed;        // ciphertext || tag (L bytes)
};

[[nodiscard]] absl::StatusOr<StoreFileView> ParseStoreFile(absl::Span<const uint8_t> file);

// Writes the kStoreHeaderSize bytes of `header` (the reserved byte as 0).
void EncodeStoreHeader(const StoreHeader& header, absl::Span<uint8_t> out);

// Authenticates the whole file under `root` (XChaCha20-Poly1305) and returns the document.
[[nodiscard]] absl::StatusOr<SecretBytes> OpenStoreFile(const internal::AeadKey& root,
                                                       const StoreFileView& view);

// A complete current-version file sealing `document` under `root` with a fresh nonce.
// ResourceExhausted when it would exceed kMaxStoreFileSize.
[[nodiscard]] absl::StatusOr<std::vector<uint8_t>> SealStoreFile(
    const internal::AeadKey& root, const KdfParams& kdf, absl::Span<const uint8_t> document);

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_STORE_FILE_H_
