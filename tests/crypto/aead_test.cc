// AeadKey contract: size checks, authentication of every bit, zeroed output, concurrency.
#include "kms_envelope/internal/aead.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <sodium.h>

#include "gtest/gtest.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope::internal {
namespace {

struct Config {
  AeadAlgorithm algorithm;
  AeadBackend backend;
};

std::vector<Config> AllConfigs() {
  std::vector<Config> configs = {{AeadAlgorithm::kAes256Gcm, AeadBackend::kOpenSsl},
                                 {AeadAlgorithm::kXChaCha20Poly1305, AeadBackend::kLibsodium},
                                 {AeadAlgorithm::kChaCha20Poly1305, AeadBackend::kLibsodium}};
  if (LibsodiumAesGcmAvailable()) {
    configs.push_back({AeadAlgorithm::kAes256Gcm, AeadBackend::kLibsodium});
  }
  return configs;
}

std::string Name(const Config& c) {
  return std::string(AeadAlgorithmName(c.algorithm)) +
         (c.backend == AeadBackend::kOpenSsl ? "/openssl" : "/libsodium");
}

AeadKey NewKey(const Config& c) {
  std::vector<uint8_t> raw(kAeadKeySize);
  FillRandom(absl::MakeSpan(raw));
  absl::StatusOr<AeadKey> key = AeadKey::New(c.algorithm, raw, c.backend);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

bool AllZero(const std::vector<uint8_t>& v) {
  for (uint8_t b : v) {
    if (b != 0) return false;
  }
  return true;
}

TEST(Aead, NonceSizesPerAlgorithm) {
  EXPECT_EQ(AeadNonceSize(AeadAlgorithm::kAes256Gcm), 12u);
  EXPECT_EQ(AeadNonceSize(AeadAlgorithm::kChaCha20Poly1305), 12u);
  EXPECT_EQ(AeadNonceSize(AeadAlgorithm::kXChaCha20Poly1305), 24u);
}

TEST(Aead, NewRejectsKeysThatAreNot32Bytes) {
  for (const Config& c : AllConfigs()) {
    for (size_t size : {0, 16, 24, 31, 33, 64}) {
      std::vector<uint8_t> raw(size, 1);
      EXPECT_EQ(AeadKey::New(c.algorithm, raw, c.backend).status().code(),
                absl::StatusCode::kInvalidArgument)
          << Name(c) << " key size " << size;
    }
  }
  std::vector<uint8_t> raw(32);
  EXPECT_EQ(AeadKey::New(static_cast<AeadAlgorithm>(9), raw).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Aead, SealAndOpenRejectWrongSizesAndZeroTheOutput) {
  for (const Config& c : AllConfigs()) {
    SCOPED_TRACE(Name(c));
    AeadKey key = NewKey(c);
    std::vector<uint8_t> nonce(key.nonce_size()), pt(10, 1), ct(10 + kAeadTagSize);
    ASSERT_TRUE(key.Seal(nonce, {}, pt, absl::MakeSpan(ct)).ok());
    for (size_t bad_nonce : {size_t{0}, key.nonce_size() - 1, key.nonce_size() + 1, size_t{32}}) {
      std::vector<uint8_t> n(bad_nonce), out(10, 0xAA), sealed(ct.size());
      EXPECT_EQ(key.Seal(n, {}, pt, absl::MakeSpan(sealed)).code(),
                absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(key.Open(n, {}, ct, absl::MakeSpan(out)).code(),
                absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(AllZero(out));
    }
    std::vector<uint8_t> short_out(ct.size() - 1), long_out(ct.size() + 1);
    EXPECT_EQ(key.Seal(nonce, {}, pt, absl::MakeSpan(short_out)).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(key.Seal(nonce, {}, pt, absl::MakeSpan(long_out)).code(),
              absl::StatusCode::kInvalidArgument);
    std::vector<uint8_t> out9(9, 0xAA), out11(11, 0xAA), tiny(0);
    EXPECT_EQ(key.Open(nonce, {}, ct, absl::MakeSpan(out9)).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(AllZero(out9));
    EXPECT_EQ(key.Open(nonce, {}, ct, absl::MakeSpan(out11)).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(AllZero(out11));
    EXPECT_EQ(key.Open(nonce, {}, absl::MakeConstSpan(ct).subspan(0, kAeadTagSize - 1),
                       absl::MakeSpan(tiny))
                  .code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(Aead, SealRefusesMessagesAboveTheAlgorithmLimitBeforeTouchingThem) {
  // The spans below are never dereferenced: the size check comes first. (libsodium would abort
  // the process on an oversized IETF ChaCha20-Poly1305 message.)
  uint8_t byte = 0;
  struct Limit {
    Config config;
    uint64_t max;
  };
  std::vector<Limit> limits = {
      {{AeadAlgorithm::kAes256Gcm, AeadBackend::kOpenSsl}, kAesGcmMaxMessageSize},
      {{AeadAlgorithm::kChaCha20Poly1305, AeadBackend::kLibsodium},
       uint64_t{crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX}}};
  for (const Limit& limit : limits) {
    AeadKey key = NewKey(limit.config);
    std::vector<uint8_t> nonce(key.nonce_size());
    const size_t too_big = static_cast<size_t>(limit.max) + 1;
    absl::Span<const uint8_t> pt(&byte, too_big);
    absl::Span<uint8_t> out(&byte, too_big + kAeadTagSize);
    EXPECT_EQ(key.Seal(nonce, {}, pt, out).code(), absl::StatusCode::kInvalidArgument)
        << Name(limit.config);
  }
}

TEST(Aead, RoundTripsEmptyAndInPlaceMessages) {
  for (const Config& c : AllConfigs()) {
    SCOPED_TRACE(Name(c));
    AeadKey key = NewKey(c);
    std::vector<uint8_t> nonce(key.nonce_size(), 3), aad = {1, 2, 3};
    std::vector<uint8_t> tag_only(kAeadTagSize);
    ASSERT_TRUE(key.Seal(nonce, aad, {}, absl::MakeSpan(tag_only)).ok());
    std::vector<uint8_t> none;
    EXPECT_TRUE(key.Open(nonce, aad, tag_only, absl::MakeSpan(none)).ok());
    tag_only[0] ^= 1;
    EXPECT_FALSE(key.Open(nonce, aad, tag_only, absl::MakeSpan(none)).ok());

    // In place: the plaintext occupies the front of the output buffer.
    std::vector<uint8_t> buf(1000 + kAeadTagSize);
    for (size_t i = 0; i < 1000; ++i) buf[i] = static_cast<uint8_t>(i);
    std::vector<uint8_t> original(buf.begin(), buf.begin() + 1000);
    ASSERT_TRUE(key.Seal(nonce, aad, absl::MakeConstSpan(buf).subspan(0, 1000),
                         absl::MakeSpan(buf))
                    .ok());
    ASSERT_TRUE(key.Open(nonce, aad, buf, absl::MakeSpan(buf).subspan(0, 1000)).ok());
    EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 1000), original);
  }
}

TEST(Aead, FlippingAnyBitOfCiphertextTagNonceOrAadFailsWithZeroedOutput) {
  for (const Config& c : AllConfigs()) {
    SCOPED_TRACE(Name(c));
    AeadKey key = NewKey(c);
    std::vector<uint8_t> nonce(key.nonce_size()), aad = {9, 8, 7, 6}, pt = {'s', 'e', 'c', 'r', 't'};
    FillRandom(absl::MakeSpan(nonce));
    std::vector<uint8_t> ct(pt.size() + kAeadTagSize);
    ASSERT_TRUE(key.Seal(nonce, aad, pt, absl::MakeSpan(ct)).ok());
    std::vector<uint8_t> out(pt.size());
    ASSERT_TRUE(key.Open(nonce, aad, ct, absl::MakeSpan(out)).ok());
    ASSERT_EQ(out, pt);
    int failures = 0;
    auto try_open = [&](const std::vector<uint8_t>& n, const std::vector<uint8_t>& a,
                        const std::vector<uint8_t>& x) {
      std::vector<uint8_t> o(pt.size(), 0xAA);
      absl::Status s = key.Open(n, a, x, absl::MakeSpan(o));
      if (s.code() == absl::StatusCode::kInvalidArgument && AllZero(o)) ++failures;
    };
    for (size_t bit = 0; bit < ct.size() * 8; ++bit) {
      std::vector<uint8_t> t = ct;
      t[bit / 8] ^= uint8_t(1) << (bit % 8);
      try_open(nonce, aad, t);
    }
    for (size_t bit = 0; bit < nonce.size() * 8; ++bit) {
      std::vector<uint8_t> n = nonce;
      n[bit / 8] ^= uint8_t(1) << (bit % 8);
      try_open(n, aad, ct);
    }
    for (size_t bit = 0; bit < aad.size() * 8; ++bit) {
      std::vector<uint8_t> a = aad;
      a[bit / 8] ^= uint8_t(1) << (bit % 8);
      try_open(nonce, a, ct);
    }
    try_open(nonce, {}, ct);                                   // dropped AAD
    std::vector<uint8_t> longer_aad = aad;
    longer_aad.push_back(0);
    try_open(nonce, longer_aad, ct);                           // extended AAD
    EXPECT_EQ(failures, int(ct.size() * 8 + nonce.size() * 8 + aad.size() * 8 + 2));
    // The key still works after all those failures (pooled OpenSSL contexts are reusable).
    ASSERT_TRUE(key.Open(nonce, aad, ct, absl::MakeSpan(out)).ok());
    EXPECT_EQ(out, pt);
  }
}

TEST(Aead, AWrongKeyFails) {
  for (const Config& c : AllConfigs()) {
    AeadKey a = NewKey(c), b = NewKey(c);
    std::vector<uint8_t> nonce(a.nonce_size()), pt(40, 5), ct(56), out(40, 0xAA);
    ASSERT_TRUE(a.Seal(nonce, {}, pt, absl::MakeSpan(ct)).ok());
    EXPECT_FALSE(b.Open(nonce, {}, ct, absl::MakeSpan(out)).ok()) << Name(c);
    EXPECT_TRUE(AllZero(out));
  }
}

TEST(Aead, BackendsInteroperateForAesGcm) {
  if (!LibsodiumAesGcmAvailable()) GTEST_SKIP() << "no AES-NI: only the OpenSSL backend exists";
  std::vector<uint8_t> raw(32, 0x42), nonce(12, 1), pt(3000, 7), ct(3016), out(3000);
  absl::StatusOr<AeadKey> ossl = AeadKey::New(AeadAlgorithm::kAes256Gcm, raw, AeadBackend::kOpenSsl);
  absl::StatusOr<AeadKey> sod = AeadKey::New(AeadAlgorithm::kAes256Gcm, raw, AeadBackend::kLibsodium);
  ASSERT_TRUE(ossl.ok() && sod.ok());
  ASSERT_TRUE(ossl->Seal(nonce, {}, pt, absl::MakeSpan(ct)).ok());
  ASSERT_TRUE(sod->Open(nonce, {}, ct, absl::MakeSpan(out)).ok());
  EXPECT_EQ(out, pt);
}

TEST(Aead, MovedKeysKeepWorking) {
  for (const Config& c : AllConfigs()) {
    AeadKey key = NewKey(c);
    std::vector<uint8_t> nonce(key.nonce_size()), pt(20, 9), ct(36), out(20);
    ASSERT_TRUE(key.Seal(nonce, {}, pt, absl::MakeSpan(ct)).ok());
    AeadKey moved(std::move(key));
    AeadKey assigned = NewKey(c);
    assigned = std::move(moved);
    ASSERT_TRUE(assigned.Open(nonce, {}, ct, absl::MakeSpan(out)).ok()) << Name(c);
    EXPECT_EQ(out, pt);
  }
}

TEST(Aead, FourThreadsSealAndOpenConcurrentlyOnOneKey) {
  for (const Config& c : AllConfigs()) {
    SCOPED_TRACE(Name(c));
    const AeadKey key = NewKey(c);
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::vector<uint8_t> nonce(key.nonce_size()), aad(8, uint8_t(t));
        for (int i = 0; i < 500; ++i) {
          const size_t len = size_t(i % 97) * 13;
          std::vector<uint8_t> pt(len, uint8_t(t * 31 + i)), ct(len + kAeadTagSize), out(len);
          FillRandom(absl::MakeSpan(nonce));
          if (!key.Seal(nonce, aad, pt, absl::MakeSpan(ct)).ok() ||
              !key.Open(nonce, aad, ct, absl::MakeSpan(out)).ok() || out != pt) {
            ++errors;
          }
          ct[0] ^= 1;  // and a failing open in the mix
          if (key.Open(nonce, aad, ct, absl::MakeSpan(out)).ok()) ++errors;
        }
      });
    }
    for (std::thread& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
  }
}

}  // namespace
}  // namespace kms_envelope::internal
