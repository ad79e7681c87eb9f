#include "kms_envelope/branch/branch_key_cache.h"

#include <utility>

#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace branch {

absl::StatusOr<std::unique_ptr<BranchKeyCache>> BranchKeyCache::New(
    const BranchKeyCacheOptions& options) {
  if (options.max_entries < 1 || options.max_entries > kMaxBranchCacheEntries) {
    return KmsError(kms_code::kInvalidParameter, "branch key cache max_entries out of range");
  }
  if (options.ttl <= std::chrono::nanoseconds::zero()) {
    return KmsError(kms_code::kInvalidParameter, "branch key cache ttl must be positive");
  }
  return std::unique_ptr<BranchKeyCache>(new BranchKeyCache(options));
}

BranchKeyCache::BranchKeyCache(const BranchKeyCacheOptions& options)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : cache::Clock::Steady()) {}

absl::StatusOr<BranchKeyCache::Material> BranchKeyCache::GetOrLoad(const Key& key,
                                                                   const Loader& loader) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (clock_->Now() - it->second.loaded < options_.ttl) {
        ++stats_.hits;
        return it->second.material;
      }
      entries_.erase(it);  // expired: the material is wiped once nobody uses it
      ++stats_.evictions;
    }
    auto flight = flights_.find(key);
    if (flight == flights_.end()) break;
    std::shared_ptr<Flight> f = flight->second;
    cv_.wait(lock, [&] { return f->done; });
    if (!f->result.ok()) return f->result.status();
    ++stats_.hits;
    return f->result;
  }
  auto flight = std::make_shared<Flight>();
  flights_[key] = flight;
  const uint64_t generation = generation_;
  ++stats_.loads;
  lock.unlock();
  absl::StatusOr<Material> result = loader();
  lock.lock();
  if (result.ok() && generation == generation_) {
    const auto now = clock_->Now();
    InsertLocked(key, *result, now);
    if (key.second == kActiveVersion) {
      InsertLocked({key.first, (*result)->version}, *result, now);
    }
  }
  flight->result = result;
  flight->done = true;
  flights_.erase(key);
  cv_.notify_all();
  return result;
}

void BranchKeyCache::InsertLocked(const Key& key, const Material& material,
                                  std::chrono::steady_clock::time_point now) {
  entries_.erase(key);
  while (entries_.size() >= options_.max_entries) EvictOldestLocked();
  entries_.emplace(key, Entry{material, now});
}

void BranchKeyCache::EvictOldestLocked() {
  auto oldest = entries_.begin();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.loaded < oldest->second.loaded) oldest = it;
  }
  entries_.erase(oldest);
  ++stats_.evictions;
}

void BranchKeyCache::Clear() {
  std::map<Key, Entry> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dropped.swap(entries_);
    ++generation_;
  }
  // `dropped` is destroyed here, outside the lock: unused material is wiped now.
}

size_t BranchKeyCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

BranchKeyCacheStats BranchKeyCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace branch
}  // namespace kms_envelope
