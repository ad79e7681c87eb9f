#include "kms_envelope/internal/random.h"

#include <pthread.h>
#include <sodium.h>
#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace kms_envelope {
namespace internal {
namespace {

// Bumped in the child after fork(): every generator whose generation differs reseeds.
std::atomic<uint64_t> g_fork_generation{1};

void OnForkChild() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

void RegisterForkHandler() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, &OnForkChild);
    return true;
  }();
  (void)registered;
}

// Output is produced in blocks of at most this size; the first 32 bytes of each block rekey.
constexpr size_t kBlock = 256;

struct ThreadGenerator {
  uint8_t key[crypto_stream_chacha20_ietf_KEYBYTES];
  uint64_t counter = 0;
  uint64_t draws = 0;
  uint64_t generation = 0;  // 0 = never seeded

  ~ThreadGenerator() { sodium_memzero(key, sizeof(key)); }

  void Reseed() {
    FillRandomFromKernel(absl::MakeSpan(key));
    counter = 0;
    draws = 0;
    generation = g_fork_generation.load(std::memory_order_relaxed);
  }

  void Fill(uint8_t* out, size_t n) {
    uint64_t current = g_fork_generation.load(std::memory_order_relaxed);
    if (generation != current || draws >= kReseedInterval) Reseed();
    ++draws;
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    if (n + sizeof(key) <= kBlock) {
      uint8_t block[kBlock];
      size_t len = sizeof(key) + n;
      std::memcpy(nonce, &counter, sizeof(counter));
      ++counter;
      crypto_stream_chacha20_ietf(block, len, nonce, key);
      std::memcpy(key, block, sizeof(key));  // fast key erasure
      std::memcpy(out, block + sizeof(key), n);
      sodium_memzero(block, len);
      return;
    }
    // Large requests: a fresh key for the bulk stream, then rekey.
    uint8_t next[2 * sizeof(key)];
    std::memcpy(nonce, &counter, sizeof(counter));
    ++counter;
    crypto_stream_chacha20_ietf(next, sizeof(next), nonce, key);
    std::memcpy(key, next, sizeof(key));
    uint8_t zero_nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    // crypto_stream_chacha20_ietf handles at most 2^38 bytes with a 32-bit block counter; callers
    // never ask for more than a few KiB, but guard anyway by splitting.
    const uint8_t* bulk_key = next + sizeof(key);
    size_t done = 0;
    uint32_t sub = 0;
    while (done < n) {
      size_t chunk = std::min<size_t>(n - done, size_t{1} << 30);
      std::memcpy(zero_nonce, &sub, sizeof(sub));
      crypto_stream_chacha20_ietf(out + done, chunk, zero_nonce, bulk_key);
      done += chunk;
      ++sub;
    }
    sodium_memzero(next, sizeof(next));
  }
};

thread_local ThreadGenerator t_generator;

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
  RegisterForkHandler();
  t_generator.Fill(out.data(), out.size());
}

}  // namespace internal
}  // namespace kms_envelope
