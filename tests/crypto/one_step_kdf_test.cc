// internal::OneStepKdfSha256 (NIST SP 800-56C one-step KDF, SHA-256) checked against two
// implementations we did not write: OpenSSL's "SSKDF" and a vector computed with Python's hashlib.
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/internal/hkdf.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope {
namespace internal {
namespace {

std::vector<uint8_t> OpenSslSskdf(const std::vector<uint8_t>& z, const std::vector<uint8_t>& info,
                                  size_t size) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SSKDF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  char digest[] = "SHA256";
  std::vector<uint8_t> zc = z, ic = info;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, zc.data(), zc.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ic.data(), ic.size()),
      OSSL_PARAM_construct_end()};
  std::vector<uint8_t> out(size);
  const int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  EXPECT_EQ(ok, 1);
  return out;
}

std::vector<uint8_t> Ours(const std::vector<uint8_t>& z, const std::vector<uint8_t>& info,
                          size_t size) {
  std::vector<uint8_t> out(size);
  EXPECT_TRUE(OneStepKdfSha256(z, info, absl::MakeSpan(out)).ok());
  return out;
}

std::vector<uint8_t> Sequence(size_t n, uint8_t first) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(first + i);
  return v;
}

TEST(OneStepKdfSha256Test, MatchesAVectorComputedWithPythonHashlib) {
  // z = 00..1f, fixed info = "kms-envelope/v2/keys" || 01 || 64..83 (the envelope's v2 shape);
  // K(i) = hashlib.sha256(i.to_bytes(4, "big") + z + info).digest().
  std::vector<uint8_t> info = {'k', 'm', 's', '-', 'e', 'n', 'v', 'e', 'l', 'o',
                               'p', 'e', '/', 'v', '2', '/', 'k', 'e', 'y', 's', 1};
  const std::vector<uint8_t> id = Sequence(32, 100);
  info.insert(info.end(), id.begin(), id.end());
  const std::vector<uint8_t> out = Ours(Sequence(32, 0), info, 70);
  std::string hex;
  for (uint8_t b : out) hex += "0123456789abcdef"[b >> 4], hex += "0123456789abcdef"[b & 15];
  EXPECT_EQ(hex,
            "681fe5dfbb245da0591f4b5d58fa081f905363da966ea658f779af04afa13756"
            "98edfda332cf8d290cd683223de6efa43e81507ec5727fbbfc78826f32d494c3"
            "b21ab254b1ed");
}

TEST(OneStepKdfSha256Test, MatchesOpenSslSskdfForManyInputAndOutputSizes) {
  int compared = 0;
  for (size_t z_size : {1, 16, 32, 55, 64, 100}) {
    for (size_t info_size : {0, 1, 21, 53, 64, 119, 200}) {
      for (size_t out_size : {1, 16, 31, 32, 33, 64, 65, 100, 255}) {
        std::vector<uint8_t> z(z_size), info(info_size);
        FillRandom(absl::MakeSpan(z));
        FillRandom(absl::MakeSpan(info));
        ASSERT_EQ(Ours(z, info, out_size), OpenSslSskdf(z, info, out_size))
            << z_size << "/" << info_size << "/" << out_size;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 6 * 7 * 9);
}

TEST(OneStepKdfSha256Test, RefusesEmptyAndOversizedOutputsWithoutWriting) {
  const std::vector<uint8_t> z = Sequence(32, 0);
  std::vector<uint8_t> big(kOneStepKdfSha256MaxOutput + 1, 0xAA);
  EXPECT_FALSE(OneStepKdfSha256(z, {}, absl::MakeSpan(big)).ok());
  for (uint8_t b : big) ASSERT_EQ(b, 0xAA);
  EXPECT_FALSE(OneStepKdfSha256(z, {}, absl::Span<uint8_t>()).ok());
  std::vector<uint8_t> max(kOneStepKdfSha256MaxOutput);
  EXPECT_TRUE(OneStepKdfSha256(z, {}, absl::MakeSpan(max)).ok());
}

}  // namespace
}  // namespace internal
}  // namespace kms_envelope
