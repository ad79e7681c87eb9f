#include "kms_envelope/internal/hkdf.h"

// SHA-256 comes from OpenSSL's low-level API: it uses the CPU's SHA extensions (SHA-NI) where
// present, about 5x faster than libsodium 1.0.18's portable SHA-256 on the machines we measured
// (docs/performance.md). The functions are deprecated in OpenSSL 3 in favour of EVP, whose
// per-call dispatch costs more than hashing the few blocks an HKDF needs.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace kms_envelope {
namespace internal {
namespace {

constexpr size_t kSha256BlockSize = 64;

// HMAC-SHA256 (RFC 2104) over OpenSSL's SHA256_CTX. The inner and outer pad states are kept, so
// one key can authenticate several messages (HKDF-Expand) without rehashing the pads.
class HmacSha256State {
 public:
  HmacSha256State(const uint8_t* key, size_t key_size) {
    uint8_t k[kSha256BlockSize] = {0};
    if (key_size > kSha256BlockSize) {
      SHA256_CTX c;
      SHA256_Init(&c);
      SHA256_Update(&c, key, key_size);
      SHA256_Final(k, &c);
      sodium_memzero(&c, sizeof(c));
    } else if (key_size > 0) {
      std::memcpy(k, key, key_size);
    }
    uint8_t pad[kSha256BlockSize];
    for (size_t i = 0; i < kSha256BlockSize; ++i) pad[i] = k[i] ^ 0x36;
    SHA256_Init(&inner_);
    SHA256_Update(&inner_, pad, sizeof(pad));
    for (size_t i = 0; i < kSha256BlockSize; ++i) pad[i] = k[i] ^ 0x5c;
    SHA256_Init(&outer_);
    SHA256_Update(&outer_, pad, sizeof(pad));
    sodium_memzero(k, sizeof(k));
    sodium_memzero(pad, sizeof(pad));
  }
  ~HmacSha256State() {
    sodium_memzero(&inner_, sizeof(inner_));
    sodium_memzero(&outer_, sizeof(outer_));
  }
  HmacSha256State(const HmacSha256State&) = delete;
  HmacSha256State& operator=(const HmacSha256State&) = delete;

  // A running MAC computation started from the keyed pads.
  class Mac {
   public:
    explicit Mac(const HmacSha256State& key) : inner_(key.inner_), outer_(key.outer_) {}
    ~Mac() {
      sodium_memzero(&inner_, sizeof(inner_));
      sodium_memzero(&outer_, sizeof(outer_));
    }
    void Update(const uint8_t* data, size_t size) {
      if (size > 0) SHA256_Update(&inner_, data, size);
    }
    void Final(uint8_t out[kSha256Size]) {
      uint8_t h[kSha256Size];
      SHA256_Final(h, &inner_);
      SHA256_Update(&outer_, h, sizeof(h));
      SHA256_Final(out, &outer_);
      sodium_memzero(h, sizeof(h));
    }

   private:
    SHA256_CTX inner_;
    SHA256_CTX outer_;
  };

 private:
  SHA256_CTX inner_;
  SHA256_CTX outer_;
};

}  // namespace

absl::Status HmacSha256(absl::Span<const uint8_t> key, absl::Span<const uint8_t> message,
                        absl::Span<uint8_t> out) {
  if (out.size() != kSha256Size) return absl::InvalidArgumentError("HMAC-SHA256 output is 32 bytes");
  HmacSha256State state(key.data(), key.size());
  HmacSha256State::Mac mac(state);
  mac.Update(message.data(), message.size());
  mac.Final(out.data());
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
  SHA256_CTX c;
  SHA256_Init(&c);
  if (!message.empty()) SHA256_Update(&c, message.data(), message.size());
  SHA256_Final(out.data(), &c);
}

absl::Status HkdfSha256Expand(absl::Span<const uint8_t> ikm, absl::Span<const uint8_t> salt,
                              absl::Span<const HkdfOutput> outputs) {
  for (const HkdfOutput& o : outputs) {
    if (o.out.empty() || o.out.size() > kHkdfSha256MaxOutput) {
      return absl::InvalidArgumentError(
          absl::StrCat("HKDF-SHA256 output must be 1..", kHkdfSha256MaxOutput, " bytes"));
    }
  }
  static const uint8_t kZeroSalt[kSha256Size] = {0};
  if (salt.empty()) salt = absl::MakeConstSpan(kZeroSalt);

  // Extract: PRK = HMAC(salt, IKM).
  uint8_t prk[kSha256Size];
  {
    HmacSha256State salt_key(salt.data(), salt.size());
    HmacSha256State::Mac mac(salt_key);
    mac.Update(ikm.data(), ikm.size());
    mac.Final(prk);
  }

  // Expand, per output: T(i) = HMAC(PRK, T(i-1) || info || i).
  HmacSha256State prk_key(prk, sizeof(prk));
  sodium_memzero(prk, sizeof(prk));
  uint8_t t[kSha256Size];
  for (const HkdfOutput& o : outputs) {
    size_t written = 0;
    for (uint8_t counter = 1; written < o.out.size(); ++counter) {
      HmacSha256State::Mac mac(prk_key);
      if (counter > 1) mac.Update(t, sizeof(t));
      mac.Update(o.info.data(), o.info.size());
      mac.Update(&counter, 1);
      mac.Final(t);
      size_t n = std::min(sizeof(t), o.out.size() - written);
      std::copy(t, t + n, o.out.begin() + written);
      written += n;
    }
  }
  sodium_memzero(t, sizeof(t));
  return absl::OkStatus();
}

namespace {

// K(counter) of the one-step KDF into out (32 bytes). `input` is u32 counter || z || fixed_info
// when the caller could lay it out in one buffer (the envelope's 89 bytes), else empty.
void OneStepBlock(uint32_t counter, absl::Span<uint8_t> input, absl::Span<const uint8_t> z,
                  absl::Span<const uint8_t> fixed_info, uint8_t out[kSha256Size]) {
  const uint8_t counter_be[4] = {static_cast<uint8_t>(counter >> 24),
                                 static_cast<uint8_t>(counter >> 16),
                                 static_cast<uint8_t>(counter >> 8), static_cast<uint8_t>(counter)};
  SHA256_CTX c;
  SHA256_Init(&c);
  if (!input.empty()) {
    std::memcpy(input.data(), counter_be, sizeof(counter_be));
    SHA256_Update(&c, input.data(), input.size());  // one call: the fewest copies into c's buffer
  } else {
    SHA256_Update(&c, counter_be, sizeof(counter_be));
    if (!z.empty()) SHA256_Update(&c, z.data(), z.size());
    if (!fixed_info.empty()) SHA256_Update(&c, fixed_info.data(), fixed_info.size());
  }
  SHA256_Final(out, &c);
  sodium_memzero(&c, sizeof(c));  // its buffer held z
}

}  // namespace

absl::Status OneStepKdfSha256(absl::Span<const uint8_t> z, absl::Span<const uint8_t> fixed_info,
                              absl::Span<uint8_t> out) {
  if (out.empty() || out.size() > kOneStepKdfSha256MaxOutput) {
    return absl::InvalidArgumentError(
        absl::StrCat("one-step KDF output must be 1..", kOneStepKdfSha256MaxOutput, " bytes"));
  }
  uint8_t buffer[2 * kSha256BlockSize];
  absl::Span<uint8_t> input;
  if (4 + z.size() + fixed_info.size() <= sizeof(buffer)) {
    input = absl::MakeSpan(buffer, 4 + z.size() + fixed_info.size());
    if (!z.empty()) std::memcpy(buffer + 4, z.data(), z.size());
    if (!fixed_info.empty()) std::memcpy(buffer + 4 + z.size(), fixed_info.data(), fixed_info.size());
  }
  uint8_t block[kSha256Size];
  size_t written = 0;
  for (uint32_t counter = 1; written < out.size(); ++counter) {
    const size_t n = std::min(sizeof(block), out.size() - written);
    uint8_t* dst = n == sizeof(block) ? out.data() + written : block;
    OneStepBlock(counter, input, z, fixed_info, dst);
    if (dst == block) std::copy(block, block + n, out.begin() + written);
    written += n;
  }
  sodium_memzero(buffer, sizeof(buffer));
  sodium_memzero(block, sizeof(block));
  return absl::OkStatus();
}

absl::Status HkdfSha256(absl::Span<const uint8_t> ikm, absl::Span<const uint8_t> salt,
                        absl::Span<const uint8_t> info, absl::Span<uint8_t> out) {
  const HkdfOutput output{info, out};
  return HkdfSha256Expand(ikm, salt, absl::MakeConstSpan(&output, 1));
}

}  // namespace internal
}  // namespace kms_envelope
