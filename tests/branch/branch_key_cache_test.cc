#include "kms_envelope/branch/branch_key_cache.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/cache/counting_provider.h"

namespace kms_envelope {
namespace branch {
namespace {

using Material = BranchKeyCache::Material;

Material NewMaterial(const std::string& id, uint32_t version) {
  auto m = std::make_shared<BranchKeyMaterial>();
  m->branch_key_id = id;
  m->version = version;
  m->key = SecretBytes::New(32).value();
  return m;
}

std::unique_ptr<BranchKeyCache> NewCache(const cache::Clock* clock, size_t max_entries = 8) {
  BranchKeyCacheOptions o;
  o.clock = clock;
  o.ttl = std::chrono::seconds(10);
  o.max_entries = max_entries;
  return BranchKeyCache::New(o).value();
}

TEST(BranchKeyCacheTest, AnEntryIsReusedUntilItsTtlAndThenReloaded) {
  cache_testing::ManualClock clock;
  auto cache = NewCache(&clock);
  int loads = 0;
  auto loader = [&]() -> absl::StatusOr<Material> { return NewMaterial("a", ++loads); };
  EXPECT_EQ((*cache->GetOrLoad({"a", 1}, loader))->version, 1u);
  clock.Advance(std::chrono::seconds(9));
  EXPECT_EQ((*cache->GetOrLoad({"a", 1}, loader))->version, 1u);
  clock.Advance(std::chrono::seconds(2));
  EXPECT_EQ((*cache->GetOrLoad({"a", 1}, loader))->version, 2u);
  EXPECT_EQ(loads, 2);
}

TEST(BranchKeyCacheTest, LoadingTheActiveVersionAlsoAnswersForItsNumber) {
  cache_testing::ManualClock clock;
  auto cache = NewCache(&clock);
  int loads = 0;
  auto loader = [&]() -> absl::StatusOr<Material> { ++loads; return NewMaterial("a", 7); };
  ASSERT_TRUE(cache->GetOrLoad({"a", kActiveVersion}, loader).ok());
  ASSERT_TRUE(cache->GetOrLoad({"a", 7}, loader).ok());
  EXPECT_EQ(loads, 1);
}

TEST(BranchKeyCacheTest, EvictedAndExpiredMaterialIsReleasedForWiping) {
  cache_testing::ManualClock clock;
  auto cache = NewCache(&clock, 2);
  std::weak_ptr<const BranchKeyMaterial> first, second;
  first = *cache->GetOrLoad({"a", 1}, [] { return absl::StatusOr<Material>(NewMaterial("a", 1)); });
  clock.Advance(std::chrono::milliseconds(1));
  second = *cache->GetOrLoad({"b", 1}, [] { return absl::StatusOr<Material>(NewMaterial("b", 1)); });
  clock.Advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(first.expired());
  ASSERT_TRUE(cache->GetOrLoad({"c", 1}, [] { return absl::StatusOr<Material>(NewMaterial("c", 1)); }).ok());
  EXPECT_TRUE(first.expired());  // the oldest went, and nothing else holds its SecretBytes
  EXPECT_FALSE(second.expired());
  EXPECT_EQ(cache->size(), 2u);
  clock.Advance(std::chrono::seconds(11));
  ASSERT_TRUE(cache->GetOrLoad({"b", 1}, [] { return absl::StatusOr<Material>(NewMaterial("b", 2)); }).ok());
  EXPECT_TRUE(second.expired());
  cache->Clear();
  EXPECT_EQ(cache->size(), 0u);
  EXPECT_GE(cache->stats().evictions, 2u);
}

TEST(BranchKeyCacheTest, ConcurrentMissesRunTheLoaderOnce) {
  auto cache = NewCache(nullptr);
  std::atomic<int> loads{0};
  std::atomic<int> arrived{0};
  auto loader = [&]() -> absl::StatusOr<Material> {
    ++loads;
    while (arrived.load() < 8) std::this_thread::yield();  // every thread has asked
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return NewMaterial("a", 1);
  };
  std::vector<std::thread> threads;
  std::vector<const BranchKeyMaterial*> seen(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      ++arrived;
      auto m = cache->GetOrLoad({"a", 1}, loader);
      seen[i] = m.ok() ? m->get() : nullptr;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  for (const BranchKeyMaterial* m : seen) EXPECT_EQ(m, seen[0]);
  EXPECT_NE(seen[0], nullptr);
}

TEST(BranchKeyCacheTest, ErrorsAreSharedWithWaitersButNotCached) {
  auto cache = NewCache(nullptr);
  int loads = 0;
  auto failing = [&]() -> absl::StatusOr<Material> { ++loads; return absl::UnavailableError("down"); };
  EXPECT_TRUE(absl::IsUnavailable(cache->GetOrLoad({"a", 1}, failing).status()));
  EXPECT_TRUE(absl::IsUnavailable(cache->GetOrLoad({"a", 1}, failing).status()));
  EXPECT_EQ(loads, 2);
}

TEST(BranchKeyCacheTest, BadLimitsAreRefused) {
  BranchKeyCacheOptions o;
  o.max_entries = 0;
  EXPECT_FALSE(BranchKeyCache::New(o).ok());
  o.max_entries = kMaxBranchCacheEntries + 1;
  EXPECT_FALSE(BranchKeyCache::New(o).ok());
  o.max_entries = 1;
  o.ttl = std::chrono::nanoseconds(0);
  EXPECT_FALSE(BranchKeyCache::New(o).ok());
}

}  // namespace
}  // namespace branch
}  // namespace kms_envelope
