#include "kms_envelope/cache/caching_key_provider.h"

#include <pthread.h>
#include <sodium.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/cache/thread_lease.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cache {
namespace {

using cache_internal::KeyBlock;
using cache_internal::LeaseRegistry;
using cache_internal::ThreadLease;
using internal::Av;
using TimePoint = std::chrono::steady_clock::time_point;

// A thread leases 1/kLeaseDivisor of an entry's message and byte limits at a time: small enough
// that budget stranded in idle threads' leases costs few extra KMS calls, large enough that the
// shared lock is taken once per many hits. Limits below kLeaseDivisor messages are never leased.
constexpr uint64_t kLeaseDivisor = 64;

// Cache keys are stored exactly (length-prefixed fields, see AppendField); none of the fields is
// secret (provider id, KeyId, key size, partition, encryption context, CiphertextBlob). The hash
// table hashes them with SipHash-2-4 under a per-instance random key, so nobody can choose
// requests that collide in the table.
struct KeyHash {
  const uint8_t* siphash_key;  // crypto_shorthash_KEYBYTES, owned by the cache
  size_t operator()(absl::string_view k) const {
    uint64_t h;
    crypto_shorthash(reinterpret_cast<uint8_t*>(&h), reinterpret_cast<const uint8_t*>(k.data()),
                     k.size(), siphash_key);
    return static_cast<size_t>(h);
  }
};

struct KeyEq {
  bool operator()(absl::string_view a, absl::string_view b) const { return a == b; }
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

void AppendField(std::string* out, const void* data, size_t size) {
  const uint32_t n = static_cast<uint32_t>(size);
  char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                 static_cast<char>(n)};
  out->append(len, sizeof(len));
  out->append(static_cast<const char*>(data), size);
}
void AppendField(std::string* out, std::string_view s) { AppendField(out, s.data(), s.size()); }
void AppendField(std::string* out, absl::Span<const uint8_t> s) { AppendField(out, s.data(), s.size()); }

// The cache key of the current call is built here (capacity is kept: no allocation once warm).
// Only used between building the key and the end of the locked lookup; a miss copies it before
// calling out (a nested cache on the same thread would overwrite it).
thread_local std::string t_key_buffer;

bool IsRetryable(const absl::Status& status) {
  std::string code = GetKmsErrorCode(status);
  if (code == kms_code::kThrottling || code == kms_code::kRejectedThrottling ||
      code == kms_code::kServiceUnavailableTemporary || code == kms_code::kInternalFailure) {
    return true;
  }
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

// Copies a secret into `out`, reusing its storage when the size matches (no allocation).
absl::Status CopySecret(const SecretBytes& from, SecretBytes* out) {
  if (out->size() == from.size() && !from.empty()) {
    std::memcpy(out->mutable_data(), from.data(), from.size());
    return absl::OkStatus();
  }
  absl::StatusOr<SecretBytes> copy = SecretBytes::CopyFrom(from.span());
  if (!copy.ok()) return copy.status();
  *out = *std::move(copy);
  return absl::OkStatus();
}

// Counters include what is leased to threads (see thread_lease.h).
struct EncryptEntry {
  std::string cache_key;
  std::shared_ptr<const KeyBlock> block;
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

struct DecryptEntry {
  std::string cache_key;
  std::shared_ptr<const KeyBlock> block;
};

}  // namespace

namespace cache_internal {
// One provider call in progress; callers that miss on the same key wait for it.
struct Flight {
  std::string cache_key;
  std::condition_variable_any done_cv;
  bool done = false;
  absl::Status status;
};
}  // namespace cache_internal

namespace {
using cache_internal::Flight;

struct NegativeEntry {
  std::string cache_key;
  absl::Status status;
  TimePoint expires;
};

// One side of the cache: LRU list of entries (front = most recently used) with an index, the
// calls in flight and the remembered retryable errors. Map keys are views of the cache key
// owned by the entry / flight / negative entry they map to.
template <typename Entry>
struct Side {
  using List = std::list<Entry>;
  template <typename V>
  using Map = absl::flat_hash_map<absl::string_view, V, KeyHash, KeyEq>;

  explicit Side(const uint8_t* siphash_key)
      : index(0, KeyHash{siphash_key}),
        flights(0, KeyHash{siphash_key}),
        negatives(0, KeyHash{siphash_key}) {}

  List lru;
  Map<typename List::iterator> index;
  Map<std::shared_ptr<Flight>> flights;
  Map<std::unique_ptr<NegativeEntry>> negatives;

  void Erase(typename Map<typename List::iterator>::iterator it) {
    typename List::iterator node = it->second;
    index.erase(it);
    lru.erase(node);  // the entry's SecretBytes wipes the key
  }

  // Inserts (replacing an entry with the same key), evicting the least recently used entry
  // when full; `on_drop` sees each entry before it goes. Returns the number of evictions.
  template <typename OnDrop>
  uint64_t Insert(Entry entry, size_t capacity, OnDrop on_drop) {
    auto existing = index.find(Av(entry.cache_key));
    if (existing != index.end()) {
      on_drop(*existing->second);
      Erase(existing);
    }
    uint64_t evicted = 0;
    while (lru.size() >= capacity && !lru.empty()) {
      on_drop(lru.back());
      index.erase(Av(lru.back().cache_key));
      lru.pop_back();
      ++evicted;
    }
    lru.push_front(std::move(entry));
    index.emplace(Av(lru.front().cache_key), lru.begin());
    return evicted;
  }

  // A remembered error for `key` that has not expired, else null (expired ones are dropped).
  const NegativeEntry* FindNegative(absl::string_view key, TimePoint now) {
    if (negatives.empty()) return nullptr;
    auto it = negatives.find(key);
    if (it == negatives.end()) return nullptr;
    if (now < it->second->expires) return it->second.get();
    negatives.erase(it);
    return nullptr;
  }

  void Remember(const std::string& key, const absl::Status& status, TimePoint expires,
                size_t capacity) {
    if (negatives.size() >= capacity) negatives.clear();  // bounded; errors are cheap to relearn
    auto it = negatives.find(Av(key));
    if (it != negatives.end()) negatives.erase(it);
    auto entry = std::make_unique<NegativeEntry>(NegativeEntry{key, status, expires});
    absl::string_view view = Av(entry->cache_key);
    negatives.emplace(view, std::move(entry));
  }

  void Clear() {
    index.clear();
    lru.clear();
    negatives.clear();
  }

  // Under `lock`: when a provider call for `key` is in flight, waits for it and returns true
  // with the leader's error in `*status` (OK: look again, the leader may have cached a key).
  // False when none is in flight: the caller leads.
  template <typename Lock>
  bool AwaitFlight(absl::string_view key, Lock& lock, absl::Status* status) {
    auto it = flights.find(key);
    if (it == flights.end()) return false;
    std::shared_ptr<Flight> flight = it->second;
    flight->done_cv.wait(lock, [&] { return flight->done; });
    *status = flight->status;
    return true;
  }

  // Under the lock: registers the caller's provider call for `key`; the flight owns a copy of
  // the key (the provider call may reuse t_key_buffer).
  std::shared_ptr<Flight> Lead(absl::string_view key) {
    auto flight = std::make_shared<Flight>();
    flight->cache_key = std::string(key);
    flights.emplace(Av(flight->cache_key), flight);
    return flight;
  }

  // Under the lock: the call for `flight` ended with `status`; waiters are notified by the
  // caller once it has released the lock. Retryable errors are remembered when limits say so.
  void Land(Flight& flight, const absl::Status& status, const CacheLimits& limits, TimePoint now) {
    flights.erase(Av(flight.cache_key));
    flight.done = true;
    flight.status = status;
    if (!status.ok() && limits.negative_ttl.count() > 0 && IsRetryable(status)) {
      Remember(flight.cache_key, status, now + limits.negative_ttl, limits.capacity);
    }
  }
};

void CopyBlob(const GenerateDataKeyResponse& from, KeyBlock* to) {
  to->ciphertext_blob = from.ciphertext_blob;
}
void CopyBlob(const DecryptResponse&, KeyBlock*) {}

// What a successful provider response caches (its key in a new locked buffer); null when locked
// memory runs out, and then the response is simply not cached.
template <typename Response>
std::shared_ptr<const KeyBlock> NewKeyBlock(const Response& response, TimePoint created) {
  absl::StatusOr<SecretBytes> key = SecretBytes::CopyFrom(response.plaintext.span());
  if (!key.ok()) return nullptr;
  auto block = std::make_shared<KeyBlock>();
  block->key_id = response.key_id;
  block->key_version_id = response.key_version_id;
  CopyBlob(response, block.get());
  block->request_id = response.request_id;
  block->plaintext = *std::move(key);
  block->created = created;
  return block;
}

}  // namespace

const Clock* Clock::Steady() {
  static const SteadyClock* clock = new SteadyClock();
  return clock;
}

// A mutex that spins briefly before sleeping (glibc's adaptive type). The cache holds it for a
// lookup and a few copies, far shorter than a futex sleep and wake-up (two system calls), so
// threads that meet here wait by spinning instead of taking turns through the kernel.
// pthread-based so that ThreadSanitizer sees it.
class AdaptiveMutex {
 public:
  AdaptiveMutex() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mu_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~AdaptiveMutex() { pthread_mutex_destroy(&mu_); }
  AdaptiveMutex(const AdaptiveMutex&) = delete;
  AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;
  void lock() { pthread_mutex_lock(&mu_); }
  void unlock() { pthread_mutex_unlock(&mu_); }

 private:
  pthread_mutex_t mu_;
};

namespace cache_internal {
struct State {
  explicit State(const std::array<uint8_t, crypto_shorthash_KEYBYTES>& key)
      : siphash_key(key), encrypt(siphash_key.data()), decrypt(siphash_key.data()) {}
  // Per-instance SipHash key for the hash tables (not a secret that protects data: it only
  // keeps the tables' bucket layout unpredictable).
  const std::array<uint8_t, crypto_shorthash_KEYBYTES> siphash_key;
  mutable AdaptiveMutex mu;
  Side<EncryptEntry> encrypt;
  Side<DecryptEntry> decrypt;
  CacheStats stats;  // leased hits are counted in `leases`
  LeaseRegistry leases;
};
}  // namespace cache_internal

namespace {

using cache_internal::State;

void FillBlob(const KeyBlock& b, GenerateDataKeyResponse* response) {
  response->ciphertext_blob.assign(b.ciphertext_blob);
}
void FillBlob(const KeyBlock&, DecryptResponse*) {}

// A hit: the cached response, copied into the caller's (reusing its storage).
template <typename Response>
absl::Status FillResponse(const KeyBlock& b, Response* response) {
  absl::Status copied = CopySecret(b.plaintext, &response->plaintext);
  if (!copied.ok()) return copied;
  response->key_id.assign(b.key_id);
  response->key_version_id.assign(b.key_version_id);
  FillBlob(b, response);
  response->request_id.assign(b.request_id);
  response->from_cache = true;
  return absl::OkStatus();
}

// Under the cache lock: the thread's decrypt lease now refers to `e`.
void LeaseDecryptEntry(const DecryptEntry& e, ThreadLease& lease) {
  std::lock_guard<std::mutex> lock(lease.mu);
  lease.decrypt_key.assign(e.cache_key);
  lease.decrypt_block = e.block;
}

// Serves `usage` from this thread's lease when it covers it; false when the shared path must.
bool ServeFromLease(ThreadLease& lease, absl::string_view key, const DataKeyUsage& usage,
                    TimePoint now, std::chrono::nanoseconds max_age,
                    GenerateDataKeyResponse* response, absl::Status* status) {
  std::lock_guard<std::mutex> lock(lease.mu);
  const KeyBlock* b = lease.block.get();
  if (b == nullptr || usage.messages > lease.messages_left || usage.bytes > lease.bytes_left ||
      !(now - b->created < max_age) || Av(lease.cache_key) != key) {
    return false;
  }
  *status = FillResponse(*b, response);
  if (status->ok()) {
    lease.messages_left -= usage.messages;
    lease.bytes_left -= usage.bytes;
    ++lease.hits;
  }
  return true;
}

// Under the cache lock: gives the unused part of the thread's lease back to its entry.
void ReturnLease(State& st, ThreadLease& lease) {
  std::lock_guard<std::mutex> lock(lease.mu);
  if (lease.block == nullptr) return;
  auto it = st.encrypt.index.find(Av(lease.cache_key));
  if (it != st.encrypt.index.end() && it->second->block == lease.block) {
    it->second->messages -= lease.messages_left;
    it->second->bytes -= lease.bytes_left;
  }
  lease.Reset();
}

// Under the cache lock: leases part of what is left of `e` to the thread.
void GrantLease(EncryptEntry& e, const CacheLimits& limits, ThreadLease& lease) {
  const uint64_t messages = std::min(limits.max_messages - e.messages,
                                     limits.max_messages / kLeaseDivisor);
  const uint64_t bytes = std::min(limits.max_bytes - e.bytes, limits.max_bytes / kLeaseDivisor);
  if (messages == 0) return;
  e.messages += messages;
  e.bytes += bytes;
  std::lock_guard<std::mutex> lock(lease.mu);
  lease.cache_key.assign(e.cache_key);
  lease.block = e.block;
  lease.messages_left = messages;
  lease.bytes_left = bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CachingKeyProvider>> CachingKeyProvider::New(
    std::unique_ptr<KeyProvider> provider, Options options) {
  KeyProvider* raw = provider.get();
  absl::StatusOr<std::unique_ptr<CachingKeyProvider>> cache = NewBorrowing(raw, options);
  if (cache.ok()) (*cache)->owned_ = std::move(provider);
  return cache;
}

absl::StatusOr<std::unique_ptr<CachingKeyProvider>> CachingKeyProvider::NewBorrowing(
    KeyProvider* provider, Options options) {
  if (provider == nullptr) return absl::InvalidArgumentError("CachingKeyProvider needs a provider");
  CacheLimits limits = options.limits;
  if (limits.max_age.count() <= 0 || limits.decrypt_max_age.count() <= 0) {
    return absl::InvalidArgumentError("cache max_age and decrypt_max_age must be positive");
  }
  if (limits.max_messages == 0 || limits.max_bytes == 0) {
    return absl::InvalidArgumentError("cache max_messages and max_bytes must be positive");
  }
  if (limits.capacity == 0 || limits.capacity > kMaxCapacity) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache capacity must be 1..", kMaxCapacity, ", got ", limits.capacity));
  }
  if (limits.negative_ttl.count() < 0) {
    return absl::InvalidArgumentError("cache negative_ttl must not be negative");
  }
  limits.max_messages = std::min(limits.max_messages, kMaxMessagesPerDataKey);
  limits.max_bytes = std::min(limits.max_bytes, kMaxBytesPerDataKey);
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialize");
  const Clock* clock = options.clock != nullptr ? options.clock : Clock::Steady();
  return std::unique_ptr<CachingKeyProvider>(
      new CachingKeyProvider(nullptr, provider, limits, clock));
}

CachingKeyProvider::CachingKeyProvider(std::unique_ptr<KeyProvider> owned, KeyProvider* provider,
                                       CacheLimits limits, const Clock* clock)
    : owned_(std::move(owned)),
      provider_(provider),
      limits_(limits),
      clock_(clock) {
  std::array<uint8_t, crypto_shorthash_KEYBYTES> key;
  internal::FillRandomFromKernel(absl::MakeSpan(key));
  state_ = std::make_unique<State>(key);
}

CachingKeyProvider::~CachingKeyProvider() = default;

std::string_view CachingKeyProvider::provider_id() const { return provider_->provider_id(); }

absl::Status CachingKeyProvider::GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                     GenerateDataKeyResponse* response) {
  DataKeyUsage usage;
  // Unknown size: the message gets a key of its own, so whatever it seals stays within limits.
  usage.bytes = request.message_bytes.value_or(kUnknownMessageBytes);
  return GenerateDataKeyForMessage(request, usage, response);
}

absl::Status CachingKeyProvider::GenerateDataKeyForMessage(const GenerateDataKeyRequest& request,
                                                           const DataKeyUsage& usage,
                                                           GenerateDataKeyResponse* response) {
  if (response == nullptr) return absl::InvalidArgumentError("response must not be null");
  if (usage.messages == 0) {
    return absl::InvalidArgumentError("DataKeyUsage.messages must be at least 1");
  }
  if (request.message_bytes.has_value() && *request.message_bytes != usage.bytes) {
    return absl::InvalidArgumentError(
        "GenerateDataKeyRequest.message_bytes and DataKeyUsage.bytes disagree");
  }
  absl::StatusOr<size_t> key_size = ResolveDataKeySize(request.key_spec, request.number_of_bytes);
  if (!key_size.ok()) return key_size.status();
  if (request.key_id.size() > kMaxCachedKeyIdSize) {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("KeyId longer than ", kMaxCachedKeyIdSize, " bytes"));
  }
  if (usage.partition.size() > kMaxPartitionSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("DataKeyUsage.partition longer than ", kMaxPartitionSize, " bytes"));
  }
  State& st = *state_;

  // Usage that no entry could ever serve: a fresh key that is not cached.
  if (usage.messages > limits_.max_messages || usage.bytes > limits_.max_bytes) {
    {
      std::lock_guard<AdaptiveMutex> lock(st.mu);
      ++st.stats.generate_requests;
      ++st.stats.provider_generate_calls;
    }
    absl::Status s = provider_->GenerateDataKeyInto(request, response);
    if (s.ok()) response->from_cache = false;
    return s;
  }

  const EncryptionContext& context =
      request.encryption_context != nullptr ? *request.encryption_context : EncryptionContext::Empty();
  std::string& key = t_key_buffer;
  key.clear();
  key.push_back('E');
  AppendField(&key, provider_->provider_id());
  AppendField(&key, request.key_id);
  const uint64_t size64 = *key_size;
  AppendField(&key, &size64, sizeof(size64));
  AppendField(&key, usage.partition);
  AppendField(&key, context.Canonical());

  const TimePoint now = clock_->Now();
  ThreadLease& lease = st.leases.Mine();
  absl::Status served;
  if (ServeFromLease(lease, Av(key), usage, now, limits_.max_age, response, &served)) return served;
  return GenerateShared(request, usage, lease, response);
}

absl::Status CachingKeyProvider::GenerateShared(const GenerateDataKeyRequest& request,
                                                const DataKeyUsage& usage, ThreadLease& lease,
                                                GenerateDataKeyResponse* response) {
  State& st = *state_;
  const absl::string_view lookup = Av(t_key_buffer);
  std::unique_lock<AdaptiveMutex> lock(st.mu);
  ++st.stats.generate_requests;
  ReturnLease(st, lease);
  for (;;) {
    const TimePoint now = clock_->Now();
    if (const NegativeEntry* negative = st.encrypt.FindNegative(lookup, now)) {
      ++st.stats.negative_hits;
      return negative->status;
    }
    auto it = st.encrypt.index.find(lookup);
    if (it != st.encrypt.index.end()) {
      EncryptEntry& e = *it->second;
      if (now - e.block->created < limits_.max_age &&
          e.messages + usage.messages <= limits_.max_messages &&
          usage.bytes <= limits_.max_bytes - e.bytes) {
        absl::Status copied = FillResponse(*e.block, response);
        if (!copied.ok()) return copied;
        e.messages += usage.messages;
        e.bytes += usage.bytes;
        GrantLease(e, limits_, lease);
        st.encrypt.lru.splice(st.encrypt.lru.begin(), st.encrypt.lru, it->second);
        ++st.stats.generate_hits;
        return absl::OkStatus();
      }
      // Out of budget: wipe now rather than at eviction, leases of it included.
      st.leases.Drop(e.block.get());
      st.encrypt.Erase(it);
      ++st.stats.retirements;
    }
    absl::Status leader;
    if (!st.encrypt.AwaitFlight(lookup, lock, &leader)) break;  // we lead
    if (!leader.ok()) return leader;  // share the leader's error
    // The leader inserted a key: look again (it may already be used up by others).
  }
  std::shared_ptr<Flight> flight = st.encrypt.Lead(lookup);
  ++st.stats.provider_generate_calls;
  lock.unlock();
  return GenerateMiss(request, usage, lease, *flight, response);
}

absl::Status CachingKeyProvider::GenerateMiss(const GenerateDataKeyRequest& request,
                                              const DataKeyUsage& usage, ThreadLease& lease,
                                              Flight& flight, GenerateDataKeyResponse* response) {
  State& st = *state_;
  const TimePoint started = clock_->Now();  // the entry ages from before the call: conservative
  absl::Status status = provider_->GenerateDataKeyInto(request, response);
  EncryptEntry entry;
  if (status.ok()) {
    response->from_cache = false;
    entry.cache_key = flight.cache_key;
    entry.block = NewKeyBlock(*response, started);
    entry.messages = usage.messages;
    entry.bytes = usage.bytes;
  }
  std::unique_lock<AdaptiveMutex> lock(st.mu);
  st.encrypt.Land(flight, status, limits_, clock_->Now());
  if (entry.block != nullptr) {
    st.stats.evictions += st.encrypt.Insert(
        std::move(entry), limits_.capacity,
        [&st](const EncryptEntry& gone) { st.leases.Drop(gone.block.get()); });
    GrantLease(st.encrypt.lru.front(), limits_, lease);
  }
  lock.unlock();
  flight.done_cv.notify_all();
  return status;
}

absl::Status CachingKeyProvider::DecryptInto(const DecryptRequest& request,
                                             DecryptResponse* response) {
  if (response == nullptr) return absl::InvalidArgumentError("response must not be null");
  if (request.ciphertext_blob.size() > kMaxCiphertextBlobSize) {
    return KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is too long");
  }
  State& st = *state_;
  const EncryptionContext& context =
      request.encryption_context != nullptr ? *request.encryption_context : EncryptionContext::Empty();
  std::string& key = t_key_buffer;
  key.clear();
  key.push_back('D');
  AppendField(&key, provider_->provider_id());
  AppendField(&key, request.ciphertext_blob);
  AppendField(&key, context.Canonical());
  const TimePoint now = clock_->Now();
  ThreadLease& lease = st.leases.Mine();
  {
    std::lock_guard<std::mutex> l(lease.mu);
    const KeyBlock* b = lease.decrypt_block.get();
    if (b != nullptr && now - b->created < limits_.decrypt_max_age &&
        Av(lease.decrypt_key) == Av(key)) {
      absl::Status served = FillResponse(*b, response);
      if (served.ok()) ++lease.decrypt_hits;
      return served;
    }
  }
  return DecryptShared(request, lease, response);
}

absl::Status CachingKeyProvider::DecryptShared(const DecryptRequest& request, ThreadLease& lease,
                                               DecryptResponse* response) {
  State& st = *state_;
  const absl::string_view lookup = Av(t_key_buffer);
  std::unique_lock<AdaptiveMutex> lock(st.mu);
  ++st.stats.decrypt_requests;
  for (;;) {
    const TimePoint now = clock_->Now();
    if (const NegativeEntry* negative = st.decrypt.FindNegative(lookup, now)) {
      ++st.stats.negative_hits;
      return negative->status;
    }
    auto it = st.decrypt.index.find(lookup);
    if (it != st.decrypt.index.end()) {
      DecryptEntry& e = *it->second;
      if (now - e.block->created < limits_.decrypt_max_age) {
        absl::Status copied = FillResponse(*e.block, response);
        if (!copied.ok()) return copied;
        LeaseDecryptEntry(e, lease);
        st.decrypt.lru.splice(st.decrypt.lru.begin(), st.decrypt.lru, it->second);
        ++st.stats.decrypt_hits;
        return absl::OkStatus();
      }
      st.leases.Drop(e.block.get());
      st.decrypt.Erase(it);
      ++st.stats.retirements;
    }
    absl::Status leader;
    if (!st.decrypt.AwaitFlight(lookup, lock, &leader)) break;  // we lead
    if (!leader.ok()) return leader;
  }
  std::shared_ptr<Flight> flight = st.decrypt.Lead(lookup);
  ++st.stats.provider_decrypt_calls;
  lock.unlock();
  return DecryptMiss(request, lease, *flight, response);
}

absl::Status CachingKeyProvider::DecryptMiss(const DecryptRequest& request, ThreadLease& lease,
                                             Flight& flight, DecryptResponse* response) {
  State& st = *state_;
  const TimePoint started = clock_->Now();
  absl::Status status = provider_->DecryptInto(request, response);
  DecryptEntry entry;
  if (status.ok()) {
    response->from_cache = false;
    entry.cache_key = flight.cache_key;
    entry.block = NewKeyBlock(*response, started);
  }
  std::unique_lock<AdaptiveMutex> lock(st.mu);
  st.decrypt.Land(flight, status, limits_, clock_->Now());
  if (entry.block != nullptr) {
    st.stats.evictions += st.decrypt.Insert(
        std::move(entry), limits_.capacity,
        [&st](const DecryptEntry& gone) { st.leases.Drop(gone.block.get()); });
    LeaseDecryptEntry(st.decrypt.lru.front(), lease);
  }
  lock.unlock();
  flight.done_cv.notify_all();
  return status;
}

absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
CachingKeyProvider::GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) {
  return provider_->GenerateDataKeyWithoutPlaintext(request);
}

absl::StatusOr<EncryptResponse> CachingKeyProvider::Encrypt(const EncryptRequest& request) {
  return provider_->Encrypt(request);
}

absl::StatusOr<ReEncryptResponse> CachingKeyProvider::ReEncrypt(const ReEncryptRequest& request) {
  return provider_->ReEncrypt(request);
}

void CachingKeyProvider::Clear() {
  std::lock_guard<AdaptiveMutex> lock(state_->mu);
  state_->leases.Drop(nullptr);
  state_->encrypt.Clear();
  state_->decrypt.Clear();
}

CacheStats CachingKeyProvider::stats() const {
  std::lock_guard<AdaptiveMutex> lock(state_->mu);
  CacheStats stats = state_->stats;
  const cache_internal::LeasedHits leased = state_->leases.hits();
  stats.generate_requests += leased.generate;
  stats.generate_hits += leased.generate;
  stats.decrypt_requests += leased.decrypt;
  stats.decrypt_hits += leased.decrypt;
  return stats;
}

size_t CachingKeyProvider::encrypt_entries() const {
  std::lock_guard<AdaptiveMutex> lock(state_->mu);
  return state_->encrypt.lru.size();
}

size_t CachingKeyProvider::decrypt_entries() const {
  std::lock_guard<AdaptiveMutex> lock(state_->mu);
  return state_->decrypt.lru.size();
}

}  // namespace cache
}  // namespace kms_envelope
