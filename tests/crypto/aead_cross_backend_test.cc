// Every AES-256-GCM backend opens what every other one sealed, byte for byte the same
// ciphertext, and every backend refuses a tampered message. Covers each intel-ipsec-mb code path
// this CPU can run (SSE, AVX, AVX2, AVX-512/VAES), forced one at a time.
#include <cstdint>
#include <random>
#include <utility>
#include <string>
#include <vector>

#include <intel-ipsec-mb.h>

#include <iostream>

#include "gtest/gtest.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/ipsec_mb.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope::internal {
namespace {

std::vector<AeadBackend> AvailableBackends() {
  std::vector<AeadBackend> out = {AeadBackend::kOpenSsl};
  if (LibsodiumAesGcmAvailable()) out.push_back(AeadBackend::kLibsodium);
  for (AeadBackend b : {AeadBackend::kIpsecMbSse, AeadBackend::kIpsecMbAvx,
                        AeadBackend::kIpsecMbAvx2, AeadBackend::kIpsecMbAvx512}) {
    if (IpsecMbBackendAvailable(b)) out.push_back(b);
  }
  return out;
}

struct Keys {
  std::vector<AeadBackend> backends;
  std::vector<AeadKey> keys;
};

Keys MakeKeys(const uint8_t raw[kAeadKeySize]) {
  Keys k;
  k.backends = AvailableBackends();
  for (AeadBackend b : k.backends) {
    absl::StatusOr<AeadKey> key =
        AeadKey::New(AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(raw, kAeadKeySize), b);
    EXPECT_TRUE(key.ok()) << AeadBackendName(b) << ": " << key.status();
    EXPECT_EQ(key->backend(), b);
    k.keys.push_back(*std::move(key));
  }
  return k;
}

// Seals `msg` with every backend; all ciphertexts must be equal and every backend must open
// each of them.
void CheckOneSize(Keys& k, const std::vector<uint8_t>& msg, const std::vector<uint8_t>& aad,
                  const uint8_t nonce[kAesGcmNonceSize]) {
  const absl::Span<const uint8_t> n(nonce, kAesGcmNonceSize);
  std::vector<uint8_t> first(msg.size() + kAeadTagSize);
  ASSERT_TRUE(k.keys[0].Seal(n, aad, msg, absl::MakeSpan(first)).ok());
  std::vector<uint8_t> sealed(first.size()), opened(msg.size());
  for (size_t s = 0; s < k.keys.size(); ++s) {
    ASSERT_TRUE(k.keys[s].Seal(n, aad, msg, absl::MakeSpan(sealed)).ok());
    ASSERT_EQ(sealed, first) << AeadBackendName(k.backends[s]) << " size " << msg.size();
    for (size_t o = 0; o < k.keys.size(); ++o) {
      if (o == s) continue;
      ASSERT_TRUE(k.keys[o].Open(n, aad, sealed, absl::MakeSpan(opened)).ok())
          << AeadBackendName(k.backends[s]) << " -> " << AeadBackendName(k.backends[o])
          << " size " << msg.size();
      ASSERT_EQ(opened, msg);
    }
  }
}

TEST(AeadCrossBackend, ThisCpuHasTheIpsecMbPathsLscpuReports) {
  // Documents what ran: the test still passes (with fewer backends) on older CPUs.
  std::string names;
  for (AeadBackend b : AvailableBackends()) names += std::string(AeadBackendName(b)) + " ";
  std::cout << "backends: " << names << "\n" << AesGcmBackendDescription() << "\n";
  EXPECT_GE(AvailableBackends().size(), 1u);
}

TEST(AeadCrossBackend, EverySizeFrom0To4096OpensOnEveryOtherBackend) {
  uint8_t raw[kAeadKeySize], nonce[kAesGcmNonceSize];
  FillRandomFromKernel(absl::MakeSpan(raw));
  FillRandomFromKernel(absl::MakeSpan(nonce));
  Keys k = MakeKeys(raw);
  std::vector<uint8_t> msg(4096), aad(37);
  FillRandomFromKernel(absl::MakeSpan(msg));
  FillRandomFromKernel(absl::MakeSpan(aad));
  for (size_t size = 0; size <= 4096; ++size) {
    std::vector<uint8_t> m(msg.begin(), msg.begin() + size);
    // Alternate empty and non-empty AAD (the library entry points treat zero lengths apart).
    std::vector<uint8_t> a = size % 2 ? aad : std::vector<uint8_t>();
    CheckOneSize(k, m, a, nonce);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(AeadCrossBackend, RandomSizesUpTo8MiBOpenOnEveryOtherBackend) {
  uint8_t raw[kAeadKeySize], nonce[kAesGcmNonceSize];
  FillRandomFromKernel(absl::MakeSpan(raw));
  FillRandomFromKernel(absl::MakeSpan(nonce));
  Keys k = MakeKeys(raw);
  std::mt19937_64 rng(std::random_device{}());
  std::vector<size_t> sizes = {size_t{8} << 20};
  for (int i = 0; i < 6; ++i) sizes.push_back(rng() % ((size_t{8} << 20) + 1));
  std::vector<uint8_t> aad(100);
  FillRandomFromKernel(absl::MakeSpan(aad));
  for (size_t size : sizes) {
    std::vector<uint8_t> m(size);
    FillRandomFromKernel(absl::MakeSpan(m));
    CheckOneSize(k, m, aad, nonce);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(AeadCrossBackend, EveryBackendRefusesATamperedMessageAndZeroesItsOutput) {
  uint8_t raw[kAeadKeySize], nonce[kAesGcmNonceSize] = {1};
  FillRandomFromKernel(absl::MakeSpan(raw));
  Keys k = MakeKeys(raw);
  std::vector<uint8_t> msg(1000, 0x42), aad = {1, 2, 3};
  std::vector<uint8_t> sealed(msg.size() + kAeadTagSize);
  ASSERT_TRUE(k.keys[0].Seal(nonce, aad, msg, absl::MakeSpan(sealed)).ok());
  for (size_t flip : {size_t{0}, size_t{999}, size_t{1000}, size_t{1015}}) {
    std::vector<uint8_t> bad = sealed;
    bad[flip] ^= 0x01;
    for (size_t o = 0; o < k.keys.size(); ++o) {
      std::vector<uint8_t> out(msg.size(), 0xAA);
      absl::Status st = k.keys[o].Open(nonce, aad, bad, absl::MakeSpan(out));
      EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << AeadBackendName(k.backends[o]);
      EXPECT_EQ(out, std::vector<uint8_t>(msg.size(), 0)) << AeadBackendName(k.backends[o]);
    }
  }
  // A changed AAD byte and a changed nonce are refused too.
  std::vector<uint8_t> out(msg.size());
  std::vector<uint8_t> bad_aad = {1, 2, 4};
  uint8_t bad_nonce[kAesGcmNonceSize] = {2};
  for (AeadKey& key : k.keys) {
    EXPECT_FALSE(key.Open(nonce, bad_aad, sealed, absl::MakeSpan(out)).ok());
    EXPECT_FALSE(key.Open(bad_nonce, aad, sealed, absl::MakeSpan(out)).ok());
  }
}

TEST(AeadCrossBackend, SealingInPlaceMatchesOutOfPlaceOnIpsecMb) {
  if (!IpsecMbBackendAvailable(AeadBackend::kIpsecMb)) GTEST_SKIP() << "no ipsec-mb here";
  uint8_t raw[kAeadKeySize] = {9}, nonce[kAesGcmNonceSize] = {3};
  absl::StatusOr<AeadKey> key = AeadKey::New(AeadAlgorithm::kAes256Gcm, raw, AeadBackend::kIpsecMb);
  ASSERT_TRUE(key.ok());
  std::vector<uint8_t> msg(777, 7), out(msg.size() + kAeadTagSize);
  ASSERT_TRUE(key->Seal(nonce, {}, msg, absl::MakeSpan(out)).ok());
  std::vector<uint8_t> buf = out;
  ASSERT_TRUE(key->Open(nonce, {}, buf, absl::MakeSpan(buf.data(), msg.size())).ok());
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + msg.size()), msg);
}

std::vector<std::pair<size_t, bool>>* g_releases = nullptr;

void RecordRelease(const uint8_t* data, size_t size) {
  bool zero = true;
  for (size_t i = 0; i < size; ++i) zero = zero && data[i] == 0;
  if (g_releases != nullptr) g_releases->push_back({size, zero});
}

TEST(AeadCrossBackend, IpsecMbKeyScheduleLivesInAPooledSecretAndIsWiped) {
  if (!IpsecMbBackendAvailable(AeadBackend::kIpsecMb)) GTEST_SKIP() << "no ipsec-mb here";
  std::vector<std::pair<size_t, bool>> releases;
  g_releases = &releases;
  SecretBytes::SetReleaseObserverForTesting(&RecordRelease);
  {
    uint8_t raw[kAeadKeySize] = {9};
    absl::StatusOr<AeadKey> key =
        AeadKey::New(AeadAlgorithm::kAes256Gcm, raw, AeadBackend::kIpsecMb);
    ASSERT_TRUE(key.ok());
    AeadKey moved = *std::move(key);  // the schedule moves with the key, not copied
  }
  SecretBytes::SetReleaseObserverForTesting(nullptr);
  g_releases = nullptr;
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(releases[0].first, SecretBytes::kLargePooledSlotSize);
  EXPECT_TRUE(releases[0].second);
}

TEST(AeadBackendSelection, ForcedValuesResolveAndUnknownOnesAreRefused) {
  EXPECT_EQ(*ResolveAesGcmBackend("openssl"), AeadBackend::kOpenSsl);
  if (LibsodiumAesGcmAvailable()) {
    EXPECT_EQ(*ResolveAesGcmBackend("sodium"), AeadBackend::kLibsodium);
  }
  EXPECT_EQ(ResolveAesGcmBackend("ipsec").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveAesGcmBackend("OPENSSL").status().code(), absl::StatusCode::kInvalidArgument);
  for (AeadBackend b : {AeadBackend::kIpsecMbSse, AeadBackend::kIpsecMbAvx,
                        AeadBackend::kIpsecMbAvx2, AeadBackend::kIpsecMbAvx512}) {
    absl::StatusOr<AeadBackend> r = ResolveAesGcmBackend(AeadBackendName(b));
    if (IpsecMbBackendAvailable(b)) {
      EXPECT_EQ(*r, b);
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
    }
  }
  if (IpsecMbBackendAvailable(AeadBackend::kIpsecMb)) {
    // Unforced, ipsec-mb wins, with the arch init_mb_mgr_auto picked.
    absl::StatusOr<AeadBackend> r = ResolveAesGcmBackend("");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, *ResolveAesGcmBackend("ipsec-mb"));
    EXPECT_NE(*r, AeadBackend::kIpsecMb);
  }
}

TEST(AeadBackendSelection, EachForcedArchRunsItsOwnLibraryCode) {
  // The forced managers really dispatch to different code (not all to the auto pick).
  std::vector<aes_gcm_enc_dec_t> seen;
  for (IpsecMbArch a : {IpsecMbArch::kSse, IpsecMbArch::kAvx, IpsecMbArch::kAvx2,
                        IpsecMbArch::kAvx512}) {
    const IMB_MGR* m = IpsecMbManager(a);
    if (m == nullptr) continue;
    for (aes_gcm_enc_dec_t other : seen) EXPECT_NE(m->gcm256_enc, other) << IpsecMbArchName(a);
    seen.push_back(m->gcm256_enc);
  }
  if (IpsecMbManager(IpsecMbArch::kSse) != nullptr) {
    EXPECT_EQ(IpsecMbManager(IpsecMbArch::kSse)->gcm256_enc, &aes_gcm_enc_256_sse);
  }
}

}  // namespace
}  // namespace kms_envelope::internal
