// NonceCache: remembers the SignatureNonces of accepted requests, per access key, so a signed
// request cannot be replayed while its Timestamp is still acceptable.
//
//   NonceCache cache(/*per_key_capacity=*/1 << 18);
//   // expiry: the last instant the request's Timestamp is still accepted
//   switch (cache.Insert(access_key_id, nonce, now, expiry)) { case kFresh: ...; }
//
// Contract:
// - An entry lives until its own `expiry` (inclusive): the server passes the later of arrival
//   and Timestamp plus the skew window, so a request whose Timestamp lies in the future is
//   remembered for as long as that Timestamp stays valid.
// - Each access key has its own table of at most `per_key_capacity` live entries. When one is
//   full and none of its entries has expired, Insert answers kFull for that key only (the server
//   answers Throttling, a retryable error) instead of forgetting a nonce that could still be
//   replayed; other keys are unaffected. Memory is bounded by keys x capacity; a key whose table
//   empties is dropped.
// - Thread safe (one std::mutex: Debian's Abseil is not built with TSan annotations, so an
//   absl::Mutex there is invisible to ThreadSanitizer and every Insert looked like a race).
#ifndef KMS_ENVELOPE_SERVER_NONCE_CACHE_H_
#define KMS_ENVELOPE_SERVER_NONCE_CACHE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace kms_envelope {
namespace server {

inline constexpr size_t kDefaultNonceCapacityPerKey = 1 << 18;

class NonceCache {
 public:
  enum class Result { kFresh, kReused, kFull };

  explicit NonceCache(size_t per_key_capacity) : capacity_(per_key_capacity) {}

  Result Insert(std::string_view access_key_id, std::string_view nonce, absl::Time now,
                absl::Time expiry) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(access_key_id);
    if (it == keys_.end()) it = keys_.emplace(std::string(access_key_id), Table()).first;
    Table& t = it->second;
    while (!t.by_expiry.empty() && t.by_expiry.top().first < now) {
      t.seen.erase(t.by_expiry.top().second);
      t.by_expiry.pop();
    }
    std::string key(nonce);
    Result result = Result::kFresh;
    if (t.seen.count(key) > 0) {
      result = Result::kReused;
    } else if (t.seen.size() >= capacity_) {
      result = Result::kFull;
    } else {
      t.seen.insert(key);
      t.by_expiry.emplace(expiry, std::move(key));
    }
    if (t.seen.empty()) keys_.erase(it);
    return result;
  }

  // Live entries of one key (tests).
  size_t size(std::string_view access_key_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(access_key_id);
    return it == keys_.end() ? 0 : it->second.seen.size();
  }

 private:
  using Entry = std::pair<absl::Time, std::string>;
  struct Table {
    std::unordered_set<std::string> seen;
    // Earliest expiry on top (Timestamps arrive in any order).
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> by_expiry;
  };

  const size_t capacity_;
  std::mutex mu_;
  std::map<std::string, Table, std::less<>> keys_;
};

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_NONCE_CACHE_H_
