// NonceCache: remembers (AccessKeyId, SignatureNonce) pairs so a signed request cannot be
// replayed while its Timestamp is still inside the accepted skew window.
//
//   NonceCache cache(/*capacity=*/100000, /*ttl=*/absl::Minutes(16));
//   switch (cache.Insert(key_id + "\n" + nonce, now)) { case kFresh: ...; case kReused: ...; }
//
// Contract: an entry lives `ttl` (longer than the 15-minute skew window, so any request whose
// timestamp is still acceptable is caught). At most `capacity` live entries: when full and the
// oldest entry has not expired, Insert answers kFull (the server then answers Throttling, a
// retryable error) instead of forgetting a nonce that could still be replayed.
// Thread safe (one std::mutex: Debian's Abseil is not built with TSan annotations, so an
// absl::Mutex there is invisible to ThreadSanitizer and every Insert looked like a race).
#ifndef KMS_ENVELOPE_SERVER_NONCE_CACHE_H_
#define KMS_ENVELOPE_SERVER_NONCE_CACHE_H_

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_set>
#include <utility>

#include "absl/time/time.h"

namespace kms_envelope {
namespace server {

inline constexpr size_t kDefaultNonceCapacity = 1 << 20;
inline constexpr absl::Duration kNonceTtl = absl::Minutes(16);

class NonceCache {
 public:
  enum class Result { kFresh, kReused, kFull };

  NonceCache(size_t capacity, absl::Duration ttl) : capacity_(capacity), ttl_(ttl) {}

  Result Insert(const std::string& nonce, absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    while (!order_.empty() && order_.front().first <= now) {
      seen_.erase(order_.front().second);
      order_.pop_front();
    }
    if (seen_.count(nonce) > 0) return Result::kReused;
    if (seen_.size() >= capacity_) return Result::kFull;
    seen_.insert(nonce);
    order_.emplace_back(now + ttl_, nonce);
    return Result::kFresh;
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_.size();
  }

 private:
  const size_t capacity_;
  const absl::Duration ttl_;
  std::mutex mu_;
  std::unordered_set<std::string> seen_;
  std::deque<std::pair<absl::Time, std::string>> order_;  // expiry order (time is monotone enough)
};

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_NONCE_CACHE_H_
