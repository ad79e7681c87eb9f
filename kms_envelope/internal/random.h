// Cryptographically secure random bytes for keys, nonces and message ids.
//
//   uint8_t nonce[12];
//   FillRandom(absl::MakeSpan(nonce));
//
// Every thread draws from its own ChaCha20 keystream generator (libsodium's
// randombytes_buf_deterministic over a 32-byte key), keyed from the kernel (`getrandom`) and
// rekeyed from the generator's own output after every draw (fast key erasure: a later memory
// disclosure cannot recover earlier outputs). A fork is detected (pid change) and the child
// reseeds from the kernel, so parent and child never share a stream. Each generator is also
// reseeded from the kernel every kReseedInterval draws.
//
// Thread safe. Never fails: if the kernel cannot supply entropy the process aborts (as libsodium
// does), because continuing would produce predictable keys.
#ifndef KMS_ENVELOPE_INTERNAL_RANDOM_H_
#define KMS_ENVELOPE_INTERNAL_RANDOM_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace kms_envelope {
namespace internal {

inline constexpr uint64_t kReseedInterval = uint64_t{1} << 20;

// Fills `out` with random bytes from the per-thread generator.
void FillRandom(absl::Span<uint8_t> out);

// Fills `out` straight from the kernel (one syscall per call). For seeds and root keys.
void FillRandomFromKernel(absl::Span<uint8_t> out);

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_RANDOM_H_
