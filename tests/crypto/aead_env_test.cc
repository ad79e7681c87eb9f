// Default AES-256-GCM keys follow KMS_ENVELOPE_AEAD_BACKEND (set by the BUILD rule); the
// expected backend name, or "refused", is the first argument.
#include <cstdlib>
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "kms_envelope/internal/aead.h"

namespace kms_envelope::internal {
namespace {

std::string g_expect;

TEST(AeadEnv, DefaultKeysUseTheForcedBackendOrAreRefused) {
  const char* env = std::getenv(kAeadBackendEnvVar);
  ASSERT_NE(env, nullptr);
  uint8_t raw[kAeadKeySize] = {5};
  absl::StatusOr<AeadKey> key = AeadKey::New(AeadAlgorithm::kAes256Gcm, raw);
  if (g_expect == "refused") {
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(key.status().message()).find(env), std::string::npos);
    EXPECT_NE(AesGcmBackendDescription().find("is not one of"), std::string::npos);
    // ChaCha keys do not depend on the AES backend choice.
    EXPECT_TRUE(AeadKey::New(AeadAlgorithm::kXChaCha20Poly1305, raw).ok());
    return;
  }
  if (g_expect == "libsodium" && !LibsodiumAesGcmAvailable()) {
    EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
    GTEST_SKIP() << "no AES-NI";
  }
  if (g_expect.rfind("ipsec-mb", 0) == 0 &&
      !IpsecMbBackendAvailable(AeadBackend::kIpsecMbSse)) {
    EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
    GTEST_SKIP() << "no AES-NI";
  }
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(AeadBackendName(key->backend()), g_expect);
  uint8_t nonce[kAesGcmNonceSize] = {0}, msg[3] = {1, 2, 3}, out[3 + kAeadTagSize], back[3];
  ASSERT_TRUE(key->Seal(nonce, {}, msg, absl::MakeSpan(out)).ok());
  ASSERT_TRUE(key->Open(nonce, {}, out, absl::MakeSpan(back)).ok());
  EXPECT_EQ(std::memcmp(back, msg, 3), 0);
}

}  // namespace
}  // namespace kms_envelope::internal

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) kms_envelope::internal::g_expect = argv[1];
  return RUN_ALL_TESTS();
}
