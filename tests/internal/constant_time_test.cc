#include "kms_envelope/internal/constant_time.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace kms_envelope {
namespace internal {
namespace {

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 37 + 11);
  return v;
}

TEST(ConstantTimeEqualsTest, EqualBytesOfEverySizeUpTo64CompareEqual) {
  for (size_t n = 0; n <= 64; ++n) {
    const std::vector<uint8_t> a = Pattern(n), b = Pattern(n);
    EXPECT_TRUE(ConstantTimeEquals(a, b)) << n;
    EXPECT_TRUE(ConstantTimeEquals(a.data(), b.data(), n)) << n;
  }
}

TEST(ConstantTimeEqualsTest, EveryFlippedBitOfEveryByteCompareUnequal) {
  const std::vector<uint8_t> a = Pattern(48);
  for (size_t i = 0; i < a.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> b = a;
      b[i] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_FALSE(ConstantTimeEquals(a, b)) << i << "/" << bit;
      EXPECT_FALSE(ConstantTimeEquals(a.data(), b.data(), a.size())) << i << "/" << bit;
    }
  }
}

TEST(ConstantTimeEqualsTest, DifferentSizesCompareUnequalEvenWhenOneIsAPrefix) {
  const std::vector<uint8_t> a = Pattern(32);
  const std::vector<uint8_t> prefix(a.begin(), a.begin() + 16);
  EXPECT_FALSE(ConstantTimeEquals(a, prefix));
  EXPECT_FALSE(ConstantTimeEquals(prefix, a));
  EXPECT_FALSE(ConstantTimeEquals(absl::Span<const uint8_t>(), a));
  EXPECT_TRUE(ConstantTimeEquals(absl::Span<const uint8_t>(), absl::Span<const uint8_t>()));
}

}  // namespace
}  // namespace internal
}  // namespace kms_envelope
