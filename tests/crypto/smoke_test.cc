#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/key_provider.h"

namespace kms_envelope::internal {
namespace {

TEST(Smoke, AeadRoundTripsOnEveryBackend) {
  uint8_t key[32];
  FillRandom(absl::MakeSpan(key));
  for (auto [alg, backend] : {std::pair{AeadAlgorithm::kAes256Gcm, AeadBackend::kOpenSsl},
                              std::pair{AeadAlgorithm::kAes256Gcm, AeadBackend::kLibsodium},
                              std::pair{AeadAlgorithm::kXChaCha20Poly1305, AeadBackend::kLibsodium}}) {
    auto k = AeadKey::New(alg, key, backend);
    ASSERT_TRUE(k.ok()) << k.status();
    std::vector<uint8_t> nonce(k->nonce_size(), 7), pt(100, 1), ct(116), out(100);
    ASSERT_TRUE(k->Seal(nonce, {}, pt, absl::MakeSpan(ct)).ok());
    ASSERT_TRUE(k->Open(nonce, {}, ct, absl::MakeSpan(out)).ok());
    EXPECT_EQ(pt, out);
    ct[3] ^= 1;
    EXPECT_FALSE(k->Open(nonce, {}, ct, absl::MakeSpan(out)).ok());
    EXPECT_EQ(out, std::vector<uint8_t>(100, 0));
  }
}

}  // namespace
}  // namespace kms_envelope::internal
