#include "kms_envelope/remote/uuid.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

namespace kms_envelope {
namespace remote {
namespace {

void ExpectVersion4Layout(const std::string& u, bool upper) {
  ASSERT_EQ(u.size(), 36u) << u;
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(u[i], '-') << u;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(u[i]);
    EXPECT_TRUE(std::isxdigit(c)) << u;
    if (std::isalpha(c)) {
      EXPECT_EQ(std::isupper(c) != 0, upper) << u;
    }
  }
  EXPECT_EQ(u[14], '4') << u;  // version
  EXPECT_NE(std::string(upper ? "89AB" : "89ab").find(u[19]), std::string::npos) << u;  // variant
}

TEST(NewUuidV4, HasTheVersion4LayoutInTheRequestedCase) {
  for (int i = 0; i < 200; ++i) {
    ExpectVersion4Layout(NewUuidV4(UuidCase::kLower), false);
    ExpectVersion4Layout(NewUuidV4(UuidCase::kUpper), true);
  }
}

TEST(NewUuidV4, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(NewUuidV4(UuidCase::kLower)).second);
}

}  // namespace
}  // namespace remote
}  // namespace kms_envelope
