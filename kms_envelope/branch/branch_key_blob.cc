#include "kms_envelope/branch/branch_key_blob.h"

#include <cstring>
#include <utility>

#include "kms_envelope/branch/branch_key_store.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/hkdf.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"
#include "sodium.h"

namespace kms_envelope {
namespace branch {
namespace {

constexpr size_t kFixedPrefix = 6;  // magic, format version, id length

size_t HeaderSize(size_t id_size) { return 54 + id_size; }

absl::Status Invalid() { return KmsError(kms_code::kInvalidCiphertext, "invalid branch key blob"); }

// The AEAD key for one blob: HKDF over the branch key, bound to id, version and context.
absl::StatusOr<internal::AeadKey> DeriveWrappingKey(absl::Span<const uint8_t> branch_key,
                                                    absl::Span<const uint8_t> blob,
                                                    size_t id_size,
                                                    const EncryptionContext& context) {
  if (branch_key.size() != kBranchKeySize) return absl::InternalError("branch key size");
  const absl::Span<const uint8_t> bound = blob.subspan(0, 10 + id_size);
  const absl::Span<const uint8_t> salt = blob.subspan(10 + id_size, kBranchSaltSize);
  const absl::Span<const uint8_t> canonical = context.Canonical();
  std::string info;
  info.reserve(kBranchKdfLabel.size() + bound.size() + canonical.size());
  info.append(kBranchKdfLabel);
  info.append(internal::Chars(bound));
  info.append(internal::Chars(canonical));
  uint8_t key[internal::kAeadKeySize];
  absl::Status s = internal::HkdfSha256(branch_key, salt, internal::Bytes(info),
                                        absl::MakeSpan(key));
  absl::StatusOr<internal::AeadKey> aead =
      s.ok() ? internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, key)
             : absl::StatusOr<internal::AeadKey>(s);
  sodium_memzero(key, sizeof(key));
  return aead;
}

}  // namespace

absl::Status SealBranchBlob(absl::Span<const uint8_t> branch_key, std::string_view id,
                            uint32_t version, const EncryptionContext& context,
                            absl::Span<const uint8_t> data_key, std::string* blob) {
  if (!IsValidBranchKeyId(id) || version < 1 || version > kMaxBranchKeyVersion ||
      data_key.size() < kMinNumberOfBytes || data_key.size() > kMaxNumberOfBytes) {
    return KmsError(kms_code::kInvalidParameter, "bad branch key id, version or key size");
  }
  blob->resize(BranchBlobSize(id.size(), data_key.size()));
  uint8_t* p = reinterpret_cast<uint8_t*>(blob->data());
  std::memcpy(p, kBranchBlobMagic.data(), 4);
  p[4] = kBranchBlobFormatVersion;
  p[5] = static_cast<uint8_t>(id.size());
  std::memcpy(p + kFixedPrefix, id.data(), id.size());
  internal::StoreBigEndian32(version, p + kFixedPrefix + id.size());
  internal::FillRandom(absl::MakeSpan(p + 10 + id.size(), kBranchSaltSize + kBranchNonceSize));
  const absl::Span<const uint8_t> all(p, blob->size());
  KMS_ASSIGN_OR_RETURN(internal::AeadKey key,
                       DeriveWrappingKey(branch_key, all, id.size(), context));
  const size_t header = HeaderSize(id.size());
  return key.Seal(all.subspan(42 + id.size(), kBranchNonceSize), all.subspan(0, header), data_key,
                  absl::MakeSpan(p + header, data_key.size() + kBranchTagSize));
}

absl::StatusOr<BranchBlobView> ParseBranchBlob(absl::Span<const uint8_t> blob) {
  if (blob.size() < kFixedPrefix ||
      std::memcmp(blob.data(), kBranchBlobMagic.data(), 4) != 0 ||
      blob[4] != kBranchBlobFormatVersion) {
    return Invalid();
  }
  const size_t id_size = blob[5];
  if (blob.size() < BranchBlobSize(id_size, kMinNumberOfBytes) ||
      blob.size() > BranchBlobSize(id_size, kMaxNumberOfBytes)) {
    return Invalid();
  }
  BranchBlobView view;
  view.branch_key_id = internal::Chars(blob.subspan(kFixedPrefix, id_size));
  view.version = internal::LoadBigEndian32(blob.data() + kFixedPrefix + id_size);
  view.blob = blob;
  view.id_size = id_size;
  if (!IsValidBranchKeyId(view.branch_key_id) || view.version < 1 ||
      view.version > kMaxBranchKeyVersion) {
    return Invalid();
  }
  return view;
}

absl::Status OpenBranchBlob(absl::Span<const uint8_t> branch_key, const BranchBlobView& view,
                            const EncryptionContext& context, SecretBytes* data_key) {
  const size_t header = HeaderSize(view.id_size);
  const size_t key_size = view.blob.size() - header - kBranchTagSize;
  absl::StatusOr<internal::AeadKey> key =
      DeriveWrappingKey(branch_key, view.blob, view.id_size, context);
  if (!key.ok()) return key.status();
  absl::StatusOr<SecretBytes> out = SecretBytes::New(key_size);
  if (!out.ok()) return out.status();
  if (!key->Open(view.blob.subspan(42 + view.id_size, kBranchNonceSize),
                 view.blob.subspan(0, header), view.blob.subspan(header),
                 out->mutable_span())
           .ok()) {
    data_key->Clear();
    return Invalid();
  }
  *data_key = std::move(*out);
  return absl::OkStatus();
}

}  // namespace branch
}  // namespace kms_envelope
