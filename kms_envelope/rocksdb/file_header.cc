#include "kms_envelope/rocksdb/file_header.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/hkdf.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

using internal::LoadBigEndian16;
using internal::LoadBigEndian64;
using internal::StoreBigEndian16;
using internal::StoreBigEndian64;

constexpr std::string_view kStreamKeyInfo = "kms-envelope/rocksdb/v1/stream-key";
constexpr std::string_view kHeaderMacInfo = "kms-envelope/rocksdb/v1/header-mac";

bool KnownCipher(uint8_t id) {
  return id == static_cast<uint8_t>(FileCipherId::kAes256Ctr) ||
         id == static_cast<uint8_t>(FileCipherId::kXChaCha20);
}

absl::Status Malformed(std::string_view what) {
  return KmsError(kms_code::kInvalidCiphertext,
                  absl::StrCat("malformed kms_envelope RocksDB file header: ",
                               absl::string_view(what.data(), what.size())));
}

void AppendField(std::string_view value, std::string* out) {
  uint8_t len[2];
  StoreBigEndian16(static_cast<uint16_t>(value.size()), len);
  out->append(reinterpret_cast<const char*>(len), 2);
  out->append(value.data(), value.size());
}

// Reads a u16-length-prefixed field of min..max bytes at *pos of `body`.
absl::Status ReadField(absl::Span<const uint8_t> body, size_t* pos, size_t min, size_t max,
                       std::string_view name, std::string* out) {
  if (body.size() - *pos < 2) return Malformed(absl::StrCat(std::string(name), " length cut short"));
  size_t len = LoadBigEndian16(body.data() + *pos);
  *pos += 2;
  if (len < min || len > max) {
    return Malformed(absl::StrCat(std::string(name), " length ", len, " outside ", min, "..", max));
  }
  if (body.size() - *pos < len) return Malformed(absl::StrCat(std::string(name), " cut short"));
  out->assign(reinterpret_cast<const char*>(body.data() + *pos), len);
  *pos += len;
  return absl::OkStatus();
}

absl::Status CheckLimits(const FileHeader& h) {
  auto check = [](const std::string& v, size_t min, size_t max, const char* name) {
    if (v.size() < min || v.size() > max) {
      return KmsError(kms_code::kInvalidParameter,
                      absl::StrCat(name, " must be ", min, "..", max, " bytes, got ", v.size()));
    }
    return absl::OkStatus();
  };
  KMS_RETURN_IF_ERROR(check(h.provider_id, 1, kMaxFileHeaderProviderIdSize, "provider id"));
  KMS_RETURN_IF_ERROR(check(h.key_id, 1, kMaxFileHeaderKeyIdSize, "key id"));
  KMS_RETURN_IF_ERROR(check(h.key_version_id, 0, kMaxFileHeaderKeyVersionIdSize, "key version id"));
  KMS_RETURN_IF_ERROR(check(h.ciphertext_blob, 1, kMaxFileHeaderBlobSize, "CiphertextBlob"));
  if (!KnownCipher(static_cast<uint8_t>(h.cipher))) {
    return KmsError(kms_code::kInvalidParameter, "unknown file cipher id");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view FileCipherName(FileCipherId cipher) {
  switch (cipher) {
    case FileCipherId::kAes256Ctr:
      return "AES-256-CTR";
    case FileCipherId::kXChaCha20:
      return "XChaCha20";
  }
  return "unknown";
}

bool HasFileHeaderMagic(absl::Span<const uint8_t> slot) {
  return slot.size() >= kFileHeaderMagic.size() &&
         std::memcmp(slot.data(), kFileHeaderMagic.data(), kFileHeaderMagic.size()) == 0;
}

absl::StatusOr<std::string> SerializeFileHeaderSlot(const FileHeader& header,
                                                    const SecretBytes& header_mac_key) {
  KMS_RETURN_IF_ERROR(CheckLimits(header));
  if (header_mac_key.size() != internal::kSha256Size) {
    return KmsError(kms_code::kInvalidParameter, "header MAC key must be 32 bytes");
  }
  std::string out;
  out.reserve(kFileHeaderSlotSize);
  out.append(kFileHeaderMagic.data(), kFileHeaderMagic.size());
  out.push_back(static_cast<char>(kFileHeaderVersion));
  out.push_back(static_cast<char>(header.cipher));
  out.append(2, '\0');  // body length, patched below
  uint8_t generation[8];
  StoreBigEndian64(header.generation, generation);
  out.append(reinterpret_cast<const char*>(generation), 8);
  out.append(reinterpret_cast<const char*>(header.file_salt.data()), header.file_salt.size());
  AppendField(header.provider_id, &out);
  AppendField(header.key_id, &out);
  AppendField(header.key_version_id, &out);
  AppendField(header.ciphertext_blob, &out);
  StoreBigEndian16(static_cast<uint16_t>(out.size()), reinterpret_cast<uint8_t*>(&out[10]));
  uint8_t tag[kFileHeaderTagSize];
  KMS_RETURN_IF_ERROR(internal::HmacSha256(header_mac_key.span(), internal::AsBytes(out),
                                           absl::MakeSpan(tag)));
  out.append(reinterpret_cast<const char*>(tag), sizeof(tag));
  out.resize(kFileHeaderSlotSize, '\0');
  return out;
}

absl::StatusOr<ParsedFileHeader> ParseFileHeaderSlot(absl::Span<const uint8_t> slot) {
  if (slot.size() != kFileHeaderSlotSize) return Malformed("slot has the wrong size");
  if (!HasFileHeaderMagic(slot)) return Malformed("bad magic (not a kms_envelope RocksDB file)");
  if (slot[8] != kFileHeaderVersion) {
    return Malformed(absl::StrCat("unsupported format version ", slot[8]));
  }
  if (!KnownCipher(slot[9])) return Malformed(absl::StrCat("unknown cipher id ", slot[9]));
  const size_t body_size = LoadBigEndian16(slot.data() + 10);
  if (body_size < kFileHeaderFixedSize + 4 * 2 ||
      body_size > kFileHeaderSlotSize - kFileHeaderTagSize) {
    return Malformed("body length out of range");
  }
  ParsedFileHeader parsed;
  FileHeader& h = parsed.header;
  h.cipher = static_cast<FileCipherId>(slot[9]);
  h.generation = LoadBigEndian64(slot.data() + 12);
  std::memcpy(h.file_salt.data(), slot.data() + 20, kFileSaltSize);
  absl::Span<const uint8_t> body = slot.subspan(0, body_size);
  size_t pos = kFileHeaderFixedSize;
  KMS_RETURN_IF_ERROR(
      ReadField(body, &pos, 1, kMaxFileHeaderProviderIdSize, "provider id", &h.provider_id));
  KMS_RETURN_IF_ERROR(ReadField(body, &pos, 1, kMaxFileHeaderKeyIdSize, "key id", &h.key_id));
  KMS_RETURN_IF_ERROR(ReadField(body, &pos, 0, kMaxFileHeaderKeyVersionIdSize, "key version id",
                                &h.key_version_id));
  KMS_RETURN_IF_ERROR(
      ReadField(body, &pos, 1, kMaxFileHeaderBlobSize, "CiphertextBlob", &h.ciphertext_blob));
  if (pos != body_size) return Malformed("trailing bytes after the CiphertextBlob");
  std::memcpy(parsed.tag.data(), slot.data() + body_size, kFileHeaderTagSize);
  for (size_t i = body_size + kFileHeaderTagSize; i < slot.size(); ++i) {
    if (slot[i] != 0) return Malformed("non-zero padding");
  }
  parsed.authenticated_bytes.assign(reinterpret_cast<const char*>(slot.data()), body_size);
  return parsed;
}

absl::Status VerifyFileHeaderSlot(const ParsedFileHeader& parsed,
                                  const SecretBytes& header_mac_key) {
  if (header_mac_key.size() != internal::kSha256Size) {
    return KmsError(kms_code::kInvalidParameter, "header MAC key must be 32 bytes");
  }
  uint8_t expected[kFileHeaderTagSize];
  KMS_RETURN_IF_ERROR(internal::HmacSha256(header_mac_key.span(),
                                           internal::AsBytes(parsed.authenticated_bytes),
                                           absl::MakeSpan(expected)));
  const bool match = sodium_memcmp(expected, parsed.tag.data(), kFileHeaderTagSize) == 0;
  sodium_memzero(expected, sizeof(expected));
  if (!match) {
    return KmsError(kms_code::kInvalidCiphertext,
                    "kms_envelope RocksDB file header authentication failed (the header was "
                    "modified, or the data key does not belong to it)");
  }
  return absl::OkStatus();
}

absl::StatusOr<FileKeys> DeriveFileKeys(FileCipherId cipher, const SecretBytes& data_key,
                                        absl::Span<const uint8_t> file_salt) {
  if (data_key.size() != kFileDataKeySize) {
    return KmsError(kms_code::kInvalidCiphertext,
                    absl::StrCat("file data key must be ", kFileDataKeySize, " bytes, got ",
                                 data_key.size()));
  }
  if (file_salt.size() != kFileSaltSize) {
    return KmsError(kms_code::kInvalidParameter, "file salt must be 32 bytes");
  }
  FileKeys keys;
  KMS_ASSIGN_OR_RETURN(keys.stream_key, SecretBytes::New(32));
  KMS_ASSIGN_OR_RETURN(keys.header_mac_key, SecretBytes::New(32));
  std::string info(kStreamKeyInfo);
  info.push_back(static_cast<char>(cipher));
  KMS_RETURN_IF_ERROR(internal::HkdfSha256(data_key.span(), file_salt, internal::AsBytes(info),
                                           keys.stream_key.mutable_span()));
  KMS_RETURN_IF_ERROR(internal::HkdfSha256(data_key.span(), file_salt,
                                           internal::AsBytes(kHeaderMacInfo),
                                           keys.header_mac_key.mutable_span()));
  return keys;
}

}  // namespace rocksdb_encryption
}  // namespace kms_envelope
