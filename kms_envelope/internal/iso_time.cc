#include "kms_envelope/internal/iso_time.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kms_envelope {
namespace internal {
namespace {

constexpr char kIsoTimeWithFractionFormat[] = "%Y-%m-%dT%H:%M:%E*SZ";
// Longer text is refused before parsing (the longest valid one, with nanoseconds, has 30).
constexpr size_t kMaxIsoTimeSize = 40;

}  // namespace

std::string FormatIsoTime(absl::Time t) {
  return absl::FormatTime(kIsoTimeFormat, t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseIsoTime(std::string_view text, IsoFraction fraction) {
  absl::Time t;
  std::string error;
  if (text.size() <= kMaxIsoTimeSize) {
    const std::string s(text);
    if (absl::ParseTime(kIsoTimeFormat, s, &t, &error)) return t;
    if (fraction == IsoFraction::kAllowed &&
        absl::ParseTime(kIsoTimeWithFractionFormat, s, &t, &error)) {
      return t;
    }
  }
  return absl::InvalidArgumentError("time must be yyyy-MM-ddTHH:mm:ssZ (UTC)");
}

}  // namespace internal
}  // namespace kms_envelope
