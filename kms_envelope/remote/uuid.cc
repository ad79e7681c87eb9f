#include "kms_envelope/remote/uuid.h"

#include <cstdint>
#include <cstdio>

#include "absl/types/span.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope {
namespace remote {

std::string NewUuidV4(UuidCase hex_case) {
  uint8_t b[16];
  internal::FillRandom(absl::MakeSpan(b));
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  const char* format = hex_case == UuidCase::kUpper
                           ? "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X"
                           : "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x";
  char out[37];
  std::snprintf(out, sizeof(out), format, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8],
                b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

}  // namespace remote
}  // namespace kms_envelope
