// Runs every Wycheproof AEAD vector through AeadKey and sorts each into exactly one bucket.
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/internal/aead.h"
#include "nlohmann/json.hpp"
#include "tests/crypto/wycheproof_util.h"

namespace kms_envelope::internal {
namespace {

using testing_wycheproof::Hex;
using testing_wycheproof::LoadVectors;

struct Buckets {
  int valid_passed = 0;
  int invalid_rejected = 0;
  int acceptable_passed = 0;
  int acceptable_rejected = 0;
  int unsupported_size_rejected = 0;
  int failures = 0;  // vectors that landed in no bucket (each also reported with ADD_FAILURE)
  int Total() const {
    return valid_passed + invalid_rejected + acceptable_passed + acceptable_rejected +
           unsupported_size_rejected + failures;
  }
};

bool AllZero(const std::vector<uint8_t>& v) {
  for (uint8_t b : v) {
    if (b != 0) return false;
  }
  return true;
}

Buckets RunFile(const std::string& file, AeadAlgorithm algorithm, AeadBackend backend,
                int* number_of_tests) {
  Buckets b;
  nlohmann::json doc = LoadVectors(file);
  if (doc.is_discarded()) {
    ADD_FAILURE() << "cannot read " << file;
    return b;
  }
  *number_of_tests = doc["numberOfTests"].get<int>();
  const size_t want_nonce_bits = AeadNonceSize(algorithm) * 8;
  for (const auto& group : doc["testGroups"]) {
    const bool supported = group["keySize"].get<size_t>() == kAeadKeySize * 8 &&
                           group["ivSize"].get<size_t>() == want_nonce_bits &&
                           group["tagSize"].get<size_t>() == kAeadTagSize * 8;
    for (const auto& t : group["tests"]) {
      const int id = t["tcId"].get<int>();
      const std::string result = t["result"].get<std::string>();
      std::vector<uint8_t> key = Hex(t["key"]), iv = Hex(t["iv"]), aad = Hex(t["aad"]),
                           msg = Hex(t["msg"]), ct = Hex(t["ct"]), tag = Hex(t["tag"]);
      std::vector<uint8_t> ct_and_tag = ct;
      ct_and_tag.insert(ct_and_tag.end(), tag.begin(), tag.end());

      absl::StatusOr<AeadKey> k = AeadKey::New(algorithm, key, backend);
      if (!supported) {
        // The wrapper must refuse the size with InvalidArgument, in New or in Seal/Open.
        bool rejected = false;
        if (!k.ok()) {
          rejected = k.status().code() == absl::StatusCode::kInvalidArgument;
        } else {
          std::vector<uint8_t> out(ct_and_tag.size() >= kAeadTagSize
                                       ? ct_and_tag.size() - kAeadTagSize
                                       : 0,
                                   0xAA);
          absl::Status open = k->Open(iv, aad, ct_and_tag, absl::MakeSpan(out));
          std::vector<uint8_t> sealed(msg.size() + kAeadTagSize);
          absl::Status seal = k->Seal(iv, aad, msg, absl::MakeSpan(sealed));
          rejected = open.code() == absl::StatusCode::kInvalidArgument &&
                     seal.code() == absl::StatusCode::kInvalidArgument && AllZero(out);
        }
        if (rejected) {
          ++b.unsupported_size_rejected;
        } else {
          ++b.failures;
          ADD_FAILURE() << file << " tcId " << id << ": unsupported size not rejected";
        }
        continue;
      }
      if (!k.ok()) {
        ++b.failures;
        ADD_FAILURE() << file << " tcId " << id << ": New failed: " << k.status();
        continue;
      }
      std::vector<uint8_t> out(msg.size(), 0xAA);
      absl::Status open = ct_and_tag.size() == msg.size() + kAeadTagSize
                              ? k->Open(iv, aad, ct_and_tag, absl::MakeSpan(out))
                              : absl::InvalidArgumentError("ciphertext length mismatch");
      std::vector<uint8_t> sealed(msg.size() + kAeadTagSize);
      absl::Status seal = k->Seal(iv, aad, msg, absl::MakeSpan(sealed));
      const bool opened = open.ok() && out == msg;
      const bool sealed_same = seal.ok() && sealed == ct_and_tag;
      if (result == "valid") {
        if (opened && sealed_same) {
          ++b.valid_passed;
        } else {
          ++b.failures;
          ADD_FAILURE() << file << " tcId " << id << ": valid vector failed (open " << open
                        << ", seal " << seal << ", sealed_same " << sealed_same << ")";
        }
      } else if (result == "invalid") {
        // Zeroed output is only checkable when the output buffer had the vector's length.
        if (!open.ok() && AllZero(out)) {
          ++b.invalid_rejected;
        } else {
          ++b.failures;
          ADD_FAILURE() << file << " tcId " << id << ": invalid vector accepted or output left";
        }
      } else if (result == "acceptable") {
        if (opened) {
          ++b.acceptable_passed;
        } else {
          ++b.acceptable_rejected;
        }
      } else {
        ++b.failures;
        ADD_FAILURE() << file << " tcId " << id << ": unknown result " << result;
      }
    }
  }
  return b;
}

void ExpectBuckets(const Buckets& b, int number_of_tests, int valid, int invalid,
                   int unsupported) {
  EXPECT_EQ(b.failures, 0);
  EXPECT_EQ(b.valid_passed, valid);
  EXPECT_EQ(b.invalid_rejected, invalid);
  EXPECT_EQ(b.unsupported_size_rejected, unsupported);
  EXPECT_EQ(b.acceptable_passed, 0);    // these files have no "acceptable" vectors
  EXPECT_EQ(b.acceptable_rejected, 0);
  EXPECT_EQ(b.Total(), number_of_tests);
}

// aes_gcm_test.json: 316 vectors; 66 use a 256-bit key with a 96-bit IV (39 valid, 27 invalid),
// the other 250 (128/192-bit keys or other IV sizes) must be refused by the wrapper.
TEST(AeadWycheproof, AesGcmOnOpenSslAccountsForAll316Vectors) {
  int n = 0;
  Buckets b = RunFile("aes_gcm_test.json", AeadAlgorithm::kAes256Gcm, AeadBackend::kOpenSsl, &n);
  EXPECT_EQ(n, 316);
  ExpectBuckets(b, n, 39, 27, 250);
}

TEST(AeadWycheproof, AesGcmOnLibsodiumAccountsForAll316Vectors) {
  if (!LibsodiumAesGcmAvailable()) {
    // Then the backend must refuse to construct (never silently fall back).
    uint8_t key[32] = {0};
    absl::StatusOr<AeadKey> k = AeadKey::New(AeadAlgorithm::kAes256Gcm, key, AeadBackend::kLibsodium);
    EXPECT_EQ(k.status().code(), absl::StatusCode::kFailedPrecondition);
    GTEST_SKIP() << "libsodium AES-256-GCM unavailable on this CPU (no AES-NI/PCLMUL)";
  }
  int n = 0;
  Buckets b =
      RunFile("aes_gcm_test.json", AeadAlgorithm::kAes256Gcm, AeadBackend::kLibsodium, &n);
  EXPECT_EQ(n, 316);
  ExpectBuckets(b, n, 39, 27, 250);
}

// intel-ipsec-mb, each code path this CPU can run, forced. The library itself could take other
// IV lengths (its init_var_iv entry point), but AeadKey's contract is 96-bit nonces and 256-bit
// keys on every backend, so the same 250 vectors are refused by the wrapper here too.
class AeadWycheproofIpsecMb : public ::testing::TestWithParam<AeadBackend> {};

TEST_P(AeadWycheproofIpsecMb, AesGcmAccountsForAll316Vectors) {
  if (!IpsecMbBackendAvailable(GetParam())) {
    // Then the backend must refuse to construct (never silently fall back).
    uint8_t key[32] = {0};
    EXPECT_EQ(AeadKey::New(AeadAlgorithm::kAes256Gcm, key, GetParam()).status().code(),
              absl::StatusCode::kFailedPrecondition);
    GTEST_SKIP() << AeadBackendName(GetParam()) << " cannot run on this CPU";
  }
  int n = 0;
  Buckets b = RunFile("aes_gcm_test.json", AeadAlgorithm::kAes256Gcm, GetParam(), &n);
  EXPECT_EQ(n, 316);
  ExpectBuckets(b, n, 39, 27, 250);
}

INSTANTIATE_TEST_SUITE_P(Arches, AeadWycheproofIpsecMb,
                         ::testing::Values(AeadBackend::kIpsecMb, AeadBackend::kIpsecMbSse,
                                           AeadBackend::kIpsecMbAvx, AeadBackend::kIpsecMbAvx2,
                                           AeadBackend::kIpsecMbAvx512),
                         [](const ::testing::TestParamInfo<AeadBackend>& info) {
                           std::string name(AeadBackendName(info.param));
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

// xchacha20_poly1305_test.json: 306 vectors with a 192-bit nonce (246 valid, 60 invalid), 9 with
// other nonce sizes (all "invalid" upstream) refused by the wrapper.
TEST(AeadWycheproof, XChaCha20Poly1305AccountsForAll315Vectors) {
  int n = 0;
  Buckets b = RunFile("xchacha20_poly1305_test.json", AeadAlgorithm::kXChaCha20Poly1305,
                      AeadBackend::kLibsodium, &n);
  EXPECT_EQ(n, 315);
  ExpectBuckets(b, n, 246, 60, 9);
}

// chacha20_poly1305_test.json: 316 vectors with a 96-bit nonce (256 valid, 60 invalid), 9 with
// other nonce sizes refused by the wrapper.
TEST(AeadWycheproof, ChaCha20Poly1305AccountsForAll325Vectors) {
  int n = 0;
  Buckets b = RunFile("chacha20_poly1305_test.json", AeadAlgorithm::kChaCha20Poly1305,
                      AeadBackend::kLibsodium, &n);
  EXPECT_EQ(n, 325);
  ExpectBuckets(b, n, 256, 60, 9);
}

TEST(AeadWycheproof, DefaultBackendsAreTheOnesTheVectorsRan) {
  uint8_t key[32] = {0};
  absl::StatusOr<AeadKey> aes = AeadKey::New(AeadAlgorithm::kAes256Gcm, key);
  ASSERT_TRUE(aes.ok()) << aes.status();
  absl::StatusOr<AeadBackend> want = DefaultAesGcmBackend();
  ASSERT_TRUE(want.ok()) << want.status();
  // The fallback (kDefault) runs on OpenSSL with libsodium for short messages: both ran above.
  EXPECT_EQ(aes->backend(), *want == AeadBackend::kDefault ? AeadBackend::kOpenSsl : *want);
  if (IpsecMbBackendAvailable(AeadBackend::kIpsecMb)) {
    EXPECT_GE(static_cast<int>(aes->backend()), static_cast<int>(AeadBackend::kIpsecMbSse));
  }
  for (AeadAlgorithm alg : {AeadAlgorithm::kXChaCha20Poly1305, AeadAlgorithm::kChaCha20Poly1305}) {
    absl::StatusOr<AeadKey> k = AeadKey::New(alg, key);
    ASSERT_TRUE(k.ok()) << k.status();
    EXPECT_EQ(k->backend(), AeadBackend::kLibsodium);
    EXPECT_EQ(AeadKey::New(alg, key, AeadBackend::kOpenSsl).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace kms_envelope::internal
