#include "kms_envelope/internal/uuid.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <set>
#include <string>

namespace kms_envelope {
namespace internal {
namespace {

void ExpectVersion4Layout(const std::string& u, UuidCase hex_case) {
  ASSERT_EQ(u.size(), kUuidSize) << u;
  ASSERT_TRUE(IsUuid(u)) << u;
  for (char ch : u) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalpha(c)) {
      EXPECT_EQ(std::isupper(c) != 0, hex_case == UuidCase::kUpper) << u;
    }
  }
  EXPECT_EQ(u[14], '4') << u;
  const std::string variants = hex_case == UuidCase::kUpper ? "89AB" : "89ab";
  EXPECT_NE(variants.find(u[19]), std::string::npos) << u;
}

TEST(Uuid, FormatsBytesWithTheVersionAndVariantBitsSet) {
  uint8_t bytes[16];
  for (int i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(i * 17);
  std::string out = "a previous, longer value that must be replaced entirely";
  FormatUuidInto(bytes, &out);
  EXPECT_EQ(out, "00112233-4455-4677-8899-aabbccddeeff");
  FormatUuidInto(bytes, &out, UuidCase::kUpper);
  EXPECT_EQ(out, "00112233-4455-4677-8899-AABBCCDDEEFF");
  uint8_t ones[16];
  std::fill(std::begin(ones), std::end(ones), 0xff);
  FormatUuidInto(ones, &out);
  EXPECT_EQ(out, "ffffffff-ffff-4fff-bfff-ffffffffffff");
  uint8_t zeros[16] = {};
  FormatUuidInto(zeros, &out);
  EXPECT_EQ(out, "00000000-0000-4000-8000-000000000000");
}

TEST(Uuid, FormatsTwoIntegersAsTheirBigEndianBytes) {
  std::string out;
  FormatUuidInto(0x0011223344556677u, 0x8899aabbccddeeffu, &out);
  EXPECT_EQ(out, "00112233-4455-4677-8899-aabbccddeeff");
}

TEST(Uuid, RandomAndUniqueUuidsAreVersion4InTheRequestedCaseAndDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    for (UuidCase c : {UuidCase::kLower, UuidCase::kUpper}) {
      std::string random = RandomUuid(c);
      std::string unique;
      UniqueUuidInto(&unique, c);
      ExpectVersion4Layout(random, c);
      ExpectVersion4Layout(unique, c);
      EXPECT_TRUE(seen.insert(random).second) << random;
      EXPECT_TRUE(seen.insert(unique).second) << unique;
    }
  }
}

TEST(Uuid, IntoFormsReuseTheOutputsStorage) {
  std::string out;
  RandomUuidInto(&out);
  const char* storage = out.data();
  for (int i = 0; i < 100; ++i) {
    RandomUuidInto(&out);
    UniqueUuidInto(&out, UuidCase::kUpper);
  }
  EXPECT_EQ(out.data(), storage);
}

TEST(Uuid, IsUuidAcceptsOnlyTheCanonicalShape) {
  EXPECT_TRUE(IsUuid("0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5b"));
  EXPECT_TRUE(IsUuid("0B8A6B4F-1C2D-4E5F-8A9B-0C1D2E3F4A5B"));
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5"));     // short
  EXPECT_FALSE(IsUuid("0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5bc"));   // long
  EXPECT_FALSE(IsUuid("0b8a6b4f-1c2d-4e5f-8a9b_0c1d2e3f4a5b"));    // dash missing
  EXPECT_FALSE(IsUuid("0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5g"));    // not hex
  EXPECT_FALSE(IsUuid("0b8a6b4f11c2d-4e5f-8a9b-0c1d2e3f4a5b"));    // dash in the wrong place
  EXPECT_FALSE(IsUuid(std::string("0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5\0", 36)));
}

// Every byte value at every position, against the definition character by character.
TEST(Uuid, IsUuidChecksEveryPositionForEveryByteValue) {
  const std::string good = "0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
  for (size_t pos = 0; pos < good.size(); ++pos) {
    const bool dash_here = pos == 8 || pos == 13 || pos == 18 || pos == 23;
    for (int c = 0; c < 256; ++c) {
      std::string s = good;
      s[pos] = static_cast<char>(c);
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      EXPECT_EQ(IsUuid(s), dash_here ? c == '-' : hex) << "byte " << c << " at " << pos;
    }
  }
}

}  // namespace
}  // namespace internal
}  // namespace kms_envelope
