#include "kms_envelope/cache/caching_key_provider.h"

#include <sodium.h>

#include <array>
#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/testing/secret_heap_scan.h"
#include "tests/cache/counting_provider.h"
#include "tests/cache/local_fixture.h"

namespace kms_envelope {
namespace {

using cache::CacheLimits;
using cache::CachingKeyProvider;
using cache::DataKeyUsage;
using cache_testing::CountingProvider;
using cache_testing::ManualClock;
using testing::SecretHeapScan;

EncryptionContext Ctx(const std::string& tenant) {
  absl::StatusOr<EncryptionContext> ctx = EncryptionContext::FromPairs({{"tenant", tenant}});
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return *std::move(ctx);
}

class CachingKeyProviderTest : public ::testing::Test {
 public:
  // A request for a message of `bytes` bytes (for helpers outside the fixture).
  GenerateDataKeyRequest SizedFor(const EncryptionContext* ctx, uint64_t bytes) {
    return Sized(ctx, "", bytes);
  }

 protected:
  void SetUp() override {
    local_ = cache_testing::NewLocalFixture();
    ASSERT_NE(local_, nullptr);
    counting_ = std::make_unique<CountingProvider>(local_->provider());
  }

  std::unique_ptr<CachingKeyProvider> NewCache(CacheLimits limits) {
    CachingKeyProvider::Options options;
    options.limits = limits;
    options.clock = &clock_;
    absl::StatusOr<std::unique_ptr<CachingKeyProvider>> cache =
        CachingKeyProvider::NewBorrowing(counting_.get(), options);
    EXPECT_TRUE(cache.ok()) << cache.status();
    return cache.ok() ? *std::move(cache) : nullptr;
  }

  // A request of unknown message size (as a stream would make).
  GenerateDataKeyRequest Request(const EncryptionContext* ctx, std::string_view key_id = "") {
    GenerateDataKeyRequest req;
    req.key_id = key_id.empty() ? std::string_view(local_->key_a()) : key_id;
    req.encryption_context = ctx;
    return req;
  }
  // A request for a message of `bytes` bytes.
  GenerateDataKeyRequest Sized(const EncryptionContext* ctx, std::string_view key_id = "",
                               uint64_t bytes = 0) {
    GenerateDataKeyRequest req = Request(ctx, key_id);
    req.message_bytes = bytes;
    return req;
  }

  std::unique_ptr<cache_testing::LocalFixture> local_;
  std::unique_ptr<CountingProvider> counting_;
  ManualClock clock_;
};

bool SameKey(const GenerateDataKeyResponse& a, const GenerateDataKeyResponse& b) {
  return a.plaintext.ConstantTimeEquals(b.plaintext) && a.ciphertext_blob == b.ciphertext_blob;
}

TEST_F(CachingKeyProviderTest, ReusesOneDataKeyAndMarksCachedResponses) {
  auto cache = NewCache(CacheLimits{});
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse first, second;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &first).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &second).ok());
  EXPECT_FALSE(first.from_cache);
  EXPECT_TRUE(second.from_cache);
  EXPECT_TRUE(SameKey(first, second));
  EXPECT_EQ(first.key_id, second.key_id);
  EXPECT_EQ(first.key_version_id, second.key_version_id);
  EXPECT_EQ(first.request_id, second.request_id);
  EXPECT_EQ(counting_->generate_calls(), 1);
  cache::CacheStats stats = cache->stats();
  EXPECT_EQ(stats.generate_requests, 2u);
  EXPECT_EQ(stats.generate_hits, 1u);
  EXPECT_EQ(stats.provider_generate_calls, 1u);
}

TEST_F(CachingKeyProviderTest, CachedKeyStillUnwrapsThroughTheProvider) {
  auto cache = NewCache(CacheLimits{});
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse first, second;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &first).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &second).ok());
  DecryptRequest dreq;
  dreq.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(second.ciphertext_blob.data()), second.ciphertext_blob.size());
  dreq.encryption_context = &ctx;
  absl::StatusOr<DecryptResponse> key = local_->provider()->Decrypt(dreq);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(key->plaintext.ConstantTimeEquals(second.plaintext));
}

TEST_F(CachingKeyProviderTest, RetiresAKeyAtMaxAge) {
  CacheLimits limits;
  limits.max_age = std::chrono::seconds(60);
  auto cache = NewCache(limits);
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse r1, r2, r3;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &r1).ok());
  clock_.Advance(std::chrono::seconds(60) - std::chrono::nanoseconds(1));
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &r2).ok());
  EXPECT_TRUE(r2.from_cache);
  EXPECT_TRUE(SameKey(r1, r2));
  clock_.Advance(std::chrono::nanoseconds(1));
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &r3).ok());
  EXPECT_FALSE(r3.from_cache);
  EXPECT_FALSE(SameKey(r1, r3));
  EXPECT_EQ(counting_->generate_calls(), 2);
  EXPECT_EQ(cache->stats().retirements, 1u);
}

TEST_F(CachingKeyProviderTest, RetiresAKeyAfterMaxMessages) {
  CacheLimits limits;
  limits.max_messages = 3;
  auto cache = NewCache(limits);
  EncryptionContext ctx = Ctx("a");
  std::vector<GenerateDataKeyResponse> r(7);
  for (auto& response : r) ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &response).ok());
  EXPECT_TRUE(SameKey(r[0], r[1]));
  EXPECT_TRUE(SameKey(r[0], r[2]));
  EXPECT_FALSE(SameKey(r[0], r[3]));
  EXPECT_TRUE(SameKey(r[3], r[5]));
  EXPECT_FALSE(SameKey(r[3], r[6]));
  EXPECT_EQ(counting_->generate_calls(), 3);
}

TEST_F(CachingKeyProviderTest, CountsDeclaredMessagesAndBytes) {
  CacheLimits limits;
  limits.max_messages = 10;
  limits.max_bytes = 100;
  auto cache = NewCache(limits);
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse r1, r2, r3, r4;
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 40, ""}, &r1).ok());
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 60, ""}, &r2).ok());
  EXPECT_TRUE(SameKey(r1, r2));  // exactly 100 bytes: still within the limit
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 1, ""}, &r3).ok());
  EXPECT_FALSE(SameKey(r1, r3));
  // A batch of 9 messages fits in the fresh key (1 + 9 = 10), a 10th does not.
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{9, 0, ""}, &r4).ok());
  EXPECT_TRUE(SameKey(r3, r4));
  GenerateDataKeyResponse r5;
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 0, ""}, &r5).ok());
  EXPECT_FALSE(SameKey(r3, r5));
  EXPECT_EQ(counting_->generate_calls(), 3);
}

TEST_F(CachingKeyProviderTest, GivesAnOversizedMessageAFreshUncachedKey) {
  CacheLimits limits;
  limits.max_bytes = 100;
  auto cache = NewCache(limits);
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse small, big1, big2, small2;
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 10, ""}, &small).ok());
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 101, ""}, &big1).ok());
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 101, ""}, &big2).ok());
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 10, ""}, &small2).ok());
  EXPECT_FALSE(big1.from_cache);
  EXPECT_FALSE(big2.from_cache);
  EXPECT_FALSE(SameKey(big1, big2));
  EXPECT_FALSE(SameKey(small, big1));
  EXPECT_TRUE(small2.from_cache);  // the cached entry was untouched
  EXPECT_TRUE(SameKey(small, small2));
  EXPECT_EQ(counting_->generate_calls(), 3);
}

TEST_F(CachingKeyProviderTest, CountsTheRequestsMessageBytesAgainstTheByteLimit) {
  CacheLimits limits;
  limits.max_bytes = 100;
  auto cache = NewCache(limits);
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse r1, r2, r3;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx, "", 40), &r1).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx, "", 60), &r2).ok());
  EXPECT_TRUE(r2.from_cache);
  EXPECT_TRUE(SameKey(r1, r2));  // exactly 100 bytes
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx, "", 1), &r3).ok());
  EXPECT_FALSE(r3.from_cache);
  EXPECT_FALSE(SameKey(r1, r3));
  EXPECT_EQ(counting_->generate_calls(), 2);
}

TEST_F(CachingKeyProviderTest, AMessageOfUnknownSizeGetsAKeyOfItsOwn) {
  auto cache = NewCache(CacheLimits{});
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse sized, unsized1, unsized2, sized_again;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &sized).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Request(&ctx), &unsized1).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Request(&ctx), &unsized2).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &sized_again).ok());
  EXPECT_FALSE(unsized1.from_cache);
  EXPECT_FALSE(unsized2.from_cache);
  EXPECT_FALSE(SameKey(unsized1, unsized2));
  EXPECT_FALSE(SameKey(sized, unsized1));
  EXPECT_TRUE(sized_again.from_cache);  // the cached entry is neither used nor disturbed
  EXPECT_TRUE(SameKey(sized, sized_again));
  EXPECT_EQ(counting_->generate_calls(), 3);
}

TEST_F(CachingKeyProviderTest, RefusesMessageBytesThatDisagreeWithTheDeclaredUsage) {
  auto cache = NewCache(CacheLimits{});
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse r;
  EXPECT_EQ(cache->GenerateDataKeyForMessage(Sized(&ctx, "", 10), DataKeyUsage{1, 11, ""}, &r).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(cache->GenerateDataKeyForMessage(Sized(&ctx, "", 10), DataKeyUsage{1, 10, ""}, &r).ok());
  EXPECT_EQ(counting_->generate_calls(), 1);
}

TEST_F(CachingKeyProviderTest, ClampsMessageLimitToTheAesGcmBound) {
  CacheLimits limits;
  limits.max_messages = uint64_t{1} << 40;
  limits.max_bytes = ~uint64_t{0};
  auto cache = NewCache(limits);
  EXPECT_EQ(cache->limits().max_messages, cache::kMaxMessagesPerDataKey);
  EXPECT_EQ(cache->limits().max_bytes, cache::kMaxBytesPerDataKey);
  // A declared batch above 2^32 messages can never share a key.
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse r1, r2;
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(
      Request(&ctx), DataKeyUsage{cache::kMaxMessagesPerDataKey - 1, 0, ""}, &r1).ok());
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 0, ""}, &r2).ok());
  EXPECT_TRUE(SameKey(r1, r2));  // exactly 2^32 messages
  GenerateDataKeyResponse r3;
  ASSERT_TRUE(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 0, ""}, &r3).ok());
  EXPECT_FALSE(SameKey(r1, r3));
}

TEST_F(CachingKeyProviderTest, RejectsBadOptionsAndUsage) {
  CachingKeyProvider::Options options;
  EXPECT_FALSE(CachingKeyProvider::NewBorrowing(nullptr, options).ok());
  auto with = [&](auto mutate) {
    CachingKeyProvider::Options o;
    mutate(o.limits);
    return CachingKeyProvider::NewBorrowing(counting_.get(), o).status();
  };
  EXPECT_EQ(with([](CacheLimits& l) { l.capacity = 0; }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](CacheLimits& l) { l.capacity = cache::kMaxCapacity + 1; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](CacheLimits& l) { l.max_messages = 0; }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](CacheLimits& l) { l.max_bytes = 0; }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](CacheLimits& l) { l.max_age = std::chrono::seconds(0); }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](CacheLimits& l) { l.decrypt_max_age = std::chrono::seconds(-1); }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(with([](CacheLimits&) {}).ok());

  auto cache = NewCache(CacheLimits{});
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse r;
  EXPECT_EQ(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{0, 0, ""}, &r).code(),
            absl::StatusCode::kInvalidArgument);
  GenerateDataKeyRequest bad = Request(&ctx);
  bad.key_spec = "AES_512";
  EXPECT_EQ(GetKmsErrorCode(cache->GenerateDataKeyInto(bad, &r)), kms_code::kInvalidParameter);
  const std::string long_id(cache::kMaxCachedKeyIdSize + 1, 'k');
  EXPECT_EQ(GetKmsErrorCode(cache->GenerateDataKeyInto(Sized(&ctx, long_id), &r)),
            kms_code::kInvalidParameter);
  const std::string long_partition(cache::kMaxPartitionSize + 1, 'p');
  EXPECT_EQ(cache->GenerateDataKeyForMessage(Request(&ctx), DataKeyUsage{1, 0, long_partition}, &r)
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(counting_->generate_calls(), 0);
}

TEST_F(CachingKeyProviderTest, EvictsTheLeastRecentlyUsedEntryAtCapacity) {
  CacheLimits limits;
  limits.capacity = 2;
  auto cache = NewCache(limits);
  EncryptionContext a = Ctx("a"), b = Ctx("b"), c = Ctx("c");
  GenerateDataKeyResponse ra, rb, rc, ra2, rb2;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &ra).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&b), &rb).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &ra2).ok());  // a is now most recent
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&c), &rc).ok());   // evicts b
  EXPECT_EQ(cache->encrypt_entries(), 2u);
  EXPECT_EQ(cache->stats().evictions, 1u);
  GenerateDataKeyResponse ra3;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &ra3).ok());
  EXPECT_TRUE(ra3.from_cache);
  EXPECT_TRUE(SameKey(ra, ra3));
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&b), &rb2).ok());
  EXPECT_FALSE(rb2.from_cache);
  EXPECT_FALSE(SameKey(rb, rb2));
  EXPECT_EQ(counting_->generate_calls(), 4);
}

// Counts the secrets released (SecretBytes wipes each before it calls the observer).
std::atomic<int> g_released{0};
void ObserveRelease(const uint8_t*, size_t) { ++g_released; }

class ReleaseObserverScope {
 public:
  ReleaseObserverScope() {
    g_released = 0;
    SecretBytes::SetReleaseObserverForTesting(&ObserveRelease);
  }
  ~ReleaseObserverScope() { SecretBytes::SetReleaseObserverForTesting(nullptr); }
};

// Each cached key must be released (wiped) at the moment the cache drops it, and must never be
// copied into ordinary heap memory: the scan searches every heap block freed while it watches,
// and every live one at Finish, for each key the provider handed the cache.
TEST_F(CachingKeyProviderTest, EvictionRetirementAndClearWipeCachedKeys) {
  CacheLimits limits;
  limits.capacity = 2;
  limits.max_messages = 2;
  auto cache = NewCache(limits);
  SecretHeapScan scan;
  counting_->set_after_generate(
      [&](GenerateDataKeyResponse* r) { EXPECT_TRUE(scan.Watch(r->plaintext.span())); });
  EncryptionContext w = Ctx("w"), a = Ctx("a"), b = Ctx("b");
  GenerateDataKeyResponse r;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&w), &r).ok());  // warm: r holds a key now
  ReleaseObserverScope observe;

  // Two misses of the same shape: the second also evicts w's entry, which is one more release.
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &r).ok());
  const int plain_miss = g_released.exchange(0);
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&b), &r).ok());
  EXPECT_EQ(g_released.exchange(0), plain_miss + 1);
  EXPECT_EQ(cache->stats().evictions, 1u);

  // A hit copies into the response's storage: nothing is released.
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&b), &r).ok());  // 2nd message of b's key
  EXPECT_TRUE(r.from_cache);
  EXPECT_EQ(g_released.exchange(0), 0);
  // Retirement (message limit) wipes the used-up key at once.
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&b), &r).ok());  // 3rd: retire + miss
  EXPECT_FALSE(r.from_cache);
  EXPECT_EQ(g_released.exchange(0), plain_miss + 1);
  EXPECT_EQ(cache->stats().retirements, 1u);

  // Clear wipes the two remaining entries (and nothing else).
  cache->Clear();
  EXPECT_EQ(g_released.exchange(0), 2);
  EXPECT_EQ(cache->encrypt_entries(), 0u);
  r.plaintext.Clear();
  EXPECT_EQ(scan.Finish(), 0u) << "heap blocks held a cached key";
  EXPECT_EQ(SecretHeapScan::untracked(), 0u);
}

TEST_F(CachingKeyProviderTest, DestroyingTheCacheWipesEveryKey) {
  auto cache = NewCache(CacheLimits{});
  SecretHeapScan scan;
  counting_->set_after_generate(
      [&](GenerateDataKeyResponse* r) { EXPECT_TRUE(scan.Watch(r->plaintext.span())); });
  EncryptionContext a = Ctx("a"), b = Ctx("b");
  GenerateDataKeyResponse r;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &r).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&b), &r).ok());
  DecryptRequest dreq;
  dreq.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(r.ciphertext_blob.data()), r.ciphertext_blob.size());
  dreq.encryption_context = &b;
  DecryptResponse d;
  ASSERT_TRUE(cache->DecryptInto(dreq, &d).ok());
  r.plaintext.Clear();
  d.plaintext.Clear();
  ReleaseObserverScope observe;
  cache.reset();
  EXPECT_EQ(g_released.load(), 2 + 1);  // 2 encrypt entries, 1 decrypt entry
  EXPECT_EQ(scan.Finish(), 0u) << "heap blocks held a cached key";
}

// A thread that takes one key from the cache (and with it a lease of the entry), then idles.
class IdleLeaseHolder {
 public:
  IdleLeaseHolder(CachingKeyProvider* cache, GenerateDataKeyRequest request) {
    std::future<void> took = took_.get_future();
    thread_ = std::thread([this, cache, request] {
      GenerateDataKeyResponse r;
      EXPECT_TRUE(cache->GenerateDataKeyInto(request, &r).ok());
      r.plaintext.Clear();
      took_.set_value();
      release_.get_future().wait();
    });
    took.wait();
  }
  ~IdleLeaseHolder() {
    release_.set_value();
    thread_.join();
  }

 private:
  std::promise<void> took_;
  std::promise<void> release_;
  std::thread thread_;
};

TEST_F(CachingKeyProviderTest, ClearAndRetirementWipeKeysLeasedToIdleThreads) {
  CacheLimits limits;
  limits.max_messages = 640;  // leases of 10 messages
  auto cache = NewCache(limits);
  EncryptionContext a = Ctx("a"), b = Ctx("b");
  {
    IdleLeaseHolder holder(cache.get(), Sized(&a));
    ReleaseObserverScope observe;
    cache->Clear();
    EXPECT_EQ(g_released.load(), 1);  // the one key that the entry and the idle lease shared
  }
  IdleLeaseHolder holder(cache.get(), Sized(&a));
  GenerateDataKeyResponse rb, ra;
  ReleaseObserverScope observe;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&b), &rb).ok());  // a plain miss
  const int plain_miss = g_released.exchange(0);
  clock_.Advance(limits.max_age);
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &ra).ok());  // retires a's key, then a miss
  EXPECT_FALSE(ra.from_cache);
  EXPECT_EQ(g_released.exchange(0), plain_miss + 1);
}

TEST_F(CachingKeyProviderTest, DecryptIsServedFromCacheForTheSameBlobAndContext) {
  CacheLimits limits;
  limits.decrypt_max_age = std::chrono::seconds(30);
  auto cache = NewCache(limits);
  EncryptionContext ctx = Ctx("a"), other = Ctx("b");
  absl::StatusOr<GenerateDataKeyResponse> dk = local_->provider()->GenerateDataKey(Request(&ctx));
  ASSERT_TRUE(dk.ok()) << dk.status();
  DecryptRequest dreq;
  dreq.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(dk->ciphertext_blob.data()), dk->ciphertext_blob.size());
  dreq.encryption_context = &ctx;

  DecryptResponse d1, d2, d3;
  ASSERT_TRUE(cache->DecryptInto(dreq, &d1).ok());
  ASSERT_TRUE(cache->DecryptInto(dreq, &d2).ok());
  EXPECT_FALSE(d1.from_cache);
  EXPECT_TRUE(d2.from_cache);
  EXPECT_TRUE(d1.plaintext.ConstantTimeEquals(dk->plaintext));
  EXPECT_TRUE(d2.plaintext.ConstantTimeEquals(dk->plaintext));
  EXPECT_EQ(d2.key_id, dk->key_id);
  EXPECT_EQ(d2.key_version_id, dk->key_version_id);
  EXPECT_EQ(counting_->decrypt_calls(), 1);

  // Another context is another entry: it reaches the provider, which refuses it.
  DecryptRequest wrong = dreq;
  wrong.encryption_context = &other;
  DecryptResponse bad;
  absl::Status s = cache->DecryptInto(wrong, &bad);
  EXPECT_EQ(GetKmsErrorCode(s), kms_code::kInvalidCiphertext) << s;
  EXPECT_EQ(counting_->decrypt_calls(), 2);
  // ... and the failure was not cached as a key (nor as an error: not retryable).
  s = cache->DecryptInto(wrong, &bad);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(counting_->decrypt_calls(), 3);

  // decrypt_max_age
  clock_.Advance(std::chrono::seconds(30));
  ASSERT_TRUE(cache->DecryptInto(dreq, &d3).ok());
  EXPECT_FALSE(d3.from_cache);
  EXPECT_EQ(counting_->decrypt_calls(), 4);
}

TEST_F(CachingKeyProviderTest, DecryptCacheHoldsAtMostCapacityEntries) {
  CacheLimits limits;
  limits.capacity = 3;
  auto cache = NewCache(limits);
  EncryptionContext ctx = Ctx("a");
  std::vector<GenerateDataKeyResponse> keys;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<GenerateDataKeyResponse> dk = local_->provider()->GenerateDataKey(Request(&ctx));
    ASSERT_TRUE(dk.ok());
    keys.push_back(*std::move(dk));
  }
  for (const auto& k : keys) {
    DecryptRequest dreq;
    dreq.ciphertext_blob = absl::MakeConstSpan(
        reinterpret_cast<const uint8_t*>(k.ciphertext_blob.data()), k.ciphertext_blob.size());
    dreq.encryption_context = &ctx;
    DecryptResponse d;
    ASSERT_TRUE(cache->DecryptInto(dreq, &d).ok());
    EXPECT_TRUE(d.plaintext.ConstantTimeEquals(k.plaintext));
  }
  EXPECT_EQ(cache->decrypt_entries(), 3u);
  EXPECT_EQ(cache->stats().evictions, 2u);
}

// ---- Tenant isolation ----

TEST_F(CachingKeyProviderTest, DifferentCmkContextSizeOrPartitionNeverShareAKey) {
  auto cache = NewCache(CacheLimits{});
  EncryptionContext a = Ctx("a"), b = Ctx("b");
  GenerateDataKeyResponse base, cmk, ctx, size, partition, again;
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &base).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a, local_->key_b()), &cmk).ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&b), &ctx).ok());
  GenerateDataKeyRequest r16 = Request(&a);
  r16.key_spec = "AES_128";
  ASSERT_TRUE(cache->GenerateDataKeyInto(r16, &size).ok());
  ASSERT_TRUE(
      cache->GenerateDataKeyForMessage(Request(&a), DataKeyUsage{1, 0, "xchacha20-poly1305"}, &partition)
          .ok());
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &again).ok());

  EXPECT_NE(cmk.key_id, base.key_id);
  EXPECT_FALSE(SameKey(base, cmk));
  EXPECT_FALSE(SameKey(base, ctx));
  EXPECT_EQ(size.plaintext.size(), 16u);
  EXPECT_FALSE(partition.from_cache);
  EXPECT_FALSE(SameKey(base, partition));
  EXPECT_TRUE(again.from_cache);
  EXPECT_TRUE(SameKey(base, again));
  EXPECT_EQ(counting_->generate_calls(), 5);
  // The CMK-b key really is wrapped under CMK b.
  EXPECT_EQ(cmk.key_id, local_->key_b_guid());
}

TEST_F(CachingKeyProviderTest, ProviderIdentityIsPartOfTheCacheKey) {
  auto cache = NewCache(CacheLimits{});
  EncryptionContext a = Ctx("a");
  GenerateDataKeyResponse p1, p2, p1_again;
  counting_->set_provider_id("tenant-1-kms");
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &p1).ok());
  counting_->set_provider_id("tenant-2-kms");
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &p2).ok());
  EXPECT_FALSE(p2.from_cache);
  EXPECT_FALSE(SameKey(p1, p2));
  counting_->set_provider_id("tenant-1-kms");
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&a), &p1_again).ok());
  EXPECT_TRUE(SameKey(p1, p1_again));
  EXPECT_EQ(counting_->generate_calls(), 2);
}

TEST_F(CachingKeyProviderTest, TwoCachesNeverShareKeys) {
  auto one = NewCache(CacheLimits{});
  auto two = NewCache(CacheLimits{});
  EncryptionContext a = Ctx("a");
  GenerateDataKeyResponse r1, r2;
  ASSERT_TRUE(one->GenerateDataKeyInto(Sized(&a), &r1).ok());
  ASSERT_TRUE(two->GenerateDataKeyInto(Sized(&a), &r2).ok());
  EXPECT_FALSE(r2.from_cache);
  EXPECT_FALSE(SameKey(r1, r2));
}

// ---- Single flight, errors ----

TEST_F(CachingKeyProviderTest, ConcurrentMissesMakeExactlyOneProviderCall) {
  constexpr int kThreads = 8;
  auto cache = NewCache(CacheLimits{});
  CachingKeyProvider* c = cache.get();
  // The provider call is held until all 8 callers have entered the cache (7 are then waiting).
  counting_->set_gate([c] { return c->stats().generate_requests >= kThreads; });
  EncryptionContext ctx = Ctx("a");
  std::vector<GenerateDataKeyResponse> responses(kThreads);
  std::vector<absl::Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { statuses[i] = c->GenerateDataKeyInto(Sized(&ctx), &responses[i]); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counting_->generate_calls(), 1);
  int cached = 0;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i];
    EXPECT_TRUE(SameKey(responses[0], responses[i]));
    cached += responses[i].from_cache ? 1 : 0;
  }
  EXPECT_EQ(cached, kThreads - 1);
}

TEST_F(CachingKeyProviderTest, ConcurrentDecryptMissesMakeExactlyOneProviderCall) {
  constexpr int kThreads = 8;
  auto cache = NewCache(CacheLimits{});
  CachingKeyProvider* c = cache.get();
  EncryptionContext ctx = Ctx("a");
  absl::StatusOr<GenerateDataKeyResponse> dk = local_->provider()->GenerateDataKey(Request(&ctx));
  ASSERT_TRUE(dk.ok());
  counting_->set_gate([c] { return c->stats().decrypt_requests >= kThreads; });
  DecryptRequest dreq;
  dreq.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(dk->ciphertext_blob.data()), dk->ciphertext_blob.size());
  dreq.encryption_context = &ctx;
  std::vector<DecryptResponse> responses(kThreads);
  std::vector<absl::Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { statuses[i] = c->DecryptInto(dreq, &responses[i]); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counting_->decrypt_calls(), 1);
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i];
    EXPECT_TRUE(responses[i].plaintext.ConstantTimeEquals(dk->plaintext));
  }
}

TEST_F(CachingKeyProviderTest, WaitersShareTheLeadersErrorAndRetryableErrorsAreRemembered) {
  constexpr int kThreads = 8;
  CacheLimits limits;
  limits.negative_ttl = std::chrono::seconds(1);
  auto cache = NewCache(limits);
  CachingKeyProvider* c = cache.get();
  counting_->set_gate([c] { return c->stats().generate_requests >= kThreads; });
  counting_->set_failure(KmsError(kms_code::kThrottling, "slow down"));
  EncryptionContext ctx = Ctx("a");
  std::vector<absl::Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      GenerateDataKeyResponse r;
      statuses[i] = c->GenerateDataKeyInto(Sized(&ctx), &r);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counting_->generate_calls(), 1);
  for (const auto& s : statuses) EXPECT_EQ(GetKmsErrorCode(s), kms_code::kThrottling) << s;

  // Within negative_ttl the error is answered without the provider...
  counting_->set_gate(nullptr);
  GenerateDataKeyResponse r;
  EXPECT_EQ(GetKmsErrorCode(cache->GenerateDataKeyInto(Sized(&ctx), &r)), kms_code::kThrottling);
  EXPECT_EQ(counting_->generate_calls(), 1);
  EXPECT_EQ(cache->stats().negative_hits, 1u);
  // ... after it, the provider is asked again (and now succeeds).
  counting_->set_failure(absl::OkStatus());
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &r).ok());
  EXPECT_EQ(counting_->generate_calls(), 2);
  EXPECT_FALSE(r.from_cache);
}

TEST_F(CachingKeyProviderTest, NonRetryableErrorsAreNotRemembered) {
  CacheLimits limits;
  limits.negative_ttl = std::chrono::seconds(10);
  auto cache = NewCache(limits);
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse r;
  for (int i = 0; i < 3; ++i) {
    absl::Status s = cache->GenerateDataKeyInto(Sized(&ctx, "alias/does-not-exist"), &r);
    EXPECT_FALSE(s.ok());
  }
  EXPECT_EQ(counting_->generate_calls(), 3);
  EXPECT_EQ(cache->stats().negative_hits, 0u);
}

TEST_F(CachingKeyProviderTest, NegativeCachingIsOffByDefault) {
  auto cache = NewCache(CacheLimits{});
  counting_->set_failure(KmsError(kms_code::kServiceUnavailableTemporary, "down"));
  EncryptionContext ctx = Ctx("a");
  GenerateDataKeyResponse r;
  EXPECT_FALSE(cache->GenerateDataKeyInto(Sized(&ctx), &r).ok());
  EXPECT_FALSE(cache->GenerateDataKeyInto(Sized(&ctx), &r).ok());
  EXPECT_EQ(counting_->generate_calls(), 2);
}

// ---- Concurrency under limits (also run under --config=tsan) ----

// Many threads take keys for 4 contexts, `run` messages in a row for each, and record which key each message got; afterwards
// no key may have served more messages or bytes than the limits allow, and every key the
// provider made was used.
void ExpectLimitsHoldUnderThreads(CachingKeyProviderTest* test, CachingKeyProvider* cache,
                                  const CacheLimits& limits, int threads, int per_thread, int run) {
  std::vector<EncryptionContext> contexts = {Ctx("a"), Ctx("b"), Ctx("c"), Ctx("d")};
  std::mutex mu;
  std::map<std::string, uint64_t> messages_per_blob, bytes_per_blob;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      GenerateDataKeyResponse r;
      DecryptResponse d;
      std::vector<std::pair<std::string, uint64_t>> seen;
      for (int i = 0; i < per_thread; ++i) {
        const EncryptionContext& ctx = contexts[(t + i / run) % contexts.size()];
        uint64_t bytes = 1 + (i * 7 + t) % 100;
        if (!cache->GenerateDataKeyInto(test->SizedFor(&ctx, bytes), &r).ok()) {
          ++failures;
          continue;
        }
        seen.emplace_back(r.ciphertext_blob, bytes);
        if (i % 5 == 0) {
          DecryptRequest dreq;
          dreq.ciphertext_blob = absl::MakeConstSpan(
              reinterpret_cast<const uint8_t*>(r.ciphertext_blob.data()), r.ciphertext_blob.size());
          dreq.encryption_context = &ctx;
          if (!cache->DecryptInto(dreq, &d).ok() || !d.plaintext.ConstantTimeEquals(r.plaintext)) {
            ++failures;
          }
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [blob, bytes] : seen) {
        messages_per_blob[blob] += 1;
        bytes_per_blob[blob] += bytes;
      }
    });
  }
  for (auto& th : workers) th.join();
  EXPECT_EQ(failures.load(), 0);
  uint64_t total = 0;
  for (const auto& [blob, n] : messages_per_blob) {
    EXPECT_LE(n, limits.max_messages);
    EXPECT_LE(bytes_per_blob[blob], limits.max_bytes);
    total += n;
  }
  EXPECT_EQ(total, static_cast<uint64_t>(threads) * per_thread);
  cache::CacheStats stats = cache->stats();
  EXPECT_EQ(stats.provider_generate_calls, messages_per_blob.size());
  EXPECT_EQ(stats.generate_requests, total);
  EXPECT_LT(stats.provider_generate_calls, stats.generate_requests);
}

// Limits below the lease size: every message takes the shared lock.
TEST_F(CachingKeyProviderTest, EightThreadsNeverExceedTheMessageLimitOfAnyKey) {
  CacheLimits limits;
  limits.max_messages = 25;
  limits.max_bytes = 25 * 100;
  limits.capacity = 3;
  auto cache = NewCache(limits);
  ExpectLimitsHoldUnderThreads(this, cache.get(), limits, 8, 400, 1);
  EXPECT_EQ(counting_->generate_calls(), static_cast<int>(cache->stats().provider_generate_calls));
}

// Limits that threads lease from (10 messages and 500 bytes per lease): both limits bind.
TEST_F(CachingKeyProviderTest, SixteenThreadsWithLeasesNeverExceedAnyKeysLimits) {
  CacheLimits limits;
  limits.max_messages = 640;
  limits.max_bytes = 640 * 50;
  limits.capacity = 4;  // no evictions: keys live until a limit retires them
  auto cache = NewCache(limits);
  // Runs of 50 messages outlast a lease: threads renew leases of an entry while others hold some.
  ExpectLimitsHoldUnderThreads(this, cache.get(), limits, 16, 2000, 50);
  EXPECT_GT(cache->stats().generate_hits, 16u * 2000u * 9 / 10);
}

// ---- Randomness of what the cache hands out ----

TEST_F(CachingKeyProviderTest, HundredThousandFreshDataKeysNeverRepeat) {
  CacheLimits limits;
  limits.max_messages = 1;  // every call is a fresh key from the provider
  auto cache = NewCache(limits);
  EncryptionContext ctx = Ctx("a");
  std::set<std::array<uint8_t, 32>> key_hashes;
  std::set<std::string> blobs;
  GenerateDataKeyResponse r;
  for (int i = 0; i < 100000; ++i) {
    ASSERT_TRUE(cache->GenerateDataKeyInto(Sized(&ctx), &r).ok());
    ASSERT_FALSE(r.from_cache);
    ASSERT_EQ(r.plaintext.size(), 32u);
    ASSERT_FALSE(sodium_is_zero(r.plaintext.data(), r.plaintext.size()));
    // Only a hash of each key is kept (keys never go into ordinary memory).
    std::array<uint8_t, 32> h;
    crypto_generichash(h.data(), h.size(), r.plaintext.data(), r.plaintext.size(), nullptr, 0);
    key_hashes.insert(h);
    blobs.insert(r.ciphertext_blob);
  }
  EXPECT_EQ(key_hashes.size(), 100000u);
  EXPECT_EQ(blobs.size(), 100000u);
}

}  // namespace
}  // namespace kms_envelope
