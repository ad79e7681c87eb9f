#include "kms_envelope/envelope/message_keys.h"

#include <sodium.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/hkdf.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/internal/constant_time.h"

namespace kms_envelope {
namespace envelope {
namespace {

using internal::StoreBigEndian64;

constexpr std::string_view kPayloadKeyLabel = "kms-envelope/v1/payload-key";
constexpr std::string_view kCommitmentLabel = "kms-envelope/v1/key-commitment";
constexpr std::string_view kV2KeysLabel = "kms-envelope/v2/keys";

// Format v2: payload key || commitment = OneStepKdfSha256(data key,
// "kms-envelope/v2/keys" || suite id || message id), 64 bytes in 4 SHA-256 compressions.
absl::Status DeriveV2(uint8_t suite_byte, absl::Span<const uint8_t> data_key,
                      absl::Span<const uint8_t> message_id, absl::Span<uint8_t> payload_key,
                      absl::Span<uint8_t> commitment) {
  uint8_t fixed_info[kV2KeysLabel.size() + 1 + kMessageIdSize];
  std::memcpy(fixed_info, kV2KeysLabel.data(), kV2KeysLabel.size());
  fixed_info[kV2KeysLabel.size()] = suite_byte;
  std::memcpy(fixed_info + kV2KeysLabel.size() + 1, message_id.data(), kMessageIdSize);
  uint8_t okm[kPayloadKeySize + kCommitmentSize];
  absl::Status s = internal::OneStepKdfSha256(data_key, fixed_info, absl::MakeSpan(okm));
  if (s.ok()) {
    std::memcpy(payload_key.data(), okm, kPayloadKeySize);
    std::memcpy(commitment.data(), okm + kPayloadKeySize, kCommitmentSize);
  }
  sodium_memzero(okm, sizeof(okm));
  return s;
}

// Format v1: two HKDF-SHA256 outputs, salt = message id, info = label || suite id.
absl::Status DeriveV1(uint8_t suite_byte, absl::Span<const uint8_t> data_key,
                      absl::Span<const uint8_t> message_id, absl::Span<uint8_t> payload_key,
                      absl::Span<uint8_t> commitment) {
  uint8_t payload_info[kPayloadKeyLabel.size() + 1];
  uint8_t commitment_info[kCommitmentLabel.size() + 1];
  std::memcpy(payload_info, kPayloadKeyLabel.data(), kPayloadKeyLabel.size());
  payload_info[kPayloadKeyLabel.size()] = suite_byte;
  std::memcpy(commitment_info, kCommitmentLabel.data(), kCommitmentLabel.size());
  commitment_info[kCommitmentLabel.size()] = suite_byte;
  const internal::HkdfOutput outputs[] = {{absl::MakeConstSpan(payload_info), payload_key},
                                          {absl::MakeConstSpan(commitment_info), commitment}};
  return internal::HkdfSha256Expand(data_key, message_id, outputs);
}

}  // namespace

internal::AeadAlgorithm SuiteAlgorithm(Suite suite) {
  return suite == Suite::kAes256GcmHkdfSha256Committing
             ? internal::AeadAlgorithm::kAes256Gcm
             : internal::AeadAlgorithm::kXChaCha20Poly1305;
}

absl::StatusOr<MessageKeys> DeriveMessageKeys(uint8_t version, Suite suite,
                                              absl::Span<const uint8_t> data_key,
                                              absl::Span<const uint8_t> message_id) {
  if (data_key.size() != kDataKeySize) {
    return KmsError(kms_code::kInvalidCiphertext,
                    absl::StrCat("data key must be ", kDataKeySize, " bytes"));
  }
  if (message_id.size() != kMessageIdSize) {
    return absl::InvalidArgumentError("message id must be 32 bytes");
  }
  if (!IsKnownFormatVersion(version)) {
    return KmsError(kms_code::kInvalidCiphertext,
                    absl::StrCat("unsupported format version ", version));
  }
  // The payload key lives on the stack only until AeadKey::New has copied it into locked memory.
  uint8_t payload_key[kPayloadKeySize];
  std::array<uint8_t, kCommitmentSize> commitment;
  const uint8_t suite_byte = static_cast<uint8_t>(suite);
  absl::Status derived =
      version == 1 ? DeriveV1(suite_byte, data_key, message_id, absl::MakeSpan(payload_key),
                              absl::MakeSpan(commitment))
                   : DeriveV2(suite_byte, data_key, message_id, absl::MakeSpan(payload_key),
                              absl::MakeSpan(commitment));
  absl::StatusOr<internal::AeadKey> aead =
      derived.ok() ? internal::AeadKey::New(SuiteAlgorithm(suite), absl::MakeConstSpan(payload_key))
                   : absl::StatusOr<internal::AeadKey>(derived);
  sodium_memzero(payload_key, sizeof(payload_key));
  if (!aead.ok()) return aead.status();
  MessageKeys keys{*std::move(aead), commitment, {}, internal::AeadNonceSize(SuiteAlgorithm(suite))};
  std::memcpy(keys.nonce_prefix.data(), message_id.data(), keys.nonce_size - 8);
  return keys;
}

void MakeNonce(const MessageKeys& keys, uint64_t counter, absl::Span<uint8_t> out) {
  const size_t prefix = keys.nonce_size - 8;
  std::memcpy(out.data(), keys.nonce_prefix.data(), prefix);
  StoreBigEndian64(counter, out.data() + prefix);
}

absl::Status ComputeHeaderTag(const MessageKeys& keys, absl::Span<const uint8_t> body,
                              absl::Span<uint8_t> tag_out) {
  uint8_t nonce[internal::kXChaCha20NonceSize];
  MakeNonce(keys, 0, absl::MakeSpan(nonce, keys.nonce_size));
  return keys.payload.Seal(absl::MakeConstSpan(nonce, keys.nonce_size), body, {}, tag_out);
}

absl::Status VerifyHeader(const MessageKeys& keys, const ParsedHeader& parsed,
                          absl::Span<const uint8_t> body) {
  // Key commitment first (constant time): a data key that is not the one this header was made
  // for never reaches the AEAD.
  if (!internal::ConstantTimeEquals(keys.commitment, parsed.header.commitment)) {
    return KmsError(kms_code::kInvalidCiphertext, "key commitment mismatch");
  }
  uint8_t nonce[internal::kXChaCha20NonceSize];
  MakeNonce(keys, 0, absl::MakeSpan(nonce, keys.nonce_size));
  uint8_t empty[1];
  absl::Status s = keys.payload.Open(absl::MakeConstSpan(nonce, keys.nonce_size), body,
                                     absl::MakeConstSpan(parsed.header.header_tag),
                                     absl::Span<uint8_t>(empty, 0));
  if (!s.ok()) return KmsError(kms_code::kInvalidCiphertext, "header authentication failed");
  return absl::OkStatus();
}

}  // namespace envelope
}  // namespace kms_envelope
