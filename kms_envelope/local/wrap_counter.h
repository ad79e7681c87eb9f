// WrapAllowance: how many more CiphertextBlobs this process may wrap under one CMK version.
//
//   WrapAllowance& wraps = version_key.wraps;
//   if (!wraps.TryTake()) {                       // range used up: the slow path
//     std::lock_guard<std::mutex> refill(wraps.refill_mutex());
//     // under the store's cross-process lock: read the persisted count `reserved`, then
//     uint64_t n = wraps.NextGrant(reserved, limit, max_range);   // 0: the version is spent
//     // persist reserved + n, and only after the write succeeded:
//     wraps.Grant(n);
//   }
//
// Why: every blob is AES-256-GCM under the version's key with a random 96-bit IV, and NIST SP
// 800-38D bounds such a key to 2^32 invocations. The store persists, per version, how many
// wraps all processes together have reserved (`WrapsReserved`, docs/store-format.md); a
// process reserves a range at a time under the store lock and spends it with one atomic
// decrement per wrap (no syscall, no lock). A crash loses the unspent rest of a range - those
// counts stay counted, so a count is never handed out twice.
//
// Ranges start at kFirstWrapReservation and double per reservation up to the configured
// maximum, so a short-lived process (one CLI call) spends little of the limit while a busy one
// writes the store rarely.
//
// Thread safety: TryTake and exhausted() may be called concurrently from any
// thread; NextGrant and Grant only with refill_mutex() held.
#ifndef KMS_ENVELOPE_LOCAL_WRAP_COUNTER_H_
#define KMS_ENVELOPE_LOCAL_WRAP_COUNTER_H_

#include <atomic>
#include <cstdint>
#include <mutex>

namespace kms_envelope {
namespace local {

// Default per-version limit (docs/store-format.md argues it): 2^30 wraps keeps the probability
// of any IV collision under one version below 2^-37, and leaves a factor 4 below NIST's 2^32
// for wraps the counter cannot see (a store copied to another machine, or restored from a
// backup, counts again from its old value).
inline constexpr uint64_t kDefaultWrapLimit = uint64_t{1} << 30;
// The largest limit LocalKeyStoreOptions accepts: NIST SP 800-38D's bound for random IVs.
inline constexpr uint64_t kMaxWrapLimit = uint64_t{1} << 32;
// Default largest range a process reserves at once.
inline constexpr uint64_t kDefaultWrapReservation = uint64_t{1} << 20;
// A process's first range for a version; each further range is twice the previous one.
inline constexpr uint64_t kFirstWrapReservation = uint64_t{1} << 10;

class WrapAllowance {
 public:
  WrapAllowance() = default;
  WrapAllowance(const WrapAllowance&) = delete;
  WrapAllowance& operator=(const WrapAllowance&) = delete;

  // Hot path: spends one wrap of the reserved range. False when none is left.
  bool TryTake() { return remaining_.fetch_sub(1, std::memory_order_relaxed) > 0; }

  // The size of the next range given `reserved` wraps already reserved by all processes:
  // min(this process's next range size, max_range, limit - reserved); 0 when the version
  // reached `limit`. Caller holds refill_mutex().
  uint64_t NextGrant(uint64_t reserved, uint64_t limit, uint64_t max_range) const;
  // Makes `n` freshly persisted wraps available and doubles the next range size. Call
  // only after the reservation was written. Caller holds refill_mutex().
  void Grant(uint64_t n);

  // Set when a reservation was refused at the limit; lets later calls refuse without I/O.
  void MarkExhausted() { exhausted_.store(true, std::memory_order_relaxed); }
  bool exhausted() const { return exhausted_.load(std::memory_order_relaxed); }

  std::mutex& refill_mutex() { return refill_mu_; }

 private:
  // Signed: failed TryTake calls drive it below zero; Grant overwrites it.
  std::atomic<int64_t> remaining_{0};
  std::atomic<bool> exhausted_{false};
  std::mutex refill_mu_;
  uint64_t next_range_ = kFirstWrapReservation;  // guarded by refill_mu_
};

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_WRAP_COUNTER_H_
