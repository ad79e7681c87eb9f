// Every Wycheproof HMAC-SHA256 / HMAC-SHA1 vector. The vectors include truncated tags
// (group tagSize < the hash size): the vector's tag is compared with that prefix of our MAC.
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

struct Counts {
  int number_of_tests = 0;
  int valid_passed = 0;
  int invalid_rejected = 0;
  int truncated = 0;  // vectors whose tagSize is shorter than the full MAC (subset of the above)
  int failures = 0;
};

using MacFn = absl::Status (*)(absl::Span<const uint8_t>, absl::Span<const uint8_t>,
                               absl::Span<uint8_t>);

Counts RunMacFile(const std::string& file, MacFn mac, size_t mac_size) {
  Counts c;
  nlohmann::json doc = LoadVectors(file);
  if (doc.is_discarded()) {
    ADD_FAILURE() << "cannot read " << file;
    return c;
  }
  c.number_of_tests = doc["numberOfTests"].get<int>();
  for (const auto& group : doc["testGroups"]) {
    const size_t tag_bytes = group["tagSize"].get<size_t>() / 8;
    for (const auto& t : group["tests"]) {
      const int id = t["tcId"].get<int>();
      const std::string result = t["result"].get<std::string>();
      std::vector<uint8_t> key = Hex(t["key"]), msg = Hex(t["msg"]), tag = Hex(t["tag"]);
      std::vector<uint8_t> full(mac_size);
      absl::Status s = mac(key, msg, absl::MakeSpan(full));
      if (!s.ok()) {
        ++c.failures;
        ADD_FAILURE() << file << " tcId " << id << ": " << s;
        continue;
      }
      if (tag_bytes < mac_size) ++c.truncated;
      // A tag of the wrong length never matches (Wycheproof has such "invalid" vectors too).
      const bool match = tag.size() == tag_bytes && tag_bytes <= mac_size &&
                         std::equal(tag.begin(), tag.end(), full.begin());
      if (result == "valid" && match) {
        ++c.valid_passed;
      } else if (result == "invalid" && !match) {
        ++c.invalid_rejected;
      } else {
        ++c.failures;
        ADD_FAILURE() << file << " tcId " << id << " (" << result << ") match=" << match;
      }
    }
  }
  return c;
}

TEST(HmacWycheproof, Sha256AccountsForAll174Vectors) {
  Counts c = RunMacFile("hmac_sha256_test.json", &HmacSha256, kSha256Size);
  EXPECT_EQ(c.number_of_tests, 174);
  EXPECT_EQ(c.failures, 0);
  EXPECT_EQ(c.valid_passed, 66);
  EXPECT_EQ(c.invalid_rejected, 108);
  EXPECT_EQ(c.truncated, 87);
  EXPECT_EQ(c.valid_passed + c.invalid_rejected + c.failures, c.number_of_tests);
}

TEST(HmacWycheproof, Sha1AccountsForAll170Vectors) {
  Counts c = RunMacFile("hmac_sha1_test.json", &HmacSha1, kSha1Size);
  EXPECT_EQ(c.number_of_tests, 170);
  EXPECT_EQ(c.failures, 0);
  EXPECT_EQ(c.valid_passed, 66);
  EXPECT_EQ(c.invalid_rejected, 104);
  EXPECT_EQ(c.truncated, 83);
  EXPECT_EQ(c.valid_passed + c.invalid_rejected + c.failures, c.number_of_tests);
}

TEST(Hmac, RejectsAWrongOutputSize) {
  uint8_t out[31];
  EXPECT_EQ(HmacSha256({}, {}, absl::MakeSpan(out)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HmacSha1({}, {}, absl::MakeSpan(out)).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kms_envelope::internal
