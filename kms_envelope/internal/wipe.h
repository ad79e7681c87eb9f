// Wiping short-lived secrets in local buffers (stack copies of keys, IVs, base64 text).
//
//   uint8_t key_and_iv[44];
//   ...
//   internal::WipeBytes(key_and_iv, sizeof(key_and_iv));
//
// Contract: zeroes exactly `size` bytes at `p` (size 0 is a no-op), and the compiler cannot
// drop it as a dead store: the empty asm statement claims to read the memory. This is how
// glibc's explicit_bzero works, but inline: on the per-call paths sodium_memzero's two calls
// (explicit_bzero, then memset) cost more than the work around them. Registers and spilled
// temporaries are out of reach here, as they are for sodium_memzero. Thread safe.
#ifndef KMS_ENVELOPE_INTERNAL_WIPE_H_
#define KMS_ENVELOPE_INTERNAL_WIPE_H_

#include <cstddef>
#include <cstring>

namespace kms_envelope {
namespace internal {

inline void WipeBytes(void* p, size_t size) {
  if (size == 0) return;  // `p` may be null then, which memset does not allow
  std::memset(p, 0, size);
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_WIPE_H_
