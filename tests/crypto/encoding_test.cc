// Strict base64 / hex and the integer helpers.
#include "kms_envelope/internal/encoding.h"

#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope::internal {
namespace {

TEST(Base64, EncodesRfc4648TestVectors) {
  EXPECT_EQ(Base64Encode(std::string_view("")), "");
  EXPECT_EQ(Base64Encode(std::string_view("f")), "Zg==");
  EXPECT_EQ(Base64Encode(std::string_view("fo")), "Zm8=");
  EXPECT_EQ(Base64Encode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(Base64Encode(std::string_view("foob")), "Zm9vYg==");
  EXPECT_EQ(Base64Encode(std::string_view("fooba")), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode(std::string_view("foobar")), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string_view("\xfb\xff\xfe", 3)), "+//+");
}

TEST(Base64, RoundTripsEveryLengthAndEncodeToMatchesEncode) {
  for (size_t len = 0; len < 200; ++len) {
    std::vector<uint8_t> bytes(len);
    FillRandom(absl::MakeSpan(bytes));
    std::string text = Base64Encode(absl::MakeConstSpan(bytes));
    ASSERT_EQ(text.size(), Base64EncodedSize(len));
    std::vector<uint8_t> to(Base64EncodedSize(len));
    Base64EncodeTo(bytes, absl::MakeSpan(to));
    EXPECT_EQ(std::string(to.begin(), to.end()), text);
    absl::StatusOr<std::string> back = Base64Decode(text);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, std::string(bytes.begin(), bytes.end()));
    absl::StatusOr<SecretBytes> secret = Base64DecodeSecret(Bytes(text), len);
    ASSERT_TRUE(secret.ok()) << secret.status();
    EXPECT_TRUE(secret->ConstantTimeEquals(bytes));
  }
}

// The SSSE3 encoder (inputs under 16 bytes through a stack copy) against libsodium's encoder,
// for every length up to 300 and 200 random inputs each, plus all-zero and all-0xff inputs
// (every 6-bit index 0 and 63).
TEST(Base64, EncodeToMatchesLibsodiumForEveryLengthAndValueRange) {
  ASSERT_GE(sodium_init(), 0);
  for (size_t n = 0; n <= 300; ++n) {
    for (int round = 0; round < 202; ++round) {
      std::vector<uint8_t> in(n);
      if (round == 0) std::fill(in.begin(), in.end(), 0x00);
      else if (round == 1) std::fill(in.begin(), in.end(), 0xff);
      else if (n > 0) randombytes_buf(in.data(), n);
      std::vector<uint8_t> ours(Base64EncodedSize(n) + 1, 0xee);
      Base64EncodeTo(in, absl::MakeSpan(ours.data(), Base64EncodedSize(n)));
      std::vector<char> want(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL));
      sodium_bin2base64(want.data(), want.size(), in.data(), n, sodium_base64_VARIANT_ORIGINAL);
      ASSERT_EQ(std::string(ours.begin(), ours.end() - 1), std::string(want.data()))
          << "length " << n << " round " << round;
      ASSERT_EQ(ours.back(), 0xee) << "wrote past the end at length " << n;
    }
  }
}

// The decoder (SSSE3, the final group included) must accept exactly what libsodium accepts and
// decode it identically: every length up to 300 with random bytes, then every one-character
// substitution (all 256 byte values at every position) of texts 44 and 64 characters long.
TEST(Base64, DecodeMatchesLibsodiumForEveryLengthAndEverySubstitutedCharacter) {
  ASSERT_GE(sodium_init(), 0);
  auto sodium_decode = [](const std::string& text, std::vector<uint8_t>* out) {
    out->assign(text.size() / 4 * 3 + 3, 0);
    size_t n = 0;
    const char* end = nullptr;
    if (text.empty()) {
      out->clear();
      return true;
    }
    if (sodium_base642bin(out->data(), out->size(), text.data(), text.size(), nullptr, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size()) {
      return false;
    }
    out->resize(n);
    return true;
  };
  for (size_t n = 0; n <= 300; ++n) {
    std::vector<uint8_t> in(n);
    if (n > 0) randombytes_buf(in.data(), n);
    const std::string text = Base64Encode(in);
    auto ours = Base64Decode(text, 1000);
    ASSERT_TRUE(ours.ok()) << n << " " << ours.status();
    ASSERT_EQ(*ours, std::string(in.begin(), in.end())) << n;
    auto secret = Base64DecodeSecret(Bytes(text), 1000);
    ASSERT_TRUE(secret.ok()) << n;
    ASSERT_EQ(std::string(secret->span().begin(), secret->span().end()),
              std::string(in.begin(), in.end()));
  }
  int accepted = 0, rejected = 0;
  for (size_t n : {size_t{32}, size_t{48}}) {
    std::vector<uint8_t> in(n);
    randombytes_buf(in.data(), n);
    const std::string good = Base64Encode(in);
    for (size_t pos = 0; pos < good.size(); ++pos) {
      for (int c = 0; c < 256; ++c) {
        std::string text = good;
        text[pos] = static_cast<char>(c);
        std::vector<uint8_t> want;
        // libsodium 1.0.18 reads any byte >= 0x80 as '/'; we refuse them (see the next test).
        const bool sodium_ok = c < 0x80 && sodium_decode(text, &want);
        auto ours = Base64Decode(text, 1000);
        ASSERT_EQ(ours.ok(), sodium_ok) << "length " << n << " position " << pos << " byte " << c;
        if (sodium_ok) {
          ASSERT_EQ(*ours, std::string(want.begin(), want.end()));
          ++accepted;
        } else {
          ++rejected;
        }
      }
    }
  }
  // Each position accepts exactly the 64 alphabet characters, except padding positions and the
  // last data character (whose unused low bits must be zero).
  EXPECT_GT(accepted, 5000);
  EXPECT_GT(rejected, 20000);
}

TEST(Base64, RefusesEveryByteAboveAsciiThatLibsodiumReadsAsSlash) {
  ASSERT_GE(sodium_init(), 0);
  int sodium_accepts = 0;
  for (int c = 0x80; c < 0x100; ++c) {
    for (size_t pos = 0; pos < 8; ++pos) {
      std::string text = "AAAAAAAA";
      text[pos] = static_cast<char>(c);
      uint8_t out[6];
      size_t n = 0;
      const char* end = nullptr;
      if (sodium_base642bin(out, sizeof(out), text.data(), text.size(), nullptr, &n, &end,
                            sodium_base64_VARIANT_ORIGINAL) == 0) {
        ++sodium_accepts;
      }
      EXPECT_FALSE(Base64Decode(text, 100).ok()) << "byte " << c << " at " << pos;
      EXPECT_FALSE(Base64DecodeSecret(Bytes(text), 100).ok()) << "byte " << c << " at " << pos;
    }
  }
  // Why the pre-check exists (1.0.18 accepts all 1024 of these); reported, not asserted, so a
  // fixed libsodium does not fail the test.
  RecordProperty("libsodium_accepts", sodium_accepts);
}

TEST(Base64, DecodeSecretIntoReusesAMatchingBufferAndClearsOnError) {
  const std::string a = Base64Encode(std::string(32, 'a')), b = Base64Encode(std::string(32, 'b'));
  SecretBytes out;
  ASSERT_TRUE(Base64DecodeSecretInto(Bytes(a), 100, &out).ok());
  const uint8_t* storage = out.data();
  EXPECT_EQ(std::string(out.span().begin(), out.span().end()), std::string(32, 'a'));
  ASSERT_TRUE(Base64DecodeSecretInto(Bytes(b), 100, &out).ok());
  EXPECT_EQ(out.data(), storage);  // same size: decoded in place
  EXPECT_EQ(std::string(out.span().begin(), out.span().end()), std::string(32, 'b'));
  ASSERT_TRUE(Base64DecodeSecretInto(Bytes(Base64Encode(std::string(16, 'c'))), 100, &out).ok());
  EXPECT_EQ(out.size(), 16u);
  std::string bad = b;
  bad[5] = '*';
  EXPECT_FALSE(Base64DecodeSecretInto(Bytes(bad), 100, &out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(Base64DecodeSecretInto(Bytes(a), 31, &out).ok());  // over the bound
  EXPECT_TRUE(out.empty());
}

TEST(Base64, RejectsNonCanonicalInput) {
  const char* bad[] = {
      "Zg",        // missing padding
      "Zg=",       // partial padding
      "Zm8",       // missing padding
      "Zh==",      // non-zero trailing bits ("Zg==" is canonical)
      "Zm9=",      // non-zero trailing bits ("Zm8=" is canonical)
      "Zm9v\n",    // trailing newline
      "Zm\n9",     // embedded newline (length is a multiple of 4)
      "Zm 9",      // space
      " Zm9v",     // leading space
      "Zm9v====",  // padding without data
      "====",      //
      "Zg==Zm9v",  // data after padding
      "Z===",      // too much padding
      "Zm9-",      // URL-safe alphabet
      "Zm9_",      //
      "Zm9*",      // not in any alphabet
  };
  for (const char* text : bad) {
    EXPECT_EQ(Base64Decode(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_FALSE(Base64DecodeSecret(Bytes(text), 100).ok()) << text;
  }
  EXPECT_EQ(Base64Decode(std::string_view("Zm\0v", 4)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Base64, EnforcesMaxDecodedExactlyAtTheBound) {
  // "Zm9vYg==" decodes to 4 bytes.
  EXPECT_TRUE(Base64Decode("Zm9vYg==", 4).ok());
  EXPECT_EQ(Base64Decode("Zm9vYg==", 3).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Base64DecodeSecret(Bytes("Zm9vYg=="), 4).ok());
  EXPECT_FALSE(Base64DecodeSecret(Bytes("Zm9vYg=="), 3).ok());
  EXPECT_TRUE(Base64Decode("", 0).ok());
  EXPECT_FALSE(Base64Decode("AAAA", 0).ok());
  // The largest bound must not overflow into rejecting everything.
  EXPECT_TRUE(Base64Decode("Zm9vYmFy", ~size_t{0}).ok());
}

TEST(Base64, RejectsOversizedInputBeforeAllocating) {
  // A secret decode bounded at 32 bytes must refuse 1 MiB of text without allocating 768 KiB of
  // locked memory: a SecretBytes of that size would fail anyway above kMaxSize, so use a text
  // that decodes to more than kMaxSize and check the error is the bound, not ResourceExhausted.
  std::string huge(((SecretBytes::kMaxSize / 3) + 10) * 4, 'A');
  absl::StatusOr<SecretBytes> s = Base64DecodeSecret(Bytes(huge), 32);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.status().message()).find("more than 32"), std::string::npos)
      << s.status();
  EXPECT_NE(std::string(Base64Decode(huge, 32).status().message()).find("more than 32"),
            std::string::npos);
}

TEST(Hex, EncodesLowercaseAndDecodesBothCases) {
  const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(absl::MakeConstSpan(bytes)), "0001abff");
  absl::StatusOr<std::string> lower = HexDecode("0001abff");
  absl::StatusOr<std::string> upper = HexDecode("0001ABFF");
  ASSERT_TRUE(lower.ok() && upper.ok());
  EXPECT_EQ(*lower, std::string("\x00\x01\xab\xff", 4));
  EXPECT_EQ(*upper, *lower);
  EXPECT_TRUE(HexDecode("").ok());
}

TEST(Hex, RejectsOddLengthAndNonHexDigits) {
  for (const char* bad : {"0", "abc", "0g", "g0", " 00", "00 ", "0x00", "+1"}) {
    EXPECT_EQ(HexDecode(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Endian, StoresAndLoadsBigEndian) {
  uint8_t b[8];
  StoreBigEndian16(0x1234, b);
  EXPECT_EQ(b[0], 0x12);
  EXPECT_EQ(LoadBigEndian16(b), 0x1234);
  StoreBigEndian32(0x89abcdefu, b);
  EXPECT_EQ(b[0], 0x89);
  EXPECT_EQ(b[3], 0xef);
  EXPECT_EQ(LoadBigEndian32(b), 0x89abcdefu);
  StoreBigEndian64(0x0102030405060708ull, b);
  EXPECT_EQ(b[0], 0x01);
  EXPECT_EQ(b[7], 0x08);
  EXPECT_EQ(LoadBigEndian64(b), 0x0102030405060708ull);
}

}  // namespace
}  // namespace kms_envelope::internal
