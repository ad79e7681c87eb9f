// Keys never outlive an envelope operation: the data key and the payload key must not be left
// in a buffer the envelope keeps, nor copied into ordinary heap memory (freed or alive).
// This binary replaces operator new/delete (secret_heap_scan.h) to search heap blocks for them.
#include <sodium.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/secret_bytes.h"
#include "kms_envelope/testing/envelope_fault_provider.h"
#include "kms_envelope/testing/secret_heap_scan.h"
#include "tests/envelope/envelope_test_util.h"

namespace kms_envelope {
namespace envelope {
namespace {

using testing::EnvelopeFaultProvider;
using testing::SecretHeapScan;

constexpr Suite kSuites[] = {Suite::kAes256GcmHkdfSha256Committing,
                             Suite::kXChaCha20Poly1305HkdfSha256Committing};

// Whether `n` bytes at `where` (a secret buffer the provider filled, which may have been
// released to the locked pool since: pool memory stays mapped) still hold `key`.
bool StillHolds(const uint8_t* where, const SecretBytes& key) {
  return where != nullptr && sodium_memcmp(where, key.data(), key.size()) == 0;
}

// The payload key per docs/format.md: HKDF-SHA256(data key, salt = message id,
// info = "kms-envelope/v1/payload-key" || suite), 32 bytes.
SecretBytes PayloadKey(const SecretBytes& data_key, const std::string& sealed) {
  SecretBytes out = *SecretBytes::New(32);
  const std::string label = std::string("kms-envelope/v1/payload-key") + sealed[5];
  const auto* id = reinterpret_cast<const uint8_t*>(sealed.data()) + 10;
  EXPECT_TRUE(kms_envelope::testing::HkdfSha256(data_key.span(), absl::MakeConstSpan(id, 32),
                                   absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(label.data()),
                                                       label.size()),
                                   out.mutable_span())
                  .ok());
  return out;
}

class KeyWipeTest : public ::testing::TestWithParam<Suite> {
 protected:
  void SetUp() override {
    auto kms = envelope_test::NewTestKms();
    ASSERT_TRUE(kms.ok()) << kms.status();
    kms_ = *std::move(kms);
    observing_ = std::make_shared<EnvelopeFaultProvider>(kms_.provider);
    EnvelopeOptions o;
    o.suite = GetParam();
    o.frame_size = 64;
    o.primary = {observing_, kms_.key_id};
    env_ = *Envelope::New(std::move(o));
    ctx_ = *EncryptionContext::FromPairs({{"tenant", "acme"}});
  }

  envelope_test::TestKms kms_;
  std::shared_ptr<EnvelopeFaultProvider> observing_;
  std::unique_ptr<Envelope> env_;
  EncryptionContext ctx_;
};

// The scan starts the moment the provider has written the data key, before the envelope sees it.
TEST_P(KeyWipeTest, SealLeavesTheDataKeyNowhereOnceItReturns) {
  SecretHeapScan scan;
  SecretBytes data_key;
  const uint8_t* provider_buffer = nullptr;
  observing_->set_after_generate([&](GenerateDataKeyResponse* r) {
    data_key = *SecretBytes::CopyFrom(r->plaintext.span());
    provider_buffer = r->plaintext.data();
    EXPECT_TRUE(scan.Watch(r->plaintext.span()));
    return absl::OkStatus();
  });
  for (size_t size : {10, 200, 5000}) {
    auto sealed = env_->Seal(envelope_test::TestPlaintext(size), ctx_);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(scan.Finish(), 0u) << "heap blocks held the data key, message of " << size;
    EXPECT_FALSE(StillHolds(provider_buffer, data_key)) << size;
  }
  EXPECT_EQ(SecretHeapScan::untracked(), 0u);
}

// Open: the data key from Decrypt and the payload key derived from it.
TEST_P(KeyWipeTest, OpenLeavesTheDataKeyAndPayloadKeyNowhereOnceItReturns) {
  SecretBytes data_key;
  observing_->set_after_generate([&](GenerateDataKeyResponse* r) {
    data_key = *SecretBytes::CopyFrom(r->plaintext.span());
    return absl::OkStatus();
  });
  const std::string plaintext = envelope_test::TestPlaintext(300);
  auto sealed = env_->Seal(plaintext, ctx_);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  SecretBytes payload_key = PayloadKey(data_key, *sealed);

  SecretHeapScan scan;
  ASSERT_TRUE(scan.Watch(data_key.span()));
  ASSERT_TRUE(scan.Watch(payload_key.span()));
  const uint8_t* provider_buffer = nullptr;
  observing_->set_after_decrypt([&](DecryptResponse* r) {
    provider_buffer = r->plaintext.data();
    EXPECT_TRUE(r->plaintext.ConstantTimeEquals(data_key));
    return absl::OkStatus();
  });
  auto opened = env_->Open(*sealed, ctx_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, plaintext);
  EXPECT_EQ(scan.Finish(), 0u) << "heap blocks held the data key or the payload key";
  EXPECT_FALSE(StillHolds(provider_buffer, data_key));
  EXPECT_EQ(SecretHeapScan::untracked(), 0u);
}

// The scan itself finds what it must: a key copied into a std::string, freed or alive.
TEST(SecretHeapScanTest, FindsAKeyCopiedIntoAStringFreedOrAlive) {
  SecretBytes key = *SecretBytes::New(32);
  randombytes_buf(key.mutable_data(), key.size());
  SecretHeapScan scan;
  ASSERT_TRUE(scan.Watch(key.span()));
  { std::string freed(reinterpret_cast<const char*>(key.data()), key.size()); }
  EXPECT_EQ(scan.Finish(), 1u);
  ASSERT_TRUE(scan.Watch(key.span()));
  std::vector<uint8_t> alive(key.data(), key.data() + key.size());
  EXPECT_EQ(scan.Finish(), 1u);
  sodium_memzero(alive.data(), alive.size());
}

INSTANTIATE_TEST_SUITE_P(Suites, KeyWipeTest, ::testing::ValuesIn(kSuites),
                         [](const ::testing::TestParamInfo<Suite>& info) {
                           return std::string(info.param == kSuites[0] ? "Aes256Gcm" : "XChaCha20");
                         });

}  // namespace
}  // namespace envelope
}  // namespace kms_envelope
