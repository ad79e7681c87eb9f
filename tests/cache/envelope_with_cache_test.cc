// The cache in its intended place: as the provider of an Envelope.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/envelope.h"
#include "tests/cache/counting_provider.h"
#include "tests/cache/local_fixture.h"

namespace kms_envelope {
namespace {

TEST(EnvelopeWithCache, HundredMessagesShareOneDataKeyAndOneUnwrap) {
  auto local = cache_testing::NewLocalFixture();
  ASSERT_NE(local, nullptr);
  auto counting = std::make_shared<cache_testing::CountingProvider>(local->provider());
  cache::CachingKeyProvider::Options options;
  options.limits.max_messages = 1000;
  auto cache = cache::CachingKeyProvider::NewBorrowing(counting.get(), options);
  ASSERT_TRUE(cache.ok()) << cache.status();
  std::shared_ptr<KeyProvider> cached(std::move(*cache));

  envelope::EnvelopeOptions eo;
  eo.primary = {cached, local->key_a()};
  std::vector<int> audited_from_cache;
  eo.audit_hook = [&](const envelope::AuditEvent& e) { audited_from_cache.push_back(e.from_cache); };
  auto env = envelope::Envelope::New(std::move(eo));
  ASSERT_TRUE(env.ok()) << env.status();

  auto ctx = EncryptionContext::FromPairs({{"tenant", "a"}});
  ASSERT_TRUE(ctx.ok());
  std::vector<std::string> sealed;
  for (int i = 0; i < 100; ++i) {
    auto s = (*env)->Seal("message " + std::to_string(i), *ctx);
    ASSERT_TRUE(s.ok()) << s.status();
    sealed.push_back(*std::move(s));
  }
  EXPECT_EQ(counting->generate_calls(), 1);
  ASSERT_EQ(audited_from_cache.size(), 100u);
  EXPECT_EQ(audited_from_cache[0], 0);
  EXPECT_EQ(audited_from_cache[99], 1);
  // Messages still differ (per-message id and payload key) although the data key is shared.
  EXPECT_NE(sealed[0].substr(10, 32), sealed[1].substr(10, 32));

  for (int i = 0; i < 100; ++i) {
    auto opened = (*env)->Open(sealed[i], *ctx);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, "message " + std::to_string(i));
  }
  EXPECT_EQ(counting->decrypt_calls(), 1);

  // A wrong context is refused, and a cached key does not change that.
  auto other = EncryptionContext::FromPairs({{"tenant", "b"}});
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*env)->Open(sealed[0], *other).ok());
}

// An envelope over a cache with the given byte limit; `from_cache` records each seal's audit flag.
struct CachedEnvelope {
  std::unique_ptr<cache_testing::LocalFixture> local;
  std::shared_ptr<cache_testing::CountingProvider> counting;
  std::unique_ptr<envelope::Envelope> env;
  std::vector<bool> from_cache;
};

std::unique_ptr<CachedEnvelope> NewCachedEnvelope(uint64_t max_bytes) {
  auto ce = std::make_unique<CachedEnvelope>();
  ce->local = cache_testing::NewLocalFixture();
  if (ce->local == nullptr) return nullptr;
  ce->counting = std::make_shared<cache_testing::CountingProvider>(ce->local->provider());
  cache::CachingKeyProvider::Options options;
  options.limits.max_bytes = max_bytes;
  auto cache = cache::CachingKeyProvider::NewBorrowing(ce->counting.get(), options);
  if (!cache.ok()) return nullptr;
  envelope::EnvelopeOptions eo;
  eo.primary = {std::shared_ptr<KeyProvider>(std::move(*cache)), ce->local->key_a()};
  CachedEnvelope* raw = ce.get();
  eo.audit_hook = [raw](const envelope::AuditEvent& e) { raw->from_cache.push_back(e.from_cache); };
  auto env = envelope::Envelope::New(std::move(eo));
  if (!env.ok()) return nullptr;
  ce->env = *std::move(env);
  return ce;
}

TEST(EnvelopeWithCache, AByteLimitOfNBytesYieldsANewDataKeyAfterNBytes) {
  constexpr uint64_t kLimit = 1000;
  auto ce = NewCachedEnvelope(kLimit);
  ASSERT_NE(ce, nullptr);
  auto ctx = EncryptionContext::FromPairs({{"tenant", "a"}});
  ASSERT_TRUE(ctx.ok());
  // 300 + 300 + 400 = exactly 1000 bytes under the first key; the next byte needs a new key.
  for (size_t size : {300, 300, 400}) {
    ASSERT_TRUE(ce->env->Seal(std::string(size, 'x'), *ctx).ok());
  }
  EXPECT_EQ(ce->counting->generate_calls(), 1);
  std::vector<uint8_t> out(ce->env->SealedSize(1, *ctx));
  ASSERT_TRUE(ce->env->SealInto(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>("y"), 1), *ctx,
                                absl::MakeSpan(out))
                  .ok());
  EXPECT_EQ(ce->counting->generate_calls(), 2);
  EXPECT_EQ(ce->from_cache, (std::vector<bool>{false, true, true, false}));
  // A message larger than the limit on its own never shares a key, and leaves the entry alone.
  ASSERT_TRUE(ce->env->Seal(std::string(kLimit + 1, 'z'), *ctx).ok());
  ASSERT_TRUE(ce->env->Seal(std::string(10, 'w'), *ctx).ok());
  EXPECT_EQ(ce->counting->generate_calls(), 3);
  EXPECT_EQ(ce->from_cache.back(), true);
}

TEST(EnvelopeWithCache, EachSealStreamGetsADataKeyOfItsOwn) {
  auto ce = NewCachedEnvelope(uint64_t{1} << 30);
  ASSERT_NE(ce, nullptr);
  auto ctx = EncryptionContext::FromPairs({{"tenant", "a"}});
  ASSERT_TRUE(ctx.ok());
  ASSERT_TRUE(ce->env->Seal(std::string(10, 'x'), *ctx).ok());
  const std::string data(5000, 's');
  std::vector<std::string> sealed(2);
  for (std::string& out : sealed) {
    envelope::SpanSource in(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data.data()),
                                                data.size()));
    envelope::StringSink sink(&out);
    ASSERT_TRUE(ce->env->SealStream(in, sink, *ctx).ok());
  }
  ASSERT_TRUE(ce->env->Seal(std::string(10, 'x'), *ctx).ok());
  EXPECT_EQ(ce->counting->generate_calls(), 3);
  EXPECT_EQ(ce->from_cache, (std::vector<bool>{false, false, false, true}));
  for (const std::string& s : sealed) {
    auto opened = ce->env->Open(s, *ctx);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, data);
  }
}

}  // namespace
}  // namespace kms_envelope
