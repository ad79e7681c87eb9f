// Cryptographically secure random bytes for keys, nonces and message ids.
//
//   uint8_t nonce[12];
//   FillRandom(absl::MakeSpan(nonce));
//
// Every thread draws from its own ChaCha20 keystream generator (libsodium's
// crypto_stream_chacha20_ietf over a 32-byte key), keyed from the kernel (`getrandom`). The
// keystream is produced 1 KiB at a time; the first 32 bytes of each block immediately become the
// next key (fast key erasure: a later memory disclosure cannot recover earlier outputs) and every
// byte handed out is wiped from the buffer as it leaves, so the buffer only ever holds outputs
// not yet returned (as OpenBSD's arc4random). A small draw is then a copy, not a ChaCha20 call
// (~30-50 ns instead of ~130 ns for 32 bytes here). In a forked child (pthread_atfork) the
// generator discards its buffer and reseeds from the kernel, so parent and child never share a
// stream. Each generator is also reseeded from the kernel every kReseedInterval draws.
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

// Writes 16 bytes (out.size() must be 16) that no other call in this process returns: a
// per-thread 128-bit starting point drawn from FillRandom (again in a forked child) plus a
// per-thread counter. Two threads' sequences meet only if their random starting points fall
// within 2^64 of each other (probability about 2^-64 per pair of threads). Unique, NOT
// unpredictable: for identifiers such as a RequestId, never for keys, nonces or anything an
// attacker must not guess. About 2 ns, where 16 bytes of keystream cost about 12 ns here.
void NextUniqueId(absl::Span<uint8_t> out);
// The same 128 bits as two integers (`high` is the first 8 bytes, big endian), for callers that
// format them straight from registers.
struct UniqueId {
  uint64_t high;
  uint64_t low;
};
UniqueId NextUniqueId();

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_RANDOM_H_
