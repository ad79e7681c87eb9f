// Finds copies of a secret in ordinary heap memory (operator new), to prove that code under test
// never copies a key out of SecretBytes into a std::string, std::vector or any other heap block.
//
//   #include "kms_envelope/testing/secret_heap_scan.h"  // in ONE .cc of the test binary
//   kms_envelope::testing::SecretHeapScan scan;
//   scan.Watch(key.span());                  // a key the test obtained legitimately (up to 4)
//   ... operation under test ...
//   EXPECT_EQ(scan.Finish(), 0u);            // blocks that held the key when freed or now
//
// While watching, every block freed through operator delete is searched for the secret before it
// goes back to malloc, and Finish() also searches every block still alive. Blocks are tracked from
// program start in a fixed table, so a copy into a string allocated before Watch() is found too
// (the table holds 2^20 live blocks; beyond that `untracked()` counts what was missed).
// Memory from malloc outside operator new (OpenSSL, libsodium) and stack copies are not seen.
//
// The header replaces the global operator new/delete, which may be defined once per program:
// include it from exactly one translation unit of a test binary, and not together with
// allocation_counter.h. Thread safe; one scan at a time.
#ifndef KMS_ENVELOPE_TESTING_SECRET_HEAP_SCAN_H_
#define KMS_ENVELOPE_TESTING_SECRET_HEAP_SCAN_H_

#include <malloc.h>
#include <sodium.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/types/span.h"

namespace kms_envelope {
namespace testing {
namespace secret_heap_scan_internal {

inline constexpr size_t kTableSize = size_t{1} << 21;  // twice the live blocks it can hold
inline constexpr uintptr_t kTombstone = 1;
inline constexpr size_t kMaxSecret = 64;
inline constexpr size_t kMaxSecrets = 4;

inline std::atomic<uintptr_t> table[kTableSize];
inline std::atomic<bool> watching{false};
inline uint8_t secrets[kMaxSecrets][kMaxSecret];
inline size_t secret_sizes[kMaxSecrets] = {};
inline size_t secret_count = 0;
inline std::atomic<size_t> found{0};
inline std::atomic<size_t> untracked{0};

inline size_t Slot(uintptr_t p) { return (p >> 4) * 0x9E3779B97F4A7C15ull >> 43; }

inline void Track(void* block) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(block);
  for (size_t i = 0, s = Slot(p); i < kTableSize; ++i, s = (s + 1) & (kTableSize - 1)) {
    uintptr_t cur = table[s].load(std::memory_order_relaxed);
    while (cur == 0 || cur == kTombstone) {
      if (table[s].compare_exchange_weak(cur, p, std::memory_order_relaxed)) return;
    }
  }
  untracked.fetch_add(1);
}

inline void Untrack(void* block) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(block);
  for (size_t i = 0, s = Slot(p); i < kTableSize; ++i, s = (s + 1) & (kTableSize - 1)) {
    uintptr_t cur = table[s].load(std::memory_order_relaxed);
    if (cur == 0) return;
    if (cur == p && table[s].compare_exchange_strong(cur, kTombstone, std::memory_order_relaxed)) {
      return;
    }
  }
}

// A scanner reads whole blocks on purpose, including bytes a container marked unused (ASan
// poisons those, e.g. the empty slots of absl's hash tables), so no address checks here and no
// intercepted memcmp.
__attribute__((no_sanitize("address"))) inline bool Holds(const void* block) {
  const size_t n = malloc_usable_size(const_cast<void*>(block));
  const auto* b = static_cast<const uint8_t*>(block);
  for (size_t k = 0; k < secret_count; ++k) {
    const uint8_t* secret = secrets[k];
    const size_t size = secret_sizes[k];
    for (size_t i = 0; i + size <= n; ++i) {
      size_t j = 0;
      while (j < size && b[i + j] == secret[j]) ++j;
      if (j == size) return true;
    }
  }
  return false;
}

}  // namespace secret_heap_scan_internal

class SecretHeapScan {
 public:
  SecretHeapScan() = default;
  ~SecretHeapScan() { Stop(); }
  SecretHeapScan(const SecretHeapScan&) = delete;
  SecretHeapScan& operator=(const SecretHeapScan&) = delete;

  // Adds `secret` (8..64 bytes, at most 4 secrets) to what is searched for; starts watching.
  // The secrets are kept in a static buffer that Finish wipes. Returns false when refused.
  [[nodiscard]] bool Watch(absl::Span<const uint8_t> secret) {
    namespace in = secret_heap_scan_internal;
    if (secret.size() < 8 || secret.size() > in::kMaxSecret) return false;
    if (in::secret_count == in::kMaxSecrets) return false;
    in::watching = false;
    std::memcpy(in::secrets[in::secret_count], secret.data(), secret.size());
    in::secret_sizes[in::secret_count] = secret.size();
    ++in::secret_count;
    in::watching = true;
    return true;
  }

  // Stops watching; returns how many heap blocks held the secret when freed plus how many
  // live blocks hold it now.
  size_t Finish() {
    namespace in = secret_heap_scan_internal;
    in::watching = false;
    size_t live = 0;
    if (in::secret_count > 0) {
      for (auto& slot : in::table) {
        uintptr_t p = slot.load(std::memory_order_relaxed);
        if (p > in::kTombstone && in::Holds(reinterpret_cast<void*>(p))) ++live;
      }
    }
    const size_t freed = in::found.load();
    Stop();
    return freed + live;
  }

  static size_t untracked() { return secret_heap_scan_internal::untracked.load(); }

 private:
  static void Stop() {
    namespace in = secret_heap_scan_internal;
    in::watching = false;
    sodium_memzero(in::secrets, sizeof(in::secrets));
    in::secret_count = 0;
    in::found = 0;
  }
};

}  // namespace testing
}  // namespace kms_envelope

void* operator new(size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  kms_envelope::testing::secret_heap_scan_internal::Track(p);
  return p;
}
void operator delete(void* p) noexcept {
  namespace in = kms_envelope::testing::secret_heap_scan_internal;
  if (p == nullptr) return;
  in::Untrack(p);
  if (in::watching.load() && in::Holds(p)) in::found.fetch_add(1);
  std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

#endif  // KMS_ENVELOPE_TESTING_SECRET_HEAP_SCAN_H_
