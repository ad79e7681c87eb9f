// Byte helpers for tests: views between text and bytes, big-endian fields, base64, random test
// data, HKDF-SHA256 and the UUID shape. They are written over libsodium and OpenSSL directly,
// not over kms_envelope/internal/, so a test that checks our output with them does not check
// our code against itself.
//
//   EXPECT_EQ(testing::Base64Encode(testing::Bytes("hi")), "aGk=");
//   uint8_t key[32];
//   testing::FillRandom(absl::MakeSpan(key));
//
// TEST-ONLY.
#ifndef KMS_ENVELOPE_TESTING_TEST_BYTES_H_
#define KMS_ENVELOPE_TESTING_TEST_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kms_envelope {
namespace testing {

inline absl::Span<const uint8_t> Bytes(std::string_view s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view Chars(absl::Span<const uint8_t> b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

inline uint32_t LoadBigEndian32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t LoadBigEndian64(const uint8_t* p) {
  return uint64_t{LoadBigEndian32(p)} << 32 | LoadBigEndian32(p + 4);
}
inline void StoreBigEndian32(uint32_t v, uint8_t* p) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v & 0xff);
}

// Standard base64 with padding.
std::string Base64Encode(absl::Span<const uint8_t> bytes);
inline std::string Base64Encode(std::string_view s) { return Base64Encode(Bytes(s)); }
// Strict: no whitespace, padding required. InvalidArgument otherwise or above `max_decoded`.
absl::StatusOr<std::string> Base64Decode(std::string_view text, size_t max_decoded = 1 << 20);

// Random test data (libsodium's randombytes_buf).
void FillRandom(absl::Span<uint8_t> out);

// HKDF-SHA256 (RFC 5869) through OpenSSL's EVP_PKEY_HKDF; out.size() 1..8160.
absl::Status HkdfSha256(absl::Span<const uint8_t> ikm, absl::Span<const uint8_t> salt,
                        absl::Span<const uint8_t> info, absl::Span<uint8_t> out);

// 36 characters: hex digits with dashes at 8, 13, 18 and 23.
bool IsUuid(std::string_view s);

}  // namespace testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTING_TEST_BYTES_H_
