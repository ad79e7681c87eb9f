// Per-thread leases of a cached data key: what lets cache hits from several cores proceed
// without writing memory that other cores write.
//
//   LeaseRegistry leases;                   // one per cache
//   ThreadLease& mine = leases.Mine();      // this thread's lease (created on first use)
//   { std::lock_guard<std::mutex> l(mine.mu); if (mine.block && ...) serve from mine; }
//   leases.Drop(block);                     // under the cache lock, when an entry goes
//
// An encrypt-side lease is a reservation of some messages and bytes from one entry's budget, made under
// the cache lock and counted against the entry at once. Hits within the lease take only the
// lease's own mutex, which other threads take only to drop the lease, so two threads hitting one
// entry no longer pass a shared lock's cache line between cores on every call. Because the
// budget is counted when it is leased, an entry never hands out more than its limits; the unused
// part of a lease goes back to the entry when its thread moves on (if the entry is still there)
// and is lost when the entry retires. A decrypt-side lease is only a reference to the entry the
// thread used last (decrypt entries have no budget, only an age, checked on every use).
//
// Thread safety: a thread reads and writes only its own lease, under the lease's mutex; Drop and
// the destructor reach every thread's lease, also under its mutex. Lock order: the cache's lock,
// then the registry's, then a lease's.
#ifndef KMS_ENVELOPE_CACHE_THREAD_LEASE_H_
#define KMS_ENVELOPE_CACHE_THREAD_LEASE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace cache {
namespace cache_internal {

// One GenerateDataKey or Decrypt response (no ciphertext_blob for Decrypt), immutable once
// cached; shared by the entry and the leases of it.
// The key is wiped when the last of them lets go.
struct KeyBlock {
  std::string key_id;
  std::string key_version_id;
  std::string ciphertext_blob;
  std::string request_id;
  SecretBytes plaintext;
  std::chrono::steady_clock::time_point created;
};

// Cache-line aligned: two threads' leases never share a line, so one thread's hits do not
// invalidate the line another thread is using.
struct alignas(64) ThreadLease {
  std::mutex mu;
  std::string cache_key;                  // of the entry leased from
  std::shared_ptr<const KeyBlock> block;  // null: no lease
  uint64_t messages_left = 0;
  uint64_t bytes_left = 0;
  uint64_t hits = 0;                      // GenerateDataKey calls served from the lease
  std::string decrypt_key;                        // of the decrypt entry last used
  std::shared_ptr<const KeyBlock> decrypt_block;  // null: none
  uint64_t decrypt_hits = 0;                      // Decrypt calls served from the lease
  std::atomic<bool> dead{false};                  // the registry is gone

  // Caller holds mu. Drops the encrypt-side lease.
  void Reset() {
    block.reset();
    messages_left = 0;
    bytes_left = 0;
  }
};

struct LeasedHits {
  uint64_t generate = 0;
  uint64_t decrypt = 0;
};

class LeaseRegistry {
 public:
  LeaseRegistry();
  // Drops every lease, so that no key outlives the cache in a thread's lease.
  ~LeaseRegistry();
  LeaseRegistry(const LeaseRegistry&) = delete;
  LeaseRegistry& operator=(const LeaseRegistry&) = delete;

  // The calling thread's lease (registered on first use; no allocation after that).
  ThreadLease& Mine();
  // Drops every lease of `block`, or every lease when `block` is null.
  void Drop(const KeyBlock* block);
  // Calls served from leases so far, by threads alive or gone.
  LeasedHits hits() const;

 private:
  const uint64_t id_;  // never reused, unlike an address
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<ThreadLease>> leases_;
  LeasedHits hits_of_gone_threads_;
};

}  // namespace cache_internal
}  // namespace cache
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CACHE_THREAD_LEASE_H_
