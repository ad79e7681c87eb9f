// Constant-time equality of secret-dependent bytes (tags, commitments, MACs, signatures).
//
//   if (!internal::ConstantTimeEquals(computed_tag, received_tag)) return AuthFailed();
//
// The time taken depends on the sizes only, never on the contents or on where the first
// difference is. Sizes are not secret: spans of different sizes compare unequal at once.
// OpenSSL's CRYPTO_memcmp does the work (assembly, about 7 ns for 16 bytes here); libsodium
// 1.0.18's sodium_memcmp reads through volatile pointers byte by byte and took 39 ns for a
// 16-byte tag, which mattered on a path with four such compares per message.
#ifndef KMS_ENVELOPE_INTERNAL_CONSTANT_TIME_H_
#define KMS_ENVELOPE_INTERNAL_CONSTANT_TIME_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace kms_envelope {
namespace internal {

// True when a and b have the same size and the same bytes; see the file comment.
[[nodiscard]] bool ConstantTimeEquals(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b);

// Same for raw pointers of one known size (size 0 compares equal).
[[nodiscard]] bool ConstantTimeEquals(const void* a, const void* b, size_t size);

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_CONSTANT_TIME_H_
