#include "kms_envelope/remote/uuid.h"

#include "kms_envelope/internal/uuid.h"

namespace kms_envelope {
namespace remote {

std::string NewUuidV4(UuidCase hex_case) {
  return internal::RandomUuid(hex_case == UuidCase::kUpper ? internal::UuidCase::kUpper
                                                           : internal::UuidCase::kLower);
}

}  // namespace remote
}  // namespace kms_envelope
