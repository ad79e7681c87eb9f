// Debian's Abseil 20220623 is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so absl::string_view
// is its own type and absl::StrCat/StrFormat/Cord do not accept std::string_view. Our API uses
// std::string_view; Av() bridges at the call sites into Abseil (no copy).
#ifndef KMS_ENVELOPE_INTERNAL_STRINGS_H_
#define KMS_ENVELOPE_INTERNAL_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace kms_envelope {
namespace internal {

inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view Sv(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_STRINGS_H_
