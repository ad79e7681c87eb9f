#include "kms_envelope/internal/constant_time.h"

#include <openssl/crypto.h>

namespace kms_envelope {
namespace internal {

bool ConstantTimeEquals(const void* a, const void* b, size_t size) {
  if (size == 0) return true;
  return CRYPTO_memcmp(a, b, size) == 0;
}

bool ConstantTimeEquals(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  return ConstantTimeEquals(a.data(), b.data(), a.size());
}

}  // namespace internal
}  // namespace kms_envelope
