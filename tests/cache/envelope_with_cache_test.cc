// The cache in its intended place: as the provider of an Envelope.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/encryption_context.h"
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

}  // namespace
}  // namespace kms_envelope
