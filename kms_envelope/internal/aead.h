// AEAD primitives: AES-256-GCM, XChaCha20-Poly1305 and (IETF) ChaCha20-Poly1305 with a
// precomputed key.
//
//   KMS_ASSIGN_OR_RETURN(AeadKey key, AeadKey::New(AeadAlgorithm::kAes256Gcm, key_bytes));
//   std::vector<uint8_t> out(plaintext.size() + kAeadTagSize);
//   KMS_RETURN_IF_ERROR(key.Seal(nonce, aad, plaintext, absl::MakeSpan(out)));
//
// Contract:
// - Keys are exactly 32 bytes, tags exactly 16 bytes, nonces 12 bytes (AES-256-GCM,
//   ChaCha20-Poly1305) or 24 bytes (XChaCha20-Poly1305). Any other size is rejected with InvalidArgument before any work.
// - Seal writes ciphertext || tag. Open authenticates before writing anything it returns: on
//   any failure the output buffer is zeroed and the status is InvalidArgument
//   ("authentication failed").
// - Input and output may not overlap unless they are exactly the same buffer.
// - Thread safety: Seal/Open are const and may be called concurrently on one AeadKey.
// - Backends for AES-256-GCM: intel-ipsec-mb (VAES/AVX-512, AVX2, AVX or SSE code, picked at
//   run time by init_mb_mgr_auto; the key schedule and GHASH table are computed once per key
//   into SecretBytes memory), OpenSSL's libcrypto EVP and libsodium (AES-NI and PCLMUL only).
//   All pass the Wycheproof vectors (tests/crypto/aead_wycheproof_test.cc) and open each
//   other's output (tests/crypto/aead_cross_backend_test.cc).
// - kDefault for AES-256-GCM is DefaultAesGcmBackend(): intel-ipsec-mb where the CPU has AES-NI
//   and PCLMULQDQ; otherwise OpenSSL, with messages up to kAesGcmLibsodiumMaxMessage bytes
//   through libsodium when it can run; or the backend that the environment variable
//   KMS_ENVELOPE_AEAD_BACKEND forces (openssl | sodium | ipsec-mb | ipsec-mb-sse | ipsec-mb-avx
//   | ipsec-mb-avx2 | ipsec-mb-avx512). An unknown value, or a forced backend this CPU cannot
//   run, makes New fail (InvalidArgument / FailedPrecondition): never a silent fallback.
//   (X)ChaCha20-Poly1305 always uses libsodium (the only backend that has them).
// - backend() reports the backend that runs the key (for ipsec-mb the concrete arch).
//
// Warning: never reuse a nonce under one key. AES-256-GCM allows at most kAesGcmMaxMessageSize
// bytes per message; with random nonces at most 2^32 messages per key.
#ifndef KMS_ENVELOPE_INTERNAL_AEAD_H_
#define KMS_ENVELOPE_INTERNAL_AEAD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/secret_bytes.h"

struct IMB_MGR;

namespace kms_envelope {
namespace internal {

enum class AeadAlgorithm : uint8_t {
  kAes256Gcm = 1,
  kXChaCha20Poly1305 = 2,
  // IETF ChaCha20-Poly1305 (RFC 8439, 12-byte nonce), libsodium only. Prefer XChaCha20 for
  // random nonces; this one exists for interoperability and Wycheproof coverage.
  kChaCha20Poly1305 = 3,
};

enum class AeadBackend : uint8_t {
  kDefault = 0,
  kLibsodium = 1,
  kOpenSsl = 2,
  // intel-ipsec-mb with the arch init_mb_mgr_auto picks; New resolves it to one of the next.
  kIpsecMb = 3,
  // intel-ipsec-mb with one code path forced (tests, benchmarks); FailedPrecondition when the
  // CPU lacks it.
  kIpsecMbSse = 4,
  kIpsecMbAvx = 5,
  kIpsecMbAvx2 = 6,
  kIpsecMbAvx512 = 7,
};

// The environment variable that forces the AES-256-GCM backend of kDefault keys.
inline constexpr char kAeadBackendEnvVar[] = "KMS_ENVELOPE_AEAD_BACKEND";

inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kAeadTagSize = 16;
inline constexpr size_t kAesGcmNonceSize = 12;
inline constexpr size_t kXChaCha20NonceSize = 24;
inline constexpr size_t kChaCha20NonceSize = 12;
// With AeadBackend::kDefault, AES-256-GCM messages of at most this many bytes are processed by
// libsodium (whose AES-NI code has no per-call setup and needs no per-key context), longer ones
// by OpenSSL EVP (faster in bulk). Both are the same AES-256-GCM; both pass Wycheproof.
inline constexpr size_t kAesGcmLibsodiumMaxMessage = 2048;
// NIST SP 800-38D: at most 2^39 - 256 bits of plaintext per invocation.
inline constexpr uint64_t kAesGcmMaxMessageSize = (uint64_t{1} << 36) - 32;

constexpr size_t AeadNonceSize(AeadAlgorithm algorithm) {
  return algorithm == AeadAlgorithm::kAes256Gcm          ? kAesGcmNonceSize
         : algorithm == AeadAlgorithm::kChaCha20Poly1305 ? kChaCha20NonceSize
                                                         : kXChaCha20NonceSize;
}

std::string_view AeadAlgorithmName(AeadAlgorithm algorithm);

// True when libsodium's AES-256-GCM can run on this CPU.
bool LibsodiumAesGcmAvailable();

// "openssl", "libsodium", "ipsec-mb", "ipsec-mb-avx512", ...
std::string_view AeadBackendName(AeadBackend backend);

// True when `backend` (an ipsec-mb arch, or kIpsecMb) can run on this CPU.
bool IpsecMbBackendAvailable(AeadBackend backend);

// What kDefault means for AES-256-GCM given the value of KMS_ENVELOPE_AEAD_BACKEND (`forced`,
// empty when unset): kIpsecMb* (the concrete arch), kOpenSsl, or kLibsodium; kDefault for the
// OpenSSL + libsodium-for-short-messages fallback. InvalidArgument for an unknown value,
// FailedPrecondition when the CPU cannot run the forced backend.
[[nodiscard]] absl::StatusOr<AeadBackend> ResolveAesGcmBackend(std::string_view forced);

// ResolveAesGcmBackend of this process's environment, read once.
[[nodiscard]] absl::StatusOr<AeadBackend> DefaultAesGcmBackend();

// One line for --version: "AES-256-GCM: intel-ipsec-mb 1.3.0 (avx512)", or the fallback, or
// the configuration error.
std::string AesGcmBackendDescription();

class AeadKey {
 public:
  // Copies `key` into locked memory and precomputes what the backend can (the AES key schedule).
  [[nodiscard]] static absl::StatusOr<AeadKey> New(AeadAlgorithm algorithm,
                                                   absl::Span<const uint8_t> key,
                                                   AeadBackend backend = AeadBackend::kDefault);

  AeadKey(AeadKey&&) noexcept;
  AeadKey& operator=(AeadKey&&) noexcept;
  AeadKey(const AeadKey&) = delete;
  AeadKey& operator=(const AeadKey&) = delete;
  ~AeadKey();

  AeadAlgorithm algorithm() const { return algorithm_; }
  AeadBackend backend() const { return backend_; }
  size_t nonce_size() const { return AeadNonceSize(algorithm_); }

  // out.size() must equal plaintext.size() + kAeadTagSize.
  [[nodiscard]] absl::Status Seal(absl::Span<const uint8_t> nonce, absl::Span<const uint8_t> aad,
                                  absl::Span<const uint8_t> plaintext,
                                  absl::Span<uint8_t> out) const;

  // ciphertext_and_tag.size() must be >= kAeadTagSize and out.size() must equal
  // ciphertext_and_tag.size() - kAeadTagSize. On failure `out` is zeroed.
  [[nodiscard]] absl::Status Open(absl::Span<const uint8_t> nonce, absl::Span<const uint8_t> aad,
                                  absl::Span<const uint8_t> ciphertext_and_tag,
                                  absl::Span<uint8_t> out) const;

 private:
  struct OpenSslState;
  AeadKey(AeadAlgorithm algorithm, AeadBackend backend, SecretBytes state);
  [[nodiscard]] static absl::StatusOr<AeadKey> NewIpsecMb(absl::Span<const uint8_t> key,
                                                          AeadBackend backend);
  void SealIpsecMb(absl::Span<const uint8_t> nonce, absl::Span<const uint8_t> aad,
                   absl::Span<const uint8_t> plaintext, absl::Span<uint8_t> out) const;
  [[nodiscard]] absl::Status OpenIpsecMb(absl::Span<const uint8_t> nonce,
                                         absl::Span<const uint8_t> aad,
                                         absl::Span<const uint8_t> ciphertext_and_tag,
                                         absl::Span<uint8_t> out) const;

  [[nodiscard]] absl::Status CheckSizes(absl::Span<const uint8_t> nonce, size_t in_size,
                                        size_t out_size, bool sealing) const;

  AeadAlgorithm algorithm_;
  AeadBackend backend_;
  // libsodium: the raw key ((X)ChaCha) or crypto_aead_aes256gcm_state (AES). OpenSSL: the raw key.
  // ipsec-mb: gcm_key_data (round keys and GHASH table) at the first 64-byte boundary.
  SecretBytes state_;
  // ipsec-mb: the process-wide manager of the key's arch (not owned; never freed).
  const IMB_MGR* imb_ = nullptr;
  // OpenSSL: a pool of EVP contexts with the key schedule expanded once, created on first use
  // (a default AES key that only ever sees short messages, such as a per-message payload key,
  // never allocates one). Owned; published with a compare-and-swap so concurrent first uses
  // agree on one.
  [[nodiscard]] OpenSslState* OpenSsl() const;
  mutable std::atomic<OpenSslState*> openssl_{nullptr};
  // kDefault AES-256-GCM: messages up to kAesGcmLibsodiumMaxMessage go to libsodium.
  bool small_via_libsodium_ = false;
};

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_AEAD_H_
