// Every Wycheproof HKDF-SHA256 vector through HkdfSha256, each counted in exactly one bucket.
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/internal/hkdf.h"
#include "nlohmann/json.hpp"
#include "tests/crypto/wycheproof_util.h"

namespace kms_envelope::internal {
namespace {

using testing_wycheproof::Hex;
using testing_wycheproof::LoadVectors;

TEST(HkdfWycheproof, AccountsForAll86VectorsAndRejectsOversizedOutputs) {
  nlohmann::json doc = LoadVectors("hkdf_sha256_test.json");
  ASSERT_FALSE(doc.is_discarded());
  const int number_of_tests = doc["numberOfTests"].get<int>();
  EXPECT_EQ(number_of_tests, 86);
  int valid_passed = 0, oversized_rejected = 0, failures = 0;
  for (const auto& group : doc["testGroups"]) {
    for (const auto& t : group["tests"]) {
      const int id = t["tcId"].get<int>();
      const size_t size = t["size"].get<size_t>();
      const std::string result = t["result"].get<std::string>();
      std::vector<uint8_t> ikm = Hex(t["ikm"]), salt = Hex(t["salt"]), info = Hex(t["info"]),
                           okm = Hex(t["okm"]);
      std::vector<uint8_t> out(size);
      absl::Status s = HkdfSha256(ikm, salt, info, absl::MakeSpan(out));
      if (result == "valid" && s.ok() && out == okm) {
        ++valid_passed;
      } else if (result == "invalid" && size > kHkdfSha256MaxOutput &&
                 s.code() == absl::StatusCode::kInvalidArgument) {
        ++oversized_rejected;
      } else {
        ++failures;
        ADD_FAILURE() << "tcId " << id << " (" << result << ", size " << size << "): " << s;
      }
    }
  }
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(valid_passed, 83);
  EXPECT_EQ(oversized_rejected, 3);
  EXPECT_EQ(valid_passed + oversized_rejected + failures, number_of_tests);
}

TEST(Hkdf, AcceptsTheLargestOutputAndRejectsOneMoreAndZero) {
  const uint8_t ikm[32] = {1};
  std::vector<uint8_t> max(kHkdfSha256MaxOutput), over(kHkdfSha256MaxOutput + 1);
  EXPECT_TRUE(HkdfSha256(ikm, {}, {}, absl::MakeSpan(max)).ok());
  EXPECT_EQ(HkdfSha256(ikm, {}, {}, absl::MakeSpan(over)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(ikm, {}, {}, absl::Span<uint8_t>()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Hkdf, EmptySaltEqualsThirtyTwoZeroBytes) {
  const uint8_t ikm[16] = {7}, zero_salt[32] = {0};
  uint8_t a[42], b[42];
  ASSERT_TRUE(HkdfSha256(ikm, {}, {}, absl::MakeSpan(a)).ok());
  ASSERT_TRUE(HkdfSha256(ikm, zero_salt, {}, absl::MakeSpan(b)).ok());
  EXPECT_EQ(std::vector<uint8_t>(a, a + 42), std::vector<uint8_t>(b, b + 42));
}

}  // namespace
}  // namespace kms_envelope::internal
