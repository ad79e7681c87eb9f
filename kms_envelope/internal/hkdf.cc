#include "kms_envelope/internal/hkdf.h"

#include <openssl/hmac.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace kms_envelope {
namespace internal {

absl::Status HmacSha256(absl::Span<const uint8_t> key, absl::Span<const uint8_t> message,
                        absl::Span<uint8_t> out) {
  if (out.size() != kSha256Size) return absl::InvalidArgumentError("HMAC-SHA256 output is 32 bytes");
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialize");
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, message.data(), message.size());
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof(state));
  return absl::OkStatus();
}

absl::Status HmacSha1(absl::Span<const uint8_t> key, absl::Span<const uint8_t> message,
                      absl::Span<uint8_t> out) {
  if (out.size() != kSha1Size) return absl::InvalidArgumentError("HMAC-SHA1 output is 20 bytes");
  unsigned int len = 0;
  static const uint8_t kEmpty = 0;
  if (HMAC(EVP_sha1(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
           message.empty() ? &kEmpty : message.data(), message.size(), out.data(), &len) == nullptr ||
      len != kSha1Size) {
    return absl::InternalError("HMAC-SHA1 failed");
  }
  return absl::OkStatus();
}

void Sha256(absl::Span<const uint8_t> message, absl::Span<uint8_t> out) {
  if (out.size() != kSha256Size) std::abort();
  crypto_hash_sha256(out.data(), message.data(), message.size());
}

absl::Status HkdfSha256(absl::Span<const uint8_t> ikm, absl::Span<const uint8_t> salt,
                        absl::Span<const uint8_t> info, absl::Span<uint8_t> out) {
  if (out.empty() || out.size() > kHkdfSha256MaxOutput) {
    return absl::InvalidArgumentError(
        absl::StrCat("HKDF-SHA256 output must be 1..", kHkdfSha256MaxOutput, " bytes"));
  }
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialize");
  static const uint8_t kZeroSalt[kSha256Size] = {0};
  if (salt.empty()) salt = absl::MakeConstSpan(kZeroSalt);

  // Extract: PRK = HMAC(salt, IKM).
  uint8_t prk[kSha256Size];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, salt.data(), salt.size());
  crypto_auth_hmacsha256_update(&state, ikm.data(), ikm.size());
  crypto_auth_hmacsha256_final(&state, prk);

  // Expand: T(i) = HMAC(PRK, T(i-1) || info || i).
  uint8_t t[kSha256Size];
  size_t written = 0;
  for (uint8_t counter = 1; written < out.size(); ++counter) {
    crypto_auth_hmacsha256_init(&state, prk, sizeof(prk));
    if (counter > 1) crypto_auth_hmacsha256_update(&state, t, sizeof(t));
    crypto_auth_hmacsha256_update(&state, info.data(), info.size());
    crypto_auth_hmacsha256_update(&state, &counter, 1);
    crypto_auth_hmacsha256_final(&state, t);
    size_t n = std::min(sizeof(t), out.size() - written);
    std::copy(t, t + n, out.begin() + written);
    written += n;
  }
  sodium_memzero(prk, sizeof(prk));
  sodium_memzero(t, sizeof(t));
  sodium_memzero(&state, sizeof(state));
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace kms_envelope
