// UTF-8 validation for text that reaches JSON writers (nlohmann::json throws type_error.316 on
// invalid UTF-8 when dumping with the strict handler) or the KMS API, whose parameters are text.
//
//   if (!internal::IsValidUtf8(value)) return KmsError(kms_code::kInvalidParameter, "...");
//
// Contract: true for well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. NUL bytes are valid UTF-8.
// Thread safe (pure function).
#ifndef KMS_ENVELOPE_INTERNAL_UTF8_H_
#define KMS_ENVELOPE_INTERNAL_UTF8_H_

#include <string_view>

namespace kms_envelope {
namespace internal {

bool IsValidUtf8(std::string_view s);

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_UTF8_H_
