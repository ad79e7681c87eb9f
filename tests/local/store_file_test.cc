#include "kms_envelope/local/store_file.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/testing/test_bytes.h"
#include "tests/local/test_util.h"

namespace kms_envelope {
namespace local {
namespace {

internal::AeadKey Key(uint8_t fill) {
  std::vector<uint8_t> raw(internal::kAeadKeySize, fill);
  auto key = internal::AeadKey::New(internal::AeadAlgorithm::kXChaCha20Poly1305, raw);
  EXPECT_TRUE(key.ok());
  return *std::move(key);
}

std::vector<uint8_t> SealedFile(const std::string& document, const KdfParams& kdf = {}) {
  auto file = SealStoreFile(Key(1), kdf, kms_envelope::testing::Bytes(document));
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *file : std::vector<uint8_t>();
}

void ExpectDataLoss(const std::vector<uint8_t>& file, const std::string& why) {
  auto view = ParseStoreFile(file);
  EXPECT_TRUE(absl::IsDataLoss(view.status())) << why << ": " << view.status();
}

TEST(StoreFile, HeaderFieldsSitAtTheDocumentedOffsets) {
  StoreHeader h;
  h.format_version = 0x0102;
  h.kdf.kind = RootKeyKind::kArgon2id;
  h.kdf.opslimit = 0x1112131415161718;
  h.kdf.memlimit = 0x2122232425262728;
  for (size_t i = 0; i < kStoreSaltSize; ++i) h.kdf.salt[i] = static_cast<uint8_t>(0x30 + i);
  for (size_t i = 0; i < kStoreNonceSize; ++i) h.nonce[i] = static_cast<uint8_t>(0x50 + i);
  h.sealed_size = 0x61626364;
  uint8_t out[kStoreHeaderSize];
  EncodeStoreHeader(h, absl::MakeSpan(out));
  std::string expected = "KMSESTOR";
  expected += std::string("\x01\x02\x02\x00", 4);
  expected += "\x11\x12\x13\x14\x15\x16\x17\x18\x21\x22\x23\x24\x25\x26\x27\x28";
  for (size_t i = 0; i < kStoreSaltSize; ++i) expected += static_cast<char>(0x30 + i);
  for (size_t i = 0; i < kStoreNonceSize; ++i) expected += static_cast<char>(0x50 + i);
  expected += "\x61\x62\x63\x64";
  ASSERT_EQ(expected.size(), kStoreHeaderSize);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out), kStoreHeaderSize), expected);
}

TEST(StoreFile, SealParseOpenRoundTripsTheDocumentAndTheKdfParameters) {
  KdfParams kdf;
  kdf.kind = RootKeyKind::kArgon2id;
  kdf.opslimit = 3;
  kdf.memlimit = 1 << 20;
  kdf.salt[0] = 9;
  const std::vector<uint8_t> file = SealedFile("{\"Keys\":[]}", kdf);
  ASSERT_EQ(file.size(), kStoreHeaderSize + 11 + kStoreTagSize);
  auto view = ParseStoreFile(file);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->header.format_version, kStoreFormatVersion);
  EXPECT_TRUE(view->header.kdf == kdf);
  EXPECT_EQ(view->header.sealed_size, 11 + kStoreTagSize);
  auto document = OpenStoreFile(Key(1), *view);
  ASSERT_TRUE(document.ok()) << document.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(document->data()), document->size()),
            "{\"Keys\":[]}");
  // A fresh nonce per seal.
  EXPECT_NE(SealedFile("{}"), SealedFile("{}"));
}

TEST(StoreFile, AWrongRootKeyOrAnyFlippedBitFailsWithDataLoss) {
  const std::vector<uint8_t> file = SealedFile("{\"Keys\":[],\"Aliases\":[]}");
  auto view = ParseStoreFile(file);
  ASSERT_TRUE(view.ok());
  absl::Status wrong = OpenStoreFile(Key(2), *view).status();
  EXPECT_TRUE(absl::IsDataLoss(wrong)) << wrong;
  EXPECT_NE(std::string(wrong.message()).find("wrong root key"), std::string::npos);
  for (size_t bit = 0; bit < file.size() * 8; ++bit) {
    std::vector<uint8_t> flipped = file;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto parsed = ParseStoreFile(flipped);
    const absl::Status s = parsed.ok() ? OpenStoreFile(Key(1), *parsed).status() : parsed.status();
    ASSERT_TRUE(absl::IsDataLoss(s)) << "bit " << bit << ": " << s;
  }
}

TEST(StoreFile, ParseRefusesEveryMalformedHeaderField) {
  const std::vector<uint8_t> good = SealedFile("{}");
  ASSERT_TRUE(ParseStoreFile(good).ok());
  auto with = [&](size_t offset, uint8_t value) {
    std::vector<uint8_t> f = good;
    f[offset] = value;
    return f;
  };
  ExpectDataLoss(with(0, 'X'), "magic");
  ExpectDataLoss(with(9, 0), "version 0");
  ExpectDataLoss(with(9, kStoreFormatVersion + 1), "a future version");
  ExpectDataLoss(with(10, 0), "kind 0");
  ExpectDataLoss(with(10, 3), "kind 3");
  ExpectDataLoss(with(11, 1), "reserved byte");
  ExpectDataLoss(with(71, good[71] + 1), "length field one more");
  ExpectDataLoss(with(71, good[71] - 1), "length field one less");
  std::vector<uint8_t> truncated(good.begin(), good.end() - 1);
  ExpectDataLoss(truncated, "truncated");
  std::vector<uint8_t> extended = good;
  extended.push_back(0);
  ExpectDataLoss(extended, "extended");
  ExpectDataLoss(std::vector<uint8_t>(good.begin(), good.begin() + kStoreHeaderSize), "no tag");
  ExpectDataLoss({}, "empty");
  // Version 1 files are still read.
  EXPECT_TRUE(ParseStoreFile(with(9, 1)).ok());
}

TEST(StoreFile, ParseRefusesOversizedFilesBeforeLookingAtThem) {
  const uint8_t byte = 0;
  // Only the size is consulted: the span's bytes beyond the first are never read.
  auto view = ParseStoreFile(absl::MakeConstSpan(&byte, kMaxStoreFileSize + 1));
  EXPECT_TRUE(absl::IsDataLoss(view.status())) << view.status();
  auto too_big = SealStoreFile(Key(1), KdfParams{},
                               absl::MakeConstSpan(&byte, kMaxStoreFileSize));
  EXPECT_TRUE(absl::IsResourceExhausted(too_big.status())) << too_big.status();
}

}  // namespace
}  // namespace local
}  // namespace kms_envelope
