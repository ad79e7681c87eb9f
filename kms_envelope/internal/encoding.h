// Strict encodings used on the wire: base64 (RFC 4648, padded, no whitespace), lowercase hex,
// and little/big-endian integer helpers for the binary formats.
//
//   std::string b64 = Base64Encode(bytes);
//   KMS_ASSIGN_OR_RETURN(std::string raw, Base64Decode(b64));  // rejects non-canonical input
#ifndef KMS_ENVELOPE_INTERNAL_ENCODING_H_
#define KMS_ENVELOPE_INTERNAL_ENCODING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace internal {

std::string Base64Encode(absl::Span<const uint8_t> bytes);
inline std::string Base64Encode(std::string_view s) {
  return Base64Encode(absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
// Base64 length of n bytes.
constexpr size_t Base64EncodedSize(size_t n) { return (n + 2) / 3 * 4; }
// Writes the base64 of `bytes` into `out` (exactly Base64EncodedSize(bytes.size()) bytes);
// for secrets, so no std::string ever holds them.
void Base64EncodeTo(absl::Span<const uint8_t> bytes, absl::Span<uint8_t> out);

// Strict decoding: standard alphabet, '=' padding required, no whitespace, canonical trailing
// bits. InvalidArgument otherwise. `max_decoded` bounds the output before allocating.
[[nodiscard]] absl::StatusOr<std::string> Base64Decode(std::string_view text,
                                                       size_t max_decoded = size_t{1} << 30);
// Same, into secret memory.
[[nodiscard]] absl::StatusOr<SecretBytes> Base64DecodeSecret(absl::Span<const uint8_t> text,
                                                             size_t max_decoded);
// Same, into `*out`, reusing its storage when it already has the decoded size (a response
// reused across calls then costs no allocation). On error `*out` is cleared (wiped).
[[nodiscard]] absl::Status Base64DecodeSecretInto(absl::Span<const uint8_t> text,
                                                  size_t max_decoded, SecretBytes* out);

std::string HexEncode(absl::Span<const uint8_t> bytes);
inline std::string HexEncode(std::string_view s) {
  return HexEncode(absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
[[nodiscard]] absl::StatusOr<std::string> HexDecode(std::string_view hex);

inline absl::Span<const uint8_t> Bytes(std::string_view s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view Chars(absl::Span<const uint8_t> b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

inline void StoreBigEndian16(uint16_t v, uint8_t* p) { p[0] = v >> 8; p[1] = v & 0xff; }
inline void StoreBigEndian32(uint32_t v, uint8_t* p) {
  for (int i = 3; i >= 0; --i) { p[i] = v & 0xff; v >>= 8; }
}
inline void StoreBigEndian64(uint64_t v, uint8_t* p) {
  for (int i = 7; i >= 0; --i) { p[i] = v & 0xff; v >>= 8; }
}
inline uint16_t LoadBigEndian16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t LoadBigEndian32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t LoadBigEndian64(const uint8_t* p) {
  return uint64_t{LoadBigEndian32(p)} << 32 | LoadBigEndian32(p + 4);
}

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_ENCODING_H_
