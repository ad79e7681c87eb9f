// Counts heap allocations on the hot paths by replacing the global operator new/delete in this
// test binary. Steady state = after a warm-up call with the same response object.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "gtest/gtest.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/encryption_context.h"
#include "tests/cache/local_fixture.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& t) noexcept {
  return operator new(size, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace kms_envelope {
namespace {

// Allocations made by `body` (run `n` times) after one warm-up run.
template <typename F>
long AllocationsPerSteadyStateCall(int n, F&& body) {
  body();  // warm-up: response strings get their capacity, pools fill
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < n; ++i) body();
  g_counting = false;
  return g_allocations.load();
}

TEST(HotPathAllocations, CachedGenerateDataKeyIntoAllocatesNothing) {
  auto local = cache_testing::NewLocalFixture();
  ASSERT_NE(local, nullptr);
  cache::CachingKeyProvider::Options options;
  options.limits.max_messages = 1000000;
  auto cache = cache::CachingKeyProvider::NewBorrowing(local->provider(), options);
  ASSERT_TRUE(cache.ok()) << cache.status();
  auto ctx = EncryptionContext::FromPairs({{"tenant", "a"}, {"purpose", "bench"}});
  ASSERT_TRUE(ctx.ok());
  GenerateDataKeyRequest req;
  req.key_id = local->key_a();
  req.encryption_context = &*ctx;
  GenerateDataKeyResponse response;
  bool all_ok = true;
  bool all_cached = true;
  long allocations = AllocationsPerSteadyStateCall(1000, [&] {
    all_ok &= (*cache)->GenerateDataKeyForMessage(req, cache::DataKeyUsage{1, 64, ""}, &response).ok();
  });
  all_cached = response.from_cache;
  EXPECT_TRUE(all_ok);
  EXPECT_TRUE(all_cached);
  EXPECT_EQ(allocations, 0);
}

TEST(HotPathAllocations, CachedDecryptIntoAllocatesNothing) {
  auto local = cache_testing::NewLocalFixture();
  ASSERT_NE(local, nullptr);
  auto cache = cache::CachingKeyProvider::NewBorrowing(local->provider(), {});
  ASSERT_TRUE(cache.ok()) << cache.status();
  auto ctx = EncryptionContext::FromPairs({{"tenant", "a"}});
  ASSERT_TRUE(ctx.ok());
  GenerateDataKeyRequest req;
  req.key_id = local->key_a();
  req.encryption_context = &*ctx;
  auto dk = local->provider()->GenerateDataKey(req);
  ASSERT_TRUE(dk.ok()) << dk.status();
  DecryptRequest dreq;
  dreq.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(dk->ciphertext_blob.data()), dk->ciphertext_blob.size());
  dreq.encryption_context = &*ctx;
  DecryptResponse response;
  bool all_ok = true;
  long allocations = AllocationsPerSteadyStateCall(1000, [&] {
    all_ok &= (*cache)->DecryptInto(dreq, &response).ok();
  });
  EXPECT_TRUE(all_ok);
  EXPECT_TRUE(response.from_cache);
  EXPECT_EQ(allocations, 0);
}

// The uncached path: the local provider itself, steady state with a reused response.
TEST(HotPathAllocations, LocalGenerateDataKeyIntoAllocatesNothing) {
  auto local = cache_testing::NewLocalFixture();
  ASSERT_NE(local, nullptr);
  auto ctx = EncryptionContext::FromPairs({{"tenant", "a"}});
  ASSERT_TRUE(ctx.ok());
  GenerateDataKeyRequest req;
  req.key_id = local->key_a();
  req.encryption_context = &*ctx;
  GenerateDataKeyResponse response;
  bool all_ok = true;
  long allocations = AllocationsPerSteadyStateCall(1000, [&] {
    all_ok &= local->provider()->GenerateDataKeyInto(req, &response).ok();
  });
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(allocations, 0) << "allocations in 1000 steady-state LocalKeyProvider calls";
}

}  // namespace
}  // namespace kms_envelope
