// HMAC, HKDF (RFC 5869) and the one-step KDF (NIST SP 800-56C) over SHA-256, plus HMAC-SHA1
// for the KMS V1 request signature.
//
//   uint8_t okm[64];
//   KMS_RETURN_IF_ERROR(HkdfSha256(ikm, salt, info, absl::MakeSpan(okm)));
//
//   // Several keys from one input: one Extract, one Expand per output.
//   const HkdfOutput outputs[] = {{payload_info, absl::MakeSpan(payload_key)},
//                                 {commitment_info, absl::MakeSpan(commitment)}};
//   KMS_RETURN_IF_ERROR(HkdfSha256Expand(ikm, salt, outputs));
//
// libsodium 1.0.18 has no HKDF, so it is built here on crypto_auth_hmacsha256 (checked against
// the Wycheproof HKDF-SHA256 vectors). HMAC-SHA1 comes from OpenSSL (libsodium has no SHA-1).
// All intermediates (PRK, T(i)) are wiped. Thread safe (no shared state).
#ifndef KMS_ENVELOPE_INTERNAL_HKDF_H_
#define KMS_ENVELOPE_INTERNAL_HKDF_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace kms_envelope {
namespace internal {

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kSha1Size = 20;
inline constexpr size_t kHkdfSha256MaxOutput = 255 * kSha256Size;

// out = HKDF-SHA256(ikm, salt, info) of out.size() bytes; 0 < out.size() <= 8160.
// An empty salt means a string of 32 zero bytes, as RFC 5869 specifies.
[[nodiscard]] absl::Status HkdfSha256(absl::Span<const uint8_t> ikm,
                                      absl::Span<const uint8_t> salt,
                                      absl::Span<const uint8_t> info, absl::Span<uint8_t> out);

// One output of HkdfSha256Expand: `out` receives HKDF-Expand(PRK, info) of out.size() bytes.
struct HkdfOutput {
  absl::Span<const uint8_t> info;
  absl::Span<uint8_t> out;
};

// For each output, exactly the bytes HkdfSha256(ikm, salt, output.info, output.out) would write,
// with the Extract step (PRK = HMAC(salt, ikm)) and the PRK's HMAC pads computed once instead of
// once per output: deriving two keys costs 10 SHA-256 compressions instead of 16 (the envelope
// derives a payload key and a commitment per message). Every output size is checked before any
// output is written; on error nothing is written.
[[nodiscard]] absl::Status HkdfSha256Expand(absl::Span<const uint8_t> ikm,
                                            absl::Span<const uint8_t> salt,
                                            absl::Span<const HkdfOutput> outputs);

// The one-step key derivation of NIST SP 800-56C Rev. 2, section 4.1, option 1 (H = SHA-256),
// which is also ANSI X9.63's KDF with the counter before the secret:
//   out = K(1) || K(2) || ...  truncated to out.size(),  K(i) = SHA-256(u32be(i) || z || fixed_info)
// 0 < out.size() <= kOneStepKdfSha256MaxOutput. It costs ceil((4 + z + fixed_info + 9) / 64)
// compressions per 32 output bytes and needs no HMAC pads, so deriving 64 bytes from a 32-byte
// key and 53 bytes of fixed info is 4 SHA-256 compressions (HKDF with a salt takes 10): the
// envelope's format v2 key schedule uses it. z must be a uniformly random secret (a data key),
// as the envelope's is. Checked against OpenSSL's SSKDF (tests/crypto/kdf_test.cc). The input
// block holding z is wiped.
inline constexpr size_t kOneStepKdfSha256MaxOutput = 255 * kSha256Size;
[[nodiscard]] absl::Status OneStepKdfSha256(absl::Span<const uint8_t> z,
                                            absl::Span<const uint8_t> fixed_info,
                                            absl::Span<uint8_t> out);

// out (32 bytes) = HMAC-SHA256(key, message). Any key length.
[[nodiscard]] absl::Status HmacSha256(absl::Span<const uint8_t> key,
                                      absl::Span<const uint8_t> message, absl::Span<uint8_t> out);

// out (20 bytes) = HMAC-SHA1(key, message). Only for the KMS V1 signature (a protocol
// requirement); never use it for anything else.
[[nodiscard]] absl::Status HmacSha1(absl::Span<const uint8_t> key,
                                    absl::Span<const uint8_t> message, absl::Span<uint8_t> out);

// out (32 bytes) = SHA-256(message).
// out.size() must be 32.
void Sha256(absl::Span<const uint8_t> message, absl::Span<uint8_t> out);

inline absl::Span<const uint8_t> AsBytes(std::string_view s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_HKDF_H_
