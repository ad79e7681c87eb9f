// ISO-8601 UTC timestamps as the KMS API writes them: key metadata dates (CreationDate,
// DeleteDate, ...), request Timestamps, log times.
//
//   std::string created = FormatIsoTime(absl::Now());      // "2026-12-06T20:03:34Z"
//   KMS_ASSIGN_OR_RETURN(absl::Time due, ParseIsoTime(record.delete_date));
//   // Request Timestamps may carry fractional seconds: "2026-12-06T20:03:34.250Z".
//   auto t = ParseIsoTime(param, IsoFraction::kAllowed);
//
// Contract: always UTC with a literal `Z`, second precision on output. Parsing accepts exactly
// the format (absl::ParseTime rules: surrounding whitespace is tolerated), and fails with
// InvalidArgument otherwise; callers map that to their own error code. Thread safe.
#ifndef KMS_ENVELOPE_INTERNAL_ISO_TIME_H_
#define KMS_ENVELOPE_INTERNAL_ISO_TIME_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kms_envelope {
namespace internal {

// absl::FormatTime / absl::ParseTime format of `yyyy-MM-ddTHH:mm:ssZ`.
inline constexpr char kIsoTimeFormat[] = "%Y-%m-%dT%H:%M:%SZ";

enum class IsoFraction { kRefused, kAllowed };

std::string FormatIsoTime(absl::Time t);

[[nodiscard]] absl::StatusOr<absl::Time> ParseIsoTime(std::string_view text,
                                                      IsoFraction fraction = IsoFraction::kRefused);

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_ISO_TIME_H_
