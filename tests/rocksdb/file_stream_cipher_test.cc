#include "kms_envelope/rocksdb/file_stream_cipher.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

std::array<uint8_t, kFileSaltSize> Salt() {
  std::array<uint8_t, kFileSaltSize> salt{};
  for (size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<uint8_t>(0xa0 + i);
  return salt;
}

SecretBytes Key() {
  SecretBytes key = SecretBytes::New(32).value();
  for (size_t i = 0; i < 32; ++i) key.mutable_data()[i] = static_cast<uint8_t>(i * 7 + 1);
  return key;
}

// The AES-CTR keystream from counter block `first_block`, computed independently.
std::vector<uint8_t> ReferenceAesKeystreamFromBlock(uint64_t first_block, size_t n);

// The keystream from offset 0, computed independently of FileStreamCipher.
std::vector<uint8_t> ReferenceKeystream(FileCipherId cipher, size_t n) {
  std::vector<uint8_t> out(n, 0);
  SecretBytes key = Key();
  auto salt = Salt();
  if (cipher == FileCipherId::kXChaCha20) {
    crypto_stream_xchacha20(out.data(), out.size(), salt.data() + 8, key.data());
    return out;
  }
  return ReferenceAesKeystreamFromBlock(0, n);
}

std::vector<uint8_t> ReferenceAesKeystreamFromBlock(uint64_t first_block, size_t n) {
  std::vector<uint8_t> out(n, 0);
  SecretBytes key = Key();
  auto salt = Salt();
  // AES-256 in ECB over the counter blocks salt[0..8) || u64 block index.
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), nullptr, key.data(), nullptr);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  for (size_t block = 0; block * 16 < n; ++block) {
    uint8_t counter[16], ks[16];
    std::memcpy(counter, salt.data(), 8);
    const uint64_t index = first_block + block;
    for (int i = 0; i < 8; ++i) counter[8 + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
    int outl = 0;
    EVP_EncryptUpdate(ctx, ks, &outl, counter, 16);
    for (size_t i = 0; i < 16 && block * 16 + i < n; ++i) out[block * 16 + i] = ks[i];
  }
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

class FileStreamCipherTest : public ::testing::TestWithParam<FileCipherId> {};

TEST_P(FileStreamCipherTest, MatchesAnIndependentKeystreamAtEveryOffsetAndSplit) {
  const size_t n = 1000;
  const std::vector<uint8_t> reference = ReferenceKeystream(GetParam(), n);
  auto salt = Salt();
  auto cipher = FileStreamCipher::New(GetParam(), Key(), salt).value();
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    size_t offset = rng() % n;
    size_t len = rng() % (n - offset + 1);
    std::vector<uint8_t> buf(len, 0);
    ASSERT_TRUE(cipher->Apply(offset, absl::MakeSpan(buf)).ok());
    for (size_t i = 0; i < len; ++i) ASSERT_EQ(buf[i], reference[offset + i]) << offset << "+" << i;
  }
}

TEST_P(FileStreamCipherTest, DecryptsWhatItEncryptsAndHidesThePlaintext) {
  auto cipher = FileStreamCipher::New(GetParam(), Key(), Salt()).value();
  std::string text(5000, 'A');
  std::vector<uint8_t> buf(text.begin(), text.end());
  ASSERT_TRUE(cipher->Apply(4096 + 3, absl::MakeSpan(buf)).ok());
  EXPECT_EQ(std::string(buf.begin(), buf.end()).find("AAAAAAAA"), std::string::npos);
  ASSERT_TRUE(cipher->Apply(4096 + 3, absl::MakeSpan(buf)).ok());
  EXPECT_EQ(std::string(buf.begin(), buf.end()), text);
}

TEST_P(FileStreamCipherTest, GivesTheSameResultFromManyThreads) {
  auto cipher = FileStreamCipher::New(GetParam(), Key(), Salt()).value();
  const std::vector<uint8_t> reference = ReferenceKeystream(GetParam(), 8192);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        size_t offset = static_cast<size_t>((t * 131 + i * 17) % 4096);
        std::vector<uint8_t> buf(4096, 0);
        if (!cipher->Apply(offset, absl::MakeSpan(buf)).ok()) ++mismatches;
        if (std::memcmp(buf.data(), reference.data() + offset, buf.size()) != 0) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_P(FileStreamCipherTest, RefusesOffsetsBeyondItsRange) {
  auto cipher = FileStreamCipher::New(GetParam(), Key(), Salt()).value();
  uint8_t b[4] = {};
  EXPECT_FALSE(cipher->Apply(kMaxFileStreamOffset, absl::MakeSpan(b)).ok());
  EXPECT_TRUE(cipher->Apply(kMaxFileStreamOffset - 4, absl::MakeSpan(b)).ok());
}

TEST(FileStreamCipher, AesCtrCarriesAcrossTheLow32BitsOfTheBlockIndex) {
  auto cipher = FileStreamCipher::New(FileCipherId::kAes256Ctr, Key(), Salt()).value();
  for (uint64_t first_block : {(uint64_t{1} << 32) - 3, (uint64_t{1} << 33) - 1,
                               (uint64_t{1} << 40) - 2}) {
    const std::vector<uint8_t> reference = ReferenceAesKeystreamFromBlock(first_block, 16 * 9);
    for (size_t skip : {0, 5}) {
      std::vector<uint8_t> buf(reference.size() - skip, 0);
      ASSERT_TRUE(cipher->Apply(first_block * 16 + skip, absl::MakeSpan(buf)).ok());
      for (size_t i = 0; i < buf.size(); ++i) {
        ASSERT_EQ(buf[i], reference[skip + i]) << first_block << "+" << skip << "+" << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ciphers, FileStreamCipherTest,
                         ::testing::Values(FileCipherId::kAes256Ctr, FileCipherId::kXChaCha20),
                         [](const auto& info) {
                           return info.param == FileCipherId::kAes256Ctr ? "Aes256Ctr" : "XChaCha20";
                         });

TEST(FileStreamCipher, RefusesBadKeysAndSalts) {
  EXPECT_FALSE(FileStreamCipher::New(FileCipherId::kAes256Ctr, SecretBytes::New(16).value(), Salt()).ok());
  std::array<uint8_t, 8> short_salt{};
  EXPECT_FALSE(FileStreamCipher::New(FileCipherId::kAes256Ctr, Key(), short_salt).ok());
  EXPECT_FALSE(FileStreamCipher::New(static_cast<FileCipherId>(7), Key(), Salt()).ok());
}

}  // namespace
}  // namespace rocksdb_encryption
}  // namespace kms_envelope
