// The per-file header that kms_envelope's RocksDB encryption writes into every file's prefix.
//
//   FileHeader header;
//   header.cipher = FileCipherId::kAes256Ctr;
//   header.generation = 1;
//   FillRandom(absl::MakeSpan(header.file_salt));
//   header.provider_id = "local"; header.key_id = ...; header.key_version_id = ...;
//   header.ciphertext_blob = ...;                          // from KeyProvider::GenerateDataKey
//   std::string slot = SerializeFileHeaderSlot(header, header_mac_key);   // kFileHeaderSlotSize bytes
//   KMS_ASSIGN_OR_RETURN(ParsedFileHeader parsed, ParseFileHeaderSlot(slot));  // no secrets
//   KMS_RETURN_IF_ERROR(VerifyFileHeaderSlot(parsed, header_mac_key));
//
// Layout of the file prefix (kFilePrefixSize = 4096 bytes, one page): two header slots of
// kFileHeaderSlotSize bytes at offsets 0 and 2048. Both slots normally hold the same header; key
// rotation rewrites them one at a time (see rewrap.h), so a torn or interrupted write leaves at
// least one valid slot. A reader uses the valid slot with the highest generation.
//
// Slot layout (all integers big endian):
//   offset  size  field
//   0       8     magic "KMSEROCK"
//   8       1     format version (1)
//   9       1     cipher id (1 = AES-256-CTR, 2 = XChaCha20)
//   10      2     slot body length B (offset of the tag; kFileHeaderFixedSize+..)
//   12      8     generation (1 for a new file, +1 per rewrap)
//   20      32    file salt (random per file; HKDF salt and source of the stream nonce)
//   52      2+n   provider id   (u16 length 1..kMaxFileHeaderProviderIdSize, bytes)
//           2+n   key id        (u16 length 1..kMaxFileHeaderKeyIdSize, bytes; the CMK GUID)
//           2+n   key version id (u16 length 0..kMaxFileHeaderKeyVersionIdSize, bytes)
//           2+n   CiphertextBlob (u16 length 1..kMaxFileHeaderBlobSize, bytes)
//   B       32    tag = HMAC-SHA256(header MAC key, bytes [0, B))
//   B+32    ...   zero padding to kFileHeaderSlotSize (checked: must be zero)
//
// Key schedule (HKDF-SHA256, ikm = the file's 32-byte data key, salt = file salt):
//   stream key (32)     = HKDF(ikm, salt, "kms-envelope/rocksdb/v1/stream-key" || cipher id)
//   header MAC key (32) = HKDF(ikm, salt, "kms-envelope/rocksdb/v1/header-mac")
// The tag authenticates every header field and commits the header to the data key (a header
// cannot be made to verify under another key without knowing it).
//
// Parsing never touches key material and authenticates nothing; it bounds every length against
// its named maximum before reading. Malformed input yields InvalidCiphertext (KMS code).
#ifndef KMS_ENVELOPE_ROCKSDB_FILE_HEADER_H_
#define KMS_ENVELOPE_ROCKSDB_FILE_HEADER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace rocksdb_encryption {

inline constexpr std::string_view kFileHeaderMagic = "KMSEROCK";
inline constexpr uint8_t kFileHeaderVersion = 1;
inline constexpr size_t kFilePrefixSize = 4096;
inline constexpr size_t kFileHeaderSlotCount = 2;
inline constexpr size_t kFileHeaderSlotSize = kFilePrefixSize / kFileHeaderSlotCount;
inline constexpr size_t kFileSaltSize = 32;
inline constexpr size_t kFileHeaderTagSize = 32;
inline constexpr size_t kFileDataKeySize = 32;
// magic + version + cipher + body length + generation + salt.
inline constexpr size_t kFileHeaderFixedSize = 8 + 1 + 1 + 2 + 8 + kFileSaltSize;
inline constexpr size_t kMaxFileHeaderProviderIdSize = 64;
inline constexpr size_t kMaxFileHeaderKeyIdSize = 128;
inline constexpr size_t kMaxFileHeaderKeyVersionIdSize = 128;
inline constexpr size_t kMaxFileHeaderBlobSize = 1536;
static_assert(kFileHeaderFixedSize + 4 * 2 + kMaxFileHeaderProviderIdSize +
                      kMaxFileHeaderKeyIdSize + kMaxFileHeaderKeyVersionIdSize +
                      kMaxFileHeaderBlobSize + kFileHeaderTagSize <=
                  kFileHeaderSlotSize,
              "a maximal header must fit in one slot");

enum class FileCipherId : uint8_t {
  kAes256Ctr = 1,
  kXChaCha20 = 2,
};

std::string_view FileCipherName(FileCipherId cipher);

struct FileHeader {
  FileCipherId cipher = FileCipherId::kAes256Ctr;
  uint64_t generation = 1;
  std::array<uint8_t, kFileSaltSize> file_salt{};
  std::string provider_id;
  std::string key_id;
  std::string key_version_id;
  std::string ciphertext_blob;
};

struct ParsedFileHeader {
  FileHeader header;
  // The authenticated bytes [0, B) and the stored tag, for VerifyFileHeaderSlot.
  std::string authenticated_bytes;
  std::array<uint8_t, kFileHeaderTagSize> tag{};
};

// True when `slot` starts with the magic (a cheap "is this one of ours" check).
bool HasFileHeaderMagic(absl::Span<const uint8_t> slot);

// The slot image (exactly kFileHeaderSlotSize bytes). InvalidParameter when a field breaks a
// limit or `header_mac_key` is not 32 bytes.
[[nodiscard]] absl::StatusOr<std::string> SerializeFileHeaderSlot(const FileHeader& header,
                                                                  const SecretBytes& header_mac_key);

// Parses one slot (`slot.size()` must be kFileHeaderSlotSize). Authenticates nothing.
[[nodiscard]] absl::StatusOr<ParsedFileHeader> ParseFileHeaderSlot(absl::Span<const uint8_t> slot);

// Checks the slot's tag in constant time. InvalidCiphertext ("header authentication failed")
// when it does not match.
[[nodiscard]] absl::Status VerifyFileHeaderSlot(const ParsedFileHeader& parsed,
                                                const SecretBytes& header_mac_key);

// The two derived keys of the key schedule above.
struct FileKeys {
  SecretBytes stream_key;      // 32 bytes
  SecretBytes header_mac_key;  // 32 bytes
};
[[nodiscard]] absl::StatusOr<FileKeys> DeriveFileKeys(FileCipherId cipher,
                                                      const SecretBytes& data_key,
                                                      absl::Span<const uint8_t> file_salt);

}  // namespace rocksdb_encryption
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ROCKSDB_FILE_HEADER_H_
