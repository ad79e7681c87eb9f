// The strict base64 decoder, every character through the SIMD path: the final group (padding,
// trailing bits) against libsodium's strict decoder as the reference, at every text length
// and every position. tests/crypto/encoding_test.cc covers the encoder and the RFC vectors.
#include "kms_envelope/internal/encoding.h"

#include <sodium.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kms_envelope::internal {
namespace {

// libsodium 1.0.18's strict decoder, minus its one known laxity (bytes >= 0x80 read as '/').
bool ReferenceDecode(const std::string& text, std::string* out) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  std::vector<uint8_t> bin(text.size() / 4 * 3 + 1);
  size_t n = 0;
  const char* end = nullptr;
  if (sodium_base642bin(bin.data(), bin.size(), text.data(), text.size(), nullptr, &n, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return false;
  }
  out->assign(bin.begin(), bin.begin() + n);
  return true;
}

void ExpectAgreesWithReference(const std::string& text) {
  std::string want;
  const bool reference_ok = ReferenceDecode(text, &want);
  absl::StatusOr<std::string> plain = Base64Decode(text);
  absl::StatusOr<SecretBytes> secret = Base64DecodeSecret(Bytes(text), 1 << 20);
  ASSERT_EQ(plain.ok(), reference_ok) << "\"" << text << "\" " << plain.status();
  ASSERT_EQ(secret.ok(), reference_ok) << "\"" << text << "\" " << secret.status();
  if (!reference_ok) {
    EXPECT_EQ(plain.status().code(), absl::StatusCode::kInvalidArgument);
    return;
  }
  EXPECT_EQ(*plain, want) << text;
  EXPECT_EQ(std::string(secret->span().begin(), secret->span().end()), want) << text;
}

// Every decoded length 1..36 (text lengths 4..48: every size of the final 4..16-character
// chunk, with 0, 1 and 2 padding characters), each position replaced by every byte value.
TEST(Base64Decode, AgreesWithLibsodiumForEveryByteAtEveryPositionOfEveryLength) {
  ASSERT_GE(sodium_init(), 0);
  for (size_t n = 1; n <= 36; ++n) {
    std::vector<uint8_t> bytes(n);
    randombytes_buf(bytes.data(), n);
    const std::string good = Base64Encode(absl::MakeConstSpan(bytes));
    ExpectAgreesWithReference(good);
    for (size_t pos = 0; pos < good.size(); ++pos) {
      for (int c = 0; c < 256; ++c) {
        std::string text = good;
        text[pos] = static_cast<char>(c);
        ExpectAgreesWithReference(text);
        if (HasFailure()) return;
      }
    }
  }
}

// Non-canonical trailing bits in the last group before its padding, at every chunk size.
TEST(Base64Decode, RefusesNonZeroTrailingBitsBeforePaddingAtEveryChunkSize) {
  for (size_t n = 1; n <= 40; ++n) {
    if (n % 3 == 0) continue;  // no padding, no trailing bits
    const std::string good = Base64Encode(std::string(n, '\0'));
    const size_t last = good.size() - (n % 3 == 1 ? 3 : 2);  // the character before the '='s
    ASSERT_EQ(good[last], 'A') << good;
    std::string text = good;
    text[last] = 'B';  // value 1: a low bit that the padding says is not there
    EXPECT_FALSE(Base64Decode(text).ok()) << text;
    EXPECT_FALSE(Base64DecodeSecret(Bytes(text), 100).ok()) << text;
  }
}

// '=' anywhere but the last one or two positions, at every text length up to 64.
TEST(Base64Decode, RefusesPaddingAnywhereButTheEnd) {
  for (size_t len = 4; len <= 64; len += 4) {
    for (size_t pos = 0; pos + 2 < len; ++pos) {
      std::string text(len, 'A');
      text[pos] = '=';
      EXPECT_FALSE(Base64Decode(text).ok()) << text;
      text[len - 1] = '=';
      EXPECT_FALSE(Base64Decode(text).ok()) << text;
      text[len - 2] = '=';
      EXPECT_FALSE(Base64Decode(text).ok()) << text;
    }
    std::string three(len, 'A');
    three[len - 1] = three[len - 2] = three[len - 3] = '=';
    EXPECT_FALSE(Base64Decode(three).ok()) << three;
  }
}

// The encoder reads the last 16 input bytes in one load and writes exactly the text: inputs
// and outputs in buffers of exactly their size, so that ASan sees any access past either.
TEST(Base64Encode, MatchesLibsodiumWithExactlySizedBuffersAtEveryLength) {
  ASSERT_GE(sodium_init(), 0);
  for (size_t n = 1; n <= 64; ++n) {
    std::unique_ptr<uint8_t[]> in(new uint8_t[n]);
    randombytes_buf(in.get(), n);
    std::unique_ptr<uint8_t[]> text(new uint8_t[Base64EncodedSize(n)]);
    Base64EncodeTo(absl::MakeConstSpan(in.get(), n), absl::MakeSpan(text.get(), Base64EncodedSize(n)));
    std::vector<char> want(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL));
    sodium_bin2base64(want.data(), want.size(), in.get(), n, sodium_base64_VARIANT_ORIGINAL);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(text.get()), Base64EncodedSize(n)),
              std::string(want.data()))
        << "length " << n;
  }
}

// A 32-byte data key's text (44 characters, one '='), as the CiphertextBlob carries it.
TEST(Base64Decode, DecodesA32ByteKeyTextExactlyAndReusesTheSecretBuffer) {
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(255 - 7 * i);
  const std::string text = Base64Encode(absl::MakeConstSpan(key));
  ASSERT_EQ(text.size(), 44u);
  SecretBytes out;
  ASSERT_TRUE(Base64DecodeSecretInto(Bytes(text), 32, &out).ok());
  const uint8_t* storage = out.data();
  EXPECT_TRUE(out.ConstantTimeEquals(key));
  ASSERT_TRUE(Base64DecodeSecretInto(Bytes(text), 32, &out).ok());
  EXPECT_EQ(out.data(), storage);
  EXPECT_FALSE(Base64DecodeSecretInto(Bytes(text), 31, &out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace kms_envelope::internal
