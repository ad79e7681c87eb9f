// BranchKeyCache: unwrapped branch key versions, kept for a while so that most data keys cost
// no store read and no KMS call.
//
//   BranchKeyCache cache(BranchKeyCacheOptions{});
//   KMS_ASSIGN_OR_RETURN(std::shared_ptr<const BranchKeyMaterial> key,
//                        cache.GetOrLoad({"tenant-a", kActiveVersion}, load_active));
//
// Contract:
// - Entries are keyed by (branch key id, version); version kActiveVersion (0) means "the active
//   version" and its entry also answers for the version it names (loading the active version
//   fills both).
// - An entry lives at most `ttl` after it was loaded; the active entry's TTL is how long a
//   rotation made elsewhere (another process or host) may go unseen.
// - At most `max_entries` entries: inserting one more evicts the oldest-loaded entry.
// - Single flight: concurrent misses for one key run the loader once; the others wait for it
//   and share its material or its error. Errors are not cached.
// - Wiped on eviction: material lives in SecretBytes inside a shared_ptr; expired, evicted and
//   cleared entries drop their reference and the bytes are wiped when the last in-flight user
//   lets go (no copy is ever made).
// Thread safe.
#ifndef KMS_ENVELOPE_BRANCH_BRANCH_KEY_CACHE_H_
#define KMS_ENVELOPE_BRANCH_BRANCH_KEY_CACHE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace branch {

inline constexpr uint32_t kActiveVersion = 0;
inline constexpr size_t kMaxBranchCacheEntries = 65536;  // eviction scans the entries

// One unwrapped branch key version.
struct BranchKeyMaterial {
  std::string branch_key_id;
  uint32_t version = 0;
  std::string cmk_key_id;
  SecretBytes key;  // kBranchKeySize bytes
};

struct BranchKeyCacheOptions {
  std::chrono::nanoseconds ttl = std::chrono::minutes(5);
  size_t max_entries = 1000;  // 1..kMaxBranchCacheEntries
  const cache::Clock* clock = nullptr;  // null: steady clock
};

struct BranchKeyCacheStats {
  uint64_t hits = 0;
  uint64_t loads = 0;      // loader calls
  uint64_t evictions = 0;  // by size or age
};

class BranchKeyCache {
 public:
  using Key = std::pair<std::string, uint32_t>;
  using Material = std::shared_ptr<const BranchKeyMaterial>;
  using Loader = std::function<absl::StatusOr<Material>()>;

  // InvalidParameter for a zero or huge max_entries or a non-positive ttl.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BranchKeyCache>> New(
      const BranchKeyCacheOptions& options);

  [[nodiscard]] absl::StatusOr<Material> GetOrLoad(const Key& key, const Loader& loader);
  // Drops every entry (in-flight loads complete but are not stored).
  void Clear();
  size_t size() const;
  BranchKeyCacheStats stats() const;

 private:
  struct Entry {
    Material material;
    std::chrono::steady_clock::time_point loaded;
  };
  struct Flight {
    bool done = false;
    absl::StatusOr<Material> result = absl::UnknownError("pending");
  };
  explicit BranchKeyCache(const BranchKeyCacheOptions& options);
  void InsertLocked(const Key& key, const Material& material,
                    std::chrono::steady_clock::time_point now);
  void EvictOldestLocked();

  BranchKeyCacheOptions options_;
  const cache::Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, Entry> entries_;
  std::map<Key, std::shared_ptr<Flight>> flights_;
  uint64_t generation_ = 0;  // bumped by Clear so in-flight loads are not stored
  BranchKeyCacheStats stats_;
};

}  // namespace branch
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BRANCH_BRANCH_KEY_CACHE_H_
