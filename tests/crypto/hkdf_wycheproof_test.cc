// Every Wycheproof HKDF-SHA256 vector through HkdfSha256, each counted in exactly one bucket.
#include <algorithm>
#include <cstdint>
#include <string>
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

// Each valid vector's output, derived next to a second output in one HkdfSha256Expand call, in
// both orders: the shared Extract must not change either output.
TEST(HkdfWycheproof, ExpandingSeveralOutputsFromOneExtractGivesEveryVectorsBytes) {
  nlohmann::json doc = LoadVectors("hkdf_sha256_test.json");
  ASSERT_FALSE(doc.is_discarded());
  int checked = 0;
  for (const auto& group : doc["testGroups"]) {
    for (const auto& t : group["tests"]) {
      if (t["result"].get<std::string>() != "valid") continue;
      std::vector<uint8_t> ikm = Hex(t["ikm"]), salt = Hex(t["salt"]), info = Hex(t["info"]),
                           okm = Hex(t["okm"]);
      const uint8_t other_info[] = {'o', 't', 'h', 'e', 'r'};
      std::vector<uint8_t> other_alone(45), out(okm.size()), other(45);
      ASSERT_TRUE(HkdfSha256(ikm, salt, other_info, absl::MakeSpan(other_alone)).ok());
      const HkdfOutput first[] = {{info, absl::MakeSpan(out)}, {other_info, absl::MakeSpan(other)}};
      ASSERT_TRUE(HkdfSha256Expand(ikm, salt, first).ok());
      EXPECT_EQ(out, okm) << "tcId " << t["tcId"];
      EXPECT_EQ(other, other_alone) << "tcId " << t["tcId"];
      std::fill(out.begin(), out.end(), 0);
      std::fill(other.begin(), other.end(), 0);
      const HkdfOutput second[] = {{other_info, absl::MakeSpan(other)}, {info, absl::MakeSpan(out)}};
      ASSERT_TRUE(HkdfSha256Expand(ikm, salt, second).ok());
      EXPECT_EQ(out, okm) << "tcId " << t["tcId"];
      EXPECT_EQ(other, other_alone) << "tcId " << t["tcId"];
      ++checked;
    }
  }
  EXPECT_EQ(checked, 83);
}

TEST(Hkdf, ExpandWritesNothingWhenAnyOutputSizeIsInvalid) {
  const uint8_t ikm[32] = {1};
  uint8_t good[32] = {0};
  std::vector<uint8_t> over(kHkdfSha256MaxOutput + 1);
  const HkdfOutput outputs[] = {{{}, absl::MakeSpan(good)}, {{}, absl::MakeSpan(over)}};
  EXPECT_EQ(HkdfSha256Expand(ikm, {}, outputs).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::vector<uint8_t>(good, good + 32), std::vector<uint8_t>(32, 0));
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
