// CachingKeyProvider: reuses data keys within limits and remembers unwrapped keys, in front of
// any KeyProvider (local CMK store, remote KMS).
//
//   CachingKeyProvider::Options options;
//   options.limits.max_age = std::chrono::seconds(60);
//   options.limits.max_messages = 10000;
//   options.limits.max_bytes = uint64_t{1} << 30;
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<CachingKeyProvider> kms,
//                        CachingKeyProvider::New(std::move(remote_kms), options));
//
//   // Encrypt side: one message of `message.size()` bytes under a (possibly shared) data key.
//   GenerateDataKeyRequest req;
//   req.key_id = "alias/backup";
//   req.message_bytes = message.size();                // counted against max_bytes
//   GenerateDataKeyResponse dk;                        // reuse across calls: no allocation
//   KMS_RETURN_IF_ERROR(kms->GenerateDataKeyInto(req, &dk));
//   // dk.from_cache says whether the KMS was asked.
//
//   // Decrypt side: repeated Decrypt of the same CiphertextBlob + context is answered locally.
//   KMS_RETURN_IF_ERROR(kms->DecryptInto(dreq, &key));
//
// Encrypt side. An entry holds one GenerateDataKey response and is keyed by
//   (provider_id of the wrapped provider, KeyId as requested, resolved data key size,
//    partition (e.g. the envelope suite), canonical encryption context).
// Each call that takes a key from an entry is one *message* and declares its *bytes*. An entry
// is served only while all of these hold, else it is retired (wiped) and a new key is generated:
//   age < limits.max_age, messages (including this one) <= limits.max_messages,
//   bytes (including this message's) <= limits.max_bytes.
// limits.max_messages is clamped to kMaxMessagesPerDataKey (2^32, the bound for AES-GCM with
// random 96-bit nonces, NIST SP 800-38D 8.3) and limits.max_bytes to kMaxBytesPerDataKey.
//
// Bytes come from GenerateDataKeyRequest::message_bytes (Envelope sets it to the plaintext size)
// or DataKeyUsage::bytes. A request without message_bytes has no known size (a stream): it
// gets a fresh key that is not cached, as does a message that alone exceeds max_bytes, because
// sharing a key with it could exceed the byte limit. Callers of the plain KeyProvider interface
// therefore set message_bytes to share keys.
//
// Decrypt side. An entry holds one unwrapped data key and is keyed by (provider_id, the exact
// CiphertextBlob, canonical encryption context); it lives at most limits.decrypt_max_age. Only a
// successful Decrypt is cached, so a wrong context never reaches a cached key. While an entry
// lives, disabling or deleting the CMK does not stop Decrypt of that blob through this cache: that
// is the trade-off bounded by decrypt_max_age (docs/cache.md, "Limits and their security
// trade-offs").
//
// Cache keys. The fields above are stored exactly (length-prefixed) and compared exactly, so
// two requests share an entry only when all fields are equal: a different CMK, provider, key
// size, partition or context never gets another's key. None of these fields is secret (the
// context is associated data that KMS audit logs record in clear; a CiphertextBlob is public);
// data keys themselves are never compared. The hash tables hash the keys with SipHash-2-4 under
// a random per-instance key, so requests cannot be chosen to collide in a table. Memory per
// entry is bounded by the field limits (EncryptionContext::kMaxCanonicalSize,
// kMaxCiphertextBlobSize) times limits.capacity.
// The KeyId is taken as requested: an alias and its CMK GUID are distinct entries, and an
// alias that is re-pointed keeps serving the old CMK's key until the entry retires.
//
// Concurrency. Thread safe. Concurrent misses for one entry make a single provider call (single
// flight): the others wait for it and share its key, or its error. Retryable errors (Throttling,
// ServiceUnavailableTemporary, InternalFailure, absl Unavailable/DeadlineExceeded/
// ResourceExhausted) may be remembered for limits.negative_ttl (0 = off), during which calls for
// that entry fail fast without reaching the provider.
// Hits scale across threads through per-thread leases (thread_lease.h): a thread reserves part of
// an entry's message and byte budget under the cache lock, counted at once, and serves its next
// hits on that entry without the shared lock; limits hold exactly, reserved budget that is not
// used is given back or lost (a key may retire early, never late). Retiring, evicting or clearing
// an entry drops every thread's lease of it, so its key is wiped then.
//
// Capacity. Each side holds at most limits.capacity entries; the least recently used (or
// leased) entry is evicted (and its key wiped) when a new one is inserted.
//
// Secrets. Cached keys live in SecretBytes (locked memory, wiped when retired, evicted, on
// Clear() and on destruction). Responses served from the cache have from_cache = true and carry
// the RequestId of the provider call that produced the key.
//
// GenerateDataKeyWithoutPlaintext, Encrypt and ReEncrypt pass through uncached.
#ifndef KMS_ENVELOPE_CACHE_CACHING_KEY_PROVIDER_H_
#define KMS_ENVELOPE_CACHE_CACHING_KEY_PROVIDER_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope {
namespace cache {
namespace cache_internal {
struct Flight;
struct State;
struct ThreadLease;
}  // namespace cache_internal

// AES-GCM with random 96-bit nonces: at most 2^32 invocations per key (NIST SP 800-38D 8.3).
inline constexpr uint64_t kMaxMessagesPerDataKey = uint64_t{1} << 32;
// 2^32 messages of at most 2^36-32 bytes each would be 2^68; we bound a key's total at 2^48 bytes
// (256 TiB), far below any AEAD limit, so the counter never overflows.
inline constexpr uint64_t kMaxBytesPerDataKey = uint64_t{1} << 48;
// Largest capacity accepted (each entry holds a data key in locked memory).
inline constexpr size_t kMaxCapacity = size_t{1} << 20;
// Longest KeyId (GUID or alias/<name>) and DataKeyUsage::partition accepted: they are part of
// the stored cache key. Longer values are refused (InvalidParameter) before anything is stored.
inline constexpr size_t kMaxCachedKeyIdSize = 1024;
inline constexpr size_t kMaxPartitionSize = 256;
// DataKeyUsage::bytes of a message whose size is not known: above every byte limit, so the
// message gets a key of its own.
inline constexpr uint64_t kUnknownMessageBytes = ~uint64_t{0};

// A source of monotonic time; injectable so tests can age entries.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  // The process's steady clock (never destroyed).
  static const Clock* Steady();
};

struct CacheLimits {
  std::chrono::nanoseconds max_age = std::chrono::seconds(60);
  uint64_t max_messages = 10000;
  uint64_t max_bytes = uint64_t{1} << 32;
  std::chrono::nanoseconds decrypt_max_age = std::chrono::seconds(60);
  size_t capacity = 1000;  // per side (encrypt, decrypt)
  std::chrono::nanoseconds negative_ttl = std::chrono::nanoseconds(0);
};

// What one call takes from a data key.
struct DataKeyUsage {
  uint64_t messages = 1;
  uint64_t bytes = 0;
  // Keeps keys for different uses apart (e.g. the envelope suite name): part of the cache key.
  std::string_view partition;
};

struct CacheStats {
  uint64_t generate_requests = 0;   // GenerateDataKey* calls
  uint64_t generate_hits = 0;       // served from an entry (incl. shared single-flight results)
  uint64_t decrypt_requests = 0;
  uint64_t decrypt_hits = 0;
  uint64_t provider_generate_calls = 0;  // calls that reached the wrapped provider
  uint64_t provider_decrypt_calls = 0;
  uint64_t negative_hits = 0;       // calls failed fast from a remembered error
  uint64_t evictions = 0;           // LRU evictions (capacity)
  uint64_t retirements = 0;         // entries dropped for age, messages or bytes
};

class CachingKeyProvider : public KeyProvider {
 public:
  struct Options {
    CacheLimits limits;
    const Clock* clock = nullptr;  // null = Clock::Steady(); must outlive the cache
  };

  // InvalidArgument for a null provider, zero limits (max_age, max_messages, max_bytes,
  // decrypt_max_age, capacity) or capacity > kMaxCapacity. Limits above the hard bounds
  // (kMaxMessagesPerDataKey, kMaxBytesPerDataKey) are clamped to them.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CachingKeyProvider>> New(
      std::unique_ptr<KeyProvider> provider, Options options);
  // The same over a provider the caller keeps alive (it must outlive the cache).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CachingKeyProvider>> NewBorrowing(
      KeyProvider* provider, Options options);

  ~CachingKeyProvider() override;

  // The wrapped provider's id: envelopes route blobs by it, and the cache is transparent.
  std::string_view provider_id() const override;

  // One message of request.message_bytes bytes; unset = unknown size (see the header comment).
  [[nodiscard]] absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                 GenerateDataKeyResponse* response) override;
  // Takes `usage` from a cached data key, or generates one. InvalidArgument when
  // usage.messages is 0, when request.message_bytes is set and differs from usage.bytes, or
  // when the request is invalid (ResolveDataKeySize).
  [[nodiscard]] absl::Status GenerateDataKeyForMessage(const GenerateDataKeyRequest& request,
                                                       const DataKeyUsage& usage,
                                                       GenerateDataKeyResponse* response);
  [[nodiscard]] absl::Status DecryptInto(const DecryptRequest& request,
                                         DecryptResponse* response) override;

  [[nodiscard]] absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
  GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) override;
  [[nodiscard]] absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) override;
  [[nodiscard]] absl::StatusOr<ReEncryptResponse> ReEncrypt(
      const ReEncryptRequest& request) override;

  // Wipes and drops every entry and remembered error (in-flight calls complete normally).
  void Clear();

  CacheStats stats() const;
  size_t encrypt_entries() const;
  size_t decrypt_entries() const;
  const CacheLimits& limits() const { return limits_; }

 private:
  CachingKeyProvider(std::unique_ptr<KeyProvider> owned, KeyProvider* provider,
                     CacheLimits limits, const Clock* clock);
  // The encrypt side past this thread's lease: under the lock, an entry or a miss.
  absl::Status GenerateShared(const GenerateDataKeyRequest& request, const DataKeyUsage& usage,
                              cache_internal::ThreadLease& lease,
                              GenerateDataKeyResponse* response);
  // The same two steps for Decrypt.
  absl::Status DecryptShared(const DecryptRequest& request, cache_internal::ThreadLease& lease,
                             DecryptResponse* response);
  absl::Status DecryptMiss(const DecryptRequest& request, cache_internal::ThreadLease& lease,
                           cache_internal::Flight& flight, DecryptResponse* response);
  // Makes the provider call of a miss this thread leads (its flight is registered), caches it.
  absl::Status GenerateMiss(const GenerateDataKeyRequest& request, const DataKeyUsage& usage,
                            cache_internal::ThreadLease& lease, cache_internal::Flight& flight,
                            GenerateDataKeyResponse* response);

  std::unique_ptr<KeyProvider> owned_;
  KeyProvider* provider_;
  CacheLimits limits_;
  const Clock* clock_;
  std::unique_ptr<cache_internal::State> state_;
};

}  // namespace cache
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_CACHE_CACHING_KEY_PROVIDER_H_
