#include "kms_envelope/internal/iso_time.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"

namespace kms_envelope {
namespace internal {
namespace {

TEST(IsoTime, FormatsUtcWithSecondPrecisionAndALiteralZ) {
  EXPECT_EQ(FormatIsoTime(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoTime(absl::FromUnixSeconds(1700000000) + absl::Milliseconds(999)),
            "2023-11-14T22:13:20Z");
}

TEST(IsoTime, ParsesWhatItFormats) {
  const absl::Time t = absl::FromUnixSeconds(1893456000);  // 2030-01-01
  absl::StatusOr<absl::Time> back = ParseIsoTime(FormatIsoTime(t));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, t);
}

TEST(IsoTime, FractionalSecondsOnlyWhenAllowed) {
  EXPECT_FALSE(ParseIsoTime("2023-11-14T22:13:20.250Z").ok());
  absl::StatusOr<absl::Time> t = ParseIsoTime("2023-11-14T22:13:20.250Z", IsoFraction::kAllowed);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, absl::FromUnixSeconds(1700000000) + absl::Milliseconds(250));
  EXPECT_TRUE(ParseIsoTime("2023-11-14T22:13:20Z", IsoFraction::kAllowed).ok());
}

TEST(IsoTime, RefusesOtherShapesWithInvalidArgument) {
  for (const char* bad : {"", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14 22:13:20Z",
                          "2023-11-14T22:13:20+08:00", "2023-13-14T22:13:20Z",
                          "2023-11-14T22:13:20Zjunk", "not a time"}) {
    absl::StatusOr<absl::Time> t = ParseIsoTime(bad, IsoFraction::kAllowed);
    EXPECT_TRUE(absl::IsInvalidArgument(t.status())) << bad;
  }
  EXPECT_FALSE(ParseIsoTime(std::string(41, '1')).ok());
  EXPECT_FALSE(ParseIsoTime("2023-11-14T22:13:20." + std::string(30, '0') + "Z",
                            IsoFraction::kAllowed)
                   .ok());
}

}  // namespace
}  // namespace internal
}  // namespace kms_envelope
