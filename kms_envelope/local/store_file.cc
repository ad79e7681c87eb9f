#include "kms_envelope/local/store_file.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/status_macros.h"
#include "sodium.h"

namespace kms_envelope {
namespace local {
namespace {

// The header layout, the one place its offsets are written down.
constexpr char kMagic[8] = {'K', 'M', 'S', 'E', 'S', 'T', 'O', 'R'};
constexpr size_t kMagicAt = 0;
constexpr size_t kVersionAt = kMagicAt + sizeof(kMagic);
constexpr size_t kKindAt = kVersionAt + 2;
constexpr size_t kReservedAt = kKindAt + 1;
constexpr size_t kOpsLimitAt = kReservedAt + 1;
constexpr size_t kMemLimitAt = kOpsLimitAt + 8;
constexpr size_t kSaltAt = kMemLimitAt + 8;
constexpr size_t kNonceAt = kSaltAt + kStoreSaltSize;
constexpr size_t kSealedSizeAt = kNonceAt + kStoreNonceSize;
static_assert(kSealedSizeAt + 4 == kStoreHeaderSize,
              "docs/store-format.md documents a 72-byte header");
static_assert(kStoreSaltSize == crypto_pwhash_SALTBYTES, "Argon2id salt size");

absl::Status Malformed(std::string_view why) {
  return absl::DataLossError(absl::StrCat("key store file ", internal::Av(why), "; refusing to load it"));
}

}  // namespace

absl::StatusOr<StoreFileView> ParseStoreFile(absl::Span<const uint8_t> file) {
  if (file.size() > kMaxStoreFileSize) {
    return Malformed(absl::StrCat("is larger than ", kMaxStoreFileSize, " bytes"));
  }
  if (file.size() < kStoreHeaderSize + kStoreTagSize) return Malformed("is truncated");
  const uint8_t* h = file.data();
  if (std::memcmp(h + kMagicAt, kMagic, sizeof(kMagic)) != 0) {
    return Malformed("is not a kms-envelope key store");
  }
  StoreFileView view;
  StoreHeader& header = view.header;
  header.format_version = internal::LoadBigEndian16(h + kVersionAt);
  if (header.format_version < kOldestStoreFormatVersion ||
      header.format_version > kStoreFormatVersion) {
    return Malformed("has an unsupported format version");
  }
  const uint8_t kind = h[kKindAt];
  if (h[kReservedAt] != 0 || (kind != static_cast<uint8_t>(RootKeyKind::kKeyFile) &&
                              kind != static_cast<uint8_t>(RootKeyKind::kArgon2id))) {
    return Malformed("has a malformed header");
  }
  header.kdf.kind = static_cast<RootKeyKind>(kind);
  header.kdf.opslimit = internal::LoadBigEndian64(h + kOpsLimitAt);
  header.kdf.memlimit = internal::LoadBigEndian64(h + kMemLimitAt);
  std::memcpy(header.kdf.salt.data(), h + kSaltAt, kStoreSaltSize);
  std::memcpy(header.nonce.data(), h + kNonceAt, kStoreNonceSize);
  header.sealed_size = internal::LoadBigEndian32(h + kSealedSizeAt);
  if (header.sealed_size != file.size() - kStoreHeaderSize) {
    return Malformed("is truncated or extended");
  }
  view.header_bytes = file.first(kStoreHeaderSize);
  view.sealed = file.subspan(kStoreHeaderSize);
  return view;
}

void EncodeStoreHeader(const StoreHeader& header, absl::Span<uint8_t> out) {
  uint8_t* h = out.data();
  std::memcpy(h + kMagicAt, kMagic, sizeof(kMagic));
  internal::StoreBigEndian16(header.format_version, h + kVersionAt);
  h[kKindAt] = static_cast<uint8_t>(header.kdf.kind);
  h[kReservedAt] = 0;
  internal::StoreBigEndian64(header.kdf.opslimit, h + kOpsLimitAt);
  internal::StoreBigEndian64(header.kdf.memlimit, h + kMemLimitAt);
  std::memcpy(h + kSaltAt, header.kdf.salt.data(), kStoreSaltSize);
  std::memcpy(h + kNonceAt, header.nonce.data(), kStoreNonceSize);
  internal::StoreBigEndian32(header.sealed_size, h + kSealedSizeAt);
}

absl::StatusOr<SecretBytes> OpenStoreFile(const internal::AeadKey& root,
                                          const StoreFileView& view) {
  KMS_ASSIGN_OR_RETURN(SecretBytes text, SecretBytes::New(view.sealed.size() - kStoreTagSize));
  if (!root.Open(view.header.nonce, view.header_bytes, view.sealed, text.mutable_span()).ok()) {
    return Malformed("failed authentication: wrong root key or passphrase, or the file was "
                     "modified");
  }
  return text;
}

absl::StatusOr<std::vector<uint8_t>> SealStoreFile(const internal::AeadKey& root,
                                                   const KdfParams& kdf,
                                                   absl::Span<const uint8_t> document) {
  if (document.size() > kMaxStoreFileSize - kStoreHeaderSize - kStoreTagSize) {
    return absl::ResourceExhaustedError("key store would exceed kMaxStoreFileSize");
  }
  StoreHeader header;
  header.kdf = kdf;
  internal::FillRandom(absl::MakeSpan(header.nonce));
  header.sealed_size = static_cast<uint32_t>(document.size() + kStoreTagSize);
  std::vector<uint8_t> file(kStoreHeaderSize + header.sealed_size);
  const absl::Span<uint8_t> bytes = absl::MakeSpan(file);
  EncodeStoreHeader(header, bytes.first(kStoreHeaderSize));
  KMS_RETURN_IF_ERROR(root.Seal(header.nonce, bytes.first(kStoreHeaderSize), document,
                                bytes.subspan(kStoreHeaderSize)));
  return file;
}

}  // namespace local
}  // namespace kms_envelope
