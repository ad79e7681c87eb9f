#include "kms_envelope/local/ciphertext_blob.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/key_provider.h"
#include "tests/local/test_util.h"

namespace kms_envelope {
namespace local {
namespace {

constexpr char kVersion[] = "0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

internal::AeadKey TestCmk() {
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);
  return *internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(key));
}

std::string Seal(const internal::AeadKey& cmk, absl::Span<const uint8_t> plaintext,
                 const EncryptionContext& ctx) {
  uint8_t iv[kBlobIvSize];
  kms_envelope::testing::FillRandom(absl::MakeSpan(iv));
  std::string blob;
  absl::Status s = SealCiphertextBlob(cmk, kVersion, plaintext, iv, ctx, &blob);
  EXPECT_TRUE(s.ok()) << s;
  return blob;
}

absl::Status OpenRaw(const internal::AeadKey& cmk, const std::string& blob,
                     const EncryptionContext& ctx, SecretBytes* out) {
  absl::StatusOr<ParsedCiphertextBlob> parsed = ParseCiphertextBlob(kms_envelope::testing::Bytes(blob));
  if (!parsed.ok()) return parsed.status();
  // The store finds the CMK version by exact id; a blob naming another version finds no key.
  if (parsed->key_version_id != kVersion) {
    return KmsError(kms_code::kInvalidCiphertext, "unknown key version");
  }
  return OpenCiphertextBlob(cmk, *parsed, ctx, out);
}

TEST(CiphertextBlob, IsLaidOutAsVersionIdIvBase64CiphertextTag) {
  internal::AeadKey cmk = TestCmk();
  uint8_t key32[32];
  kms_envelope::testing::FillRandom(absl::MakeSpan(key32));
  std::string blob = Seal(cmk, absl::MakeConstSpan(key32), EncryptionContext::Empty());
  ASSERT_EQ(blob.size(), 108u);
  EXPECT_EQ(blob.substr(0, 36), kVersion);
  // Decrypt by hand: AES-256-GCM over the base64 text, AAD = canonical context.
  std::vector<uint8_t> text(44);
  const auto* p = reinterpret_cast<const uint8_t*>(blob.data());
  ASSERT_OK(cmk.Open(absl::MakeConstSpan(p + 36, 12), EncryptionContext::Empty().Canonical(),
                     absl::MakeConstSpan(p + 48, 60), absl::MakeSpan(text)));
  EXPECT_EQ(kms_envelope::testing::Chars(text), kms_envelope::testing::Base64Encode(absl::MakeConstSpan(key32)));

  uint8_t key16[16];
  kms_envelope::testing::FillRandom(absl::MakeSpan(key16));
  EXPECT_EQ(Seal(cmk, absl::MakeConstSpan(key16), EncryptionContext::Empty()).size(), 88u);
  EXPECT_EQ(CiphertextBlobSize(32), 108u);
  EXPECT_EQ(CiphertextBlobSize(16), 88u);
}

TEST(CiphertextBlob, RoundTripsWithTheSameContextOnly) {
  internal::AeadKey cmk = TestCmk();
  auto ctx = *EncryptionContext::FromJson(R"({"tenant":"a","purpose":"b"})");
  auto same = *EncryptionContext::FromJson(R"({"purpose":"b","tenant":"a"})");
  auto other = *EncryptionContext::FromJson(R"({"tenant":"b","purpose":"b"})");
  uint8_t key[32];
  kms_envelope::testing::FillRandom(absl::MakeSpan(key));
  std::string blob = Seal(cmk, absl::MakeConstSpan(key), ctx);
  SecretBytes out;
  ASSERT_OK(OpenRaw(cmk, blob, same, &out));
  EXPECT_TRUE(out.ConstantTimeEquals(absl::MakeConstSpan(key)));
  EXPECT_KMS_CODE(OpenRaw(cmk, blob, other, &out), kms_code::kInvalidCiphertext);
  EXPECT_KMS_CODE(OpenRaw(cmk, blob, EncryptionContext::Empty(), &out),
                  kms_code::kInvalidCiphertext);
}

TEST(CiphertextBlob, EverySingleBitFlipFailsWithInvalidCiphertext) {
  internal::AeadKey cmk = TestCmk();
  uint8_t key[32];
  kms_envelope::testing::FillRandom(absl::MakeSpan(key));
  const std::string blob = Seal(cmk, absl::MakeConstSpan(key), EncryptionContext::Empty());
  for (size_t bit = 0; bit < blob.size() * 8; ++bit) {
    std::string bad = blob;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    SecretBytes out;
    absl::Status s = OpenRaw(cmk, bad, EncryptionContext::Empty(), &out);
    ASSERT_EQ(GetKmsErrorCode(s), kms_code::kInvalidCiphertext) << "bit " << bit << ": " << s;
    ASSERT_TRUE(out.empty());
  }
}

TEST(CiphertextBlob, EveryTruncationAndExtensionFailsWithInvalidCiphertext) {
  internal::AeadKey cmk = TestCmk();
  uint8_t key[32];
  kms_envelope::testing::FillRandom(absl::MakeSpan(key));
  const std::string blob = Seal(cmk, absl::MakeConstSpan(key), EncryptionContext::Empty());
  for (size_t n = 0; n < blob.size(); ++n) {
    SecretBytes out;
    EXPECT_KMS_CODE(OpenRaw(cmk, blob.substr(0, n), EncryptionContext::Empty(), &out),
                    kms_code::kInvalidCiphertext);
  }
  for (size_t extra : {1, 4, 8}) {
    SecretBytes out;
    EXPECT_KMS_CODE(OpenRaw(cmk, blob + std::string(extra, 'A'), EncryptionContext::Empty(), &out),
                    kms_code::kInvalidCiphertext);
  }
}

// A blob laid out as SealCiphertextBlob lays it out, but sealing `text` as given.
std::string BlobSealingText(const internal::AeadKey& cmk, const std::string& text) {
  std::string blob(kVersion);
  uint8_t iv[kBlobIvSize];
  kms_envelope::testing::FillRandom(absl::MakeSpan(iv));
  blob.append(reinterpret_cast<const char*>(iv), kBlobIvSize);
  std::vector<uint8_t> sealed(text.size() + kBlobTagSize);
  EXPECT_OK(cmk.Seal(iv, EncryptionContext::Empty().Canonical(),
                     kms_envelope::testing::Bytes(text), absl::MakeSpan(sealed)));
  blob.append(sealed.begin(), sealed.end());
  return blob;
}

// A blob that authenticates but whose sealed text is not the canonical base64 of a key (as a
// faulty or hostile sealer holding the CMK could make it): InvalidCiphertext, nothing released.
TEST(CiphertextBlob, AuthenticTextThatIsNotCanonicalBase64FailsWithInvalidCiphertext) {
  internal::AeadKey cmk = TestCmk();
  const std::string good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";  // bytes 0..31
  std::vector<std::string> texts = {
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",  // trailing bits set before the '='
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==",  // padding too long
      "AAECAwQFBgc=CQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",  // '=' inside
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 ",  // space
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=",  // outside the alphabet
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx-_Hh8=",  // URL-safe alphabet
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",   // not a multiple of 4
      "====",                                          // no data
  };
  texts.push_back(good);
  texts.back()[20] = static_cast<char>(0xaf);  // libsodium 1.0.18 would read it as '/'
  for (const std::string& text : texts) {
    SecretBytes out;
    EXPECT_KMS_CODE(OpenRaw(cmk, BlobSealingText(cmk, text), EncryptionContext::Empty(), &out),
                    kms_code::kInvalidCiphertext);
    EXPECT_TRUE(out.empty()) << text;
  }
  // The same construction opens when the text is canonical.
  SecretBytes out;
  ASSERT_OK(OpenRaw(cmk, BlobSealingText(cmk, good), EncryptionContext::Empty(), &out));
  ASSERT_EQ(out.size(), 32u);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(out.data()[i], i);
}

TEST(CiphertextBlob, ParseRefusesOversizedBlobsBeforeAllocating) {
  std::string huge(kMaxCiphertextBlobSize + 4, 'A');
  std::memcpy(huge.data(), kVersion, 36);
  EXPECT_KMS_CODE(ParseCiphertextBlob(kms_envelope::testing::Bytes(huge)).status(),
                  kms_code::kInvalidCiphertext);
}

TEST(CiphertextBlob, SealAcceptsOneTo6KiBAndRefusesMore) {
  internal::AeadKey cmk = TestCmk();
  std::vector<uint8_t> max(kMaxEncryptPlaintextSize, 7);
  std::string blob = Seal(cmk, max, EncryptionContext::Empty());
  EXPECT_LE(blob.size(), kMaxCiphertextBlobSize);
  SecretBytes out;
  ASSERT_OK(OpenRaw(cmk, blob, EncryptionContext::Empty(), &out));
  EXPECT_TRUE(out.ConstantTimeEquals(max));

  uint8_t iv[kBlobIvSize] = {};
  std::vector<uint8_t> too_big(kMaxEncryptPlaintextSize + 1, 7);
  std::string ignored;
  EXPECT_KMS_CODE(SealCiphertextBlob(cmk, kVersion, too_big, iv, EncryptionContext::Empty(),
                                     &ignored),
                  kms_code::kInvalidParameter);
  EXPECT_KMS_CODE(SealCiphertextBlob(cmk, kVersion, {}, iv, EncryptionContext::Empty(), &ignored),
                  kms_code::kInvalidParameter);
}

}  // namespace
}  // namespace local
}  // namespace kms_envelope
