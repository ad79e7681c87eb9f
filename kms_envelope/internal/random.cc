#include "kms_envelope/internal/random.h"

#include <pthread.h>
#include <sodium.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kms_envelope/internal/encoding.h"

namespace kms_envelope {
namespace internal {
namespace {

// Bumped in the child after fork(): every generator whose generation differs reseeds.
std::atomic<uint64_t> g_fork_generation{1};

void OnForkChild() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

// Once per process: the fork handler, and sodium_init(), which selects libsodium's SIMD ChaCha20
// (without it crypto_stream_chacha20_ietf runs the portable code, ~2.3x slower here).
void InitializeOnce() {
  static const bool initialized = [] {
    if (sodium_init() < 0) std::abort();  // no working libsodium: never produce keys
    pthread_atfork(nullptr, nullptr, &OnForkChild);
    return true;
  }();
  (void)initialized;
}

// Keystream is produced kBuffer bytes at a time: the first 32 bytes immediately become the next
// key (fast key erasure), the rest is handed out in order and wiped as it is handed out, so the
// buffer never holds an output that was already returned.
constexpr size_t kKeySize = crypto_stream_chacha20_ietf_KEYBYTES;
constexpr size_t kBuffer = 1024;
// Requests larger than this bypass the buffer (a fresh key for a bulk stream).
constexpr size_t kMaxBuffered = 128;

struct ThreadGenerator {
  uint8_t key[kKeySize];
  uint8_t buffer[kBuffer];
  size_t available = 0;  // unread bytes at the end of `buffer`
  uint64_t counter = 0;
  uint64_t draws = 0;
  uint64_t generation = 0;  // 0 = never seeded

  ~ThreadGenerator() {
    sodium_memzero(key, sizeof(key));
    sodium_memzero(buffer, sizeof(buffer));
  }

  void Reseed() {
    FillRandomFromKernel(absl::MakeSpan(key));
    sodium_memzero(buffer, sizeof(buffer));
    available = 0;
    counter = 0;
    draws = 0;
    generation = g_fork_generation.load(std::memory_order_relaxed);
  }

  // Next kBuffer bytes of keystream under `key`; rekeys from its first 32 bytes.
  void Refill() {
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    std::memcpy(nonce, &counter, sizeof(counter));
    ++counter;
    crypto_stream_chacha20_ietf(buffer, sizeof(buffer), nonce, key);
    std::memcpy(key, buffer, kKeySize);
    sodium_memzero(buffer, kKeySize);
    available = kBuffer - kKeySize;
  }

  void Fill(uint8_t* out, size_t n) {
    uint64_t current = g_fork_generation.load(std::memory_order_relaxed);
    if (generation != current || draws >= kReseedInterval) Reseed();
    ++draws;
    if (n <= kMaxBuffered) {
      if (available < n) Refill();
      uint8_t* src = buffer + (kBuffer - available);
      std::memcpy(out, src, n);
      sodium_memzero(src, n);
      available -= n;
      return;
    }
    // Large requests: a fresh key for the bulk stream from the buffered stream, then go on.
    if (available < kKeySize) Refill();
    uint8_t* src = buffer + (kBuffer - available);
    uint8_t bulk_key[kKeySize];
    std::memcpy(bulk_key, src, kKeySize);
    sodium_memzero(src, kKeySize);
    available -= kKeySize;
    uint8_t zero_nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    size_t done = 0;
    uint32_t sub = 0;
    while (done < n) {
      size_t chunk = std::min<size_t>(n - done, size_t{1} << 30);
      std::memcpy(zero_nonce, &sub, sizeof(sub));
      crypto_stream_chacha20_ietf(out + done, chunk, zero_nonce, bulk_key);
      done += chunk;
      ++sub;
    }
    sodium_memzero(bulk_key, sizeof(bulk_key));
  }
};

thread_local ThreadGenerator t_generator;

struct ThreadUniqueIds {
  uint64_t high = 0;
  uint64_t low = 0;
  uint64_t generation = 0;  // 0 = never seeded
};

thread_local ThreadUniqueIds t_unique_ids;

}  // namespace

void FillRandomFromKernel(absl::Span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no entropy: never continue with predictable keys
    }
    done += static_cast<size_t>(n);
  }
}

void FillRandom(absl::Span<uint8_t> out) {
  if (out.empty()) return;
  InitializeOnce();
  t_generator.Fill(out.data(), out.size());
}

UniqueId NextUniqueId() {
  InitializeOnce();
  ThreadUniqueIds& ids = t_unique_ids;
  const uint64_t current = g_fork_generation.load(std::memory_order_relaxed);
  if (ids.generation != current) {
    uint8_t seed[16];
    FillRandom(absl::MakeSpan(seed));
    std::memcpy(&ids.high, seed, 8);
    std::memcpy(&ids.low, seed + 8, 8);
    ids.generation = current;
  }
  if (++ids.low == 0) ++ids.high;
  return UniqueId{ids.high, ids.low};
}

void NextUniqueId(absl::Span<uint8_t> out) {
  if (out.size() != 16) std::abort();  // a programming error, not an input
  const UniqueId id = NextUniqueId();
  StoreBigEndian64(id.high, out.data());
  StoreBigEndian64(id.low, out.data() + 8);
}

}  // namespace internal
}  // namespace kms_envelope
