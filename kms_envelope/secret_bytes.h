// SecretBytes: the only type that holds plaintext key material in kms_envelope.
//
//   KMS_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::New(32));
//   FillRandom(key.mutable_span());
//   SecretBytes moved = std::move(key);   // `key` is now empty and its old bytes are wiped
//   bool same = moved.ConstantTimeEquals(other);
//
// Contract:
// - Storage comes from locked (mlock'd, never swapped), guard-paged memory obtained from
//   libsodium (`sodium_malloc`). Buffers of up to kPooledSlotSize (and of up to
//   kLargePooledSlotSize) bytes are carved from a pool of such pages so that creating a data key
//   or its AES-GCM key schedule costs no system call; larger buffers get their own
//   `sodium_malloc` allocation.
// - The bytes are wiped (`sodium_memzero`) on destruction, when moved from, and on Clear().
// - Move-only. There is no operator==, no implicit conversion to std::string or to a view that
//   outlives the object; equality is constant time (internal/constant_time.h).
// - Thread safety: a SecretBytes object is not synchronized; distinct objects may be used from
//   distinct threads concurrently (the pool is internally locked).
//
// Warning: `span()` gives a view of secret memory. Never copy it into std::string/std::vector,
// never log it, and do not keep the view past the object's lifetime.
#ifndef KMS_ENVELOPE_SECRET_BYTES_H_
#define KMS_ENVELOPE_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kms_envelope {

class SecretBytes {
 public:
  // Buffers of at most this many bytes come from the locked pool.
  static constexpr size_t kPooledSlotSize = 64;
  // Buffers of more than kPooledSlotSize and at most this many bytes come from a second locked
  // pool (an AES-GCM key schedule with its GHASH table fits: see internal/aead); 18 * 64 bytes,
  // so 64 slots fill whole pages and every slot is 64-byte aligned.
  static constexpr size_t kLargePooledSlotSize = 1152;
  // The largest secret this type will allocate (bounds every attacker-influenced size).
  static constexpr size_t kMaxSize = size_t{1} << 20;

  // An empty secret (size 0, no storage).
  SecretBytes() = default;
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // A zero-filled secret of `size` bytes. InvalidArgument when size > kMaxSize;
  // ResourceExhausted when locked memory cannot be obtained.
  [[nodiscard]] static absl::StatusOr<SecretBytes> New(size_t size);
  // A secret holding a copy of `bytes`. The caller remains responsible for wiping its source.
  [[nodiscard]] static absl::StatusOr<SecretBytes> CopyFrom(absl::Span<const uint8_t> bytes);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const uint8_t* data() const { return data_; }
  uint8_t* mutable_data() { return data_; }
  absl::Span<const uint8_t> span() const { return absl::Span<const uint8_t>(data_, size_); }
  absl::Span<uint8_t> mutable_span() { return absl::Span<uint8_t>(data_, size_); }

  // Constant-time comparison (time depends only on the sizes). False when sizes differ.
  [[nodiscard]] bool ConstantTimeEquals(const SecretBytes& other) const;
  [[nodiscard]] bool ConstantTimeEquals(absl::Span<const uint8_t> other) const;

  // Wipes and releases the storage; the object becomes empty.
  void Clear();

  // Testing hook: called with the storage of every secret right after it was wiped and before it
  // is released (or returned to the pool), so tests can prove that all bytes are zero.
  // Pass nullptr to remove. Not thread safe with respect to concurrent secret destruction.
  using ReleaseObserver = void (*)(const uint8_t* data, size_t size);
  static void SetReleaseObserverForTesting(ReleaseObserver observer);

 private:
  SecretBytes(uint8_t* data, size_t size, bool pooled) : data_(data), size_(size), pooled_(pooled) {}

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool pooled_ = false;
};

}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SECRET_BYTES_H_
