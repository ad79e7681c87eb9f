#include "kms_envelope/secret_bytes.h"
#include "kms_envelope/internal/constant_time.h"

#include <sodium.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kms_envelope {
namespace {

std::atomic<SecretBytes::ReleaseObserver> g_release_observer{nullptr};

// A pool of fixed-size slots carved from sodium_malloc'd (locked, guard-paged) chunks of a
// whole number of pages (so slots stay 64-byte aligned). Chunks are never returned to the
// system: the pool only grows to the peak number of live secrets of its size class. Freed slots
// are wiped before they go back on the free list.
class LockedSlotPool {
 public:
  // Small secrets (keys) and large ones (expanded key schedules and GHASH tables).
  static LockedSlotPool& Get(size_t size) {
    // Never destroyed: secrets may outlive statics.
    static LockedSlotPool* small = new LockedSlotPool(SecretBytes::kPooledSlotSize, 1024);
    static LockedSlotPool* large = new LockedSlotPool(SecretBytes::kLargePooledSlotSize, 64);
    return size <= SecretBytes::kPooledSlotSize ? *small : *large;
  }

  size_t slot_size() const { return slot_size_; }

  // A thread first takes from (and returns to) a few slots of its own, so the message hot path,
  // which makes and drops a payload key and a data key per message, takes no lock. The slots a
  // thread holds at exit go back to the shared list (they are already wiped).
  uint8_t* Allocate() {
    ThreadSlots& mine = Mine();
    if (mine.count > 0) return mine.slots[--mine.count];
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty() && !Grow()) return nullptr;
    uint8_t* slot = free_.back();
    free_.pop_back();
    return slot;
  }

  void Release(uint8_t* slot) {
    ThreadSlots& mine = Mine();
    if (mine.count < kThreadSlots) {
      mine.slots[mine.count++] = slot;
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(slot);
  }

 private:
  static constexpr size_t kThreadSlots = 4;
  struct ThreadSlots {
    LockedSlotPool* pool = nullptr;
    uint8_t* slots[kThreadSlots] = {};
    size_t count = 0;
    ~ThreadSlots() {
      if (pool == nullptr || count == 0) return;
      std::lock_guard<std::mutex> lock(pool->mu_);
      pool->free_.insert(pool->free_.end(), slots, slots + count);
    }
  };

  // This thread's slots of this pool (one small and one large pool exist).
  ThreadSlots& Mine() {
    thread_local ThreadSlots per_pool[2];
    ThreadSlots& mine = per_pool[slot_size_ == SecretBytes::kPooledSlotSize ? 0 : 1];
    mine.pool = this;
    return mine;
  }

  LockedSlotPool(size_t slot_size, size_t slots_per_chunk)
      : slot_size_(slot_size), slots_per_chunk_(slots_per_chunk) {}

  bool Grow() {
    if (sodium_init() < 0) return false;
    void* chunk = sodium_malloc(slots_per_chunk_ * slot_size_);
    if (chunk == nullptr) return false;
    sodium_memzero(chunk, slots_per_chunk_ * slot_size_);
    free_.reserve(free_.size() + slots_per_chunk_);
    auto* base = static_cast<uint8_t*>(chunk);
    for (size_t i = slots_per_chunk_; i-- > 0;) free_.push_back(base + i * slot_size_);
    return true;
  }

  const size_t slot_size_;
  const size_t slots_per_chunk_;
  std::mutex mu_;
  std::vector<uint8_t*> free_;
};

}  // namespace

void SecretBytes::SetReleaseObserverForTesting(ReleaseObserver observer) {
  g_release_observer.store(observer);
}

absl::StatusOr<SecretBytes> SecretBytes::New(size_t size) {
  if (size > kMaxSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret of ", size, " bytes exceeds the maximum of ", kMaxSize));
  }
  if (size == 0) return SecretBytes();
  if (size <= kLargePooledSlotSize) {
    uint8_t* slot = LockedSlotPool::Get(size).Allocate();
    if (slot == nullptr) return absl::ResourceExhaustedError("cannot allocate locked memory");
    return SecretBytes(slot, size, /*pooled=*/true);
  }
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialize");
  void* p = sodium_malloc(size);
  if (p == nullptr) return absl::ResourceExhaustedError("cannot allocate locked memory");
  sodium_memzero(p, size);
  return SecretBytes(static_cast<uint8_t*>(p), size, /*pooled=*/false);
}

absl::StatusOr<SecretBytes> SecretBytes::CopyFrom(absl::Span<const uint8_t> bytes) {
  absl::StatusOr<SecretBytes> secret = New(bytes.size());
  if (secret.ok() && !bytes.empty()) std::memcpy(secret->data_, bytes.data(), bytes.size());
  return secret;
}

SecretBytes::~SecretBytes() { Clear(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(other.data_), size_(other.size_), pooled_(other.pooled_) {
  // Ownership moves; the source no longer refers to the storage (nothing left to wipe there).
  other.data_ = nullptr;
  other.size_ = 0;
  other.pooled_ = false;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    data_ = other.data_;
    size_ = other.size_;
    pooled_ = other.pooled_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.pooled_ = false;
  }
  return *this;
}

void SecretBytes::Clear() {
  if (data_ == nullptr) return;
  size_t wiped = pooled_ ? LockedSlotPool::Get(size_).slot_size() : size_;
  sodium_memzero(data_, wiped);
  if (ReleaseObserver observer = g_release_observer.load()) observer(data_, wiped);
  if (pooled_) {
    LockedSlotPool::Get(size_).Release(data_);
  } else {
    sodium_free(data_);  // sodium_free wipes again and unlocks
  }
  data_ = nullptr;
  size_ = 0;
  pooled_ = false;
}

bool SecretBytes::ConstantTimeEquals(const SecretBytes& other) const {
  return ConstantTimeEquals(other.span());
}

bool SecretBytes::ConstantTimeEquals(absl::Span<const uint8_t> other) const {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return internal::ConstantTimeEquals(data_, other.data(), size_);
}

}  // namespace kms_envelope
