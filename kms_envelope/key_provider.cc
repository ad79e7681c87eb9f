#include "kms_envelope/key_provider.h"

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {

absl::StatusOr<size_t> ResolveDataKeySize(std::string_view key_spec,
                                          std::optional<int64_t> number_of_bytes) {
  // KeySpec is validated even when NumberOfBytes wins: a typo should not pass silently.
  if (!key_spec.empty() && key_spec != "AES_256" && key_spec != "AES_128") {
    return KmsError(kms_code::kInvalidParameter,
                    absl::StrCat("KeySpec must be AES_256 or AES_128, got \"", internal::Av(key_spec), "\""));
  }
  if (number_of_bytes.has_value()) {
    if (*number_of_bytes < static_cast<int64_t>(kMinNumberOfBytes) ||
        *number_of_bytes > static_cast<int64_t>(kMaxNumberOfBytes)) {
      return KmsError(kms_code::kInvalidParameter,
                      absl::StrCat("NumberOfBytes must be ", kMinNumberOfBytes, "..",
                                   kMaxNumberOfBytes, ", got ", *number_of_bytes));
    }
    return static_cast<size_t>(*number_of_bytes);
  }
  if (key_spec == "AES_128") return size_t{16};
  return kDefaultDataKeySize;
}

}  // namespace kms_envelope
