#include "kms_envelope/internal/aead.h"

#include <intel-ipsec-mb.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/ipsec_mb.h"
#include "kms_envelope/internal/constant_time.h"

namespace kms_envelope {
namespace internal {
namespace {

absl::Status AuthFailed(absl::Span<uint8_t> out) {
  if (!out.empty()) sodium_memzero(out.data(), out.size());
  return absl::InvalidArgumentError("authentication failed");
}

// OpenSSL's length arguments are int: bulk calls are split into chunks of this size.
constexpr size_t kOpenSslChunk = size_t{1} << 30;

static_assert(sizeof(crypto_aead_aes256gcm_state) >= 1, "libsodium AES-GCM state");

// ipsec-mb's gcm_key_data must be 64-byte aligned; the SecretBytes holding it has room to align.
constexpr size_t kGcmKeyDataAlloc = sizeof(gcm_key_data) + 63;
static_assert(kGcmKeyDataAlloc <= SecretBytes::kLargePooledSlotSize,
              "the GCM key schedule must fit a pooled secret slot");

const gcm_key_data* AlignedKeyData(const uint8_t* p) {
  return reinterpret_cast<const gcm_key_data*>((reinterpret_cast<uintptr_t>(p) + 63) &
                                               ~uintptr_t{63});
}

// ipsec-mb's parameter checks refuse null buffers even for zero lengths.
const uint8_t* NonNull(const uint8_t* p) {
  static const uint8_t kEmpty[1] = {0};
  return p != nullptr ? p : kEmpty;
}

IpsecMbArch ArchOf(AeadBackend backend) {
  switch (backend) {
    case AeadBackend::kIpsecMbSse:
      return IpsecMbArch::kSse;
    case AeadBackend::kIpsecMbAvx:
      return IpsecMbArch::kAvx;
    case AeadBackend::kIpsecMbAvx2:
      return IpsecMbArch::kAvx2;
    case AeadBackend::kIpsecMbAvx512:
      return IpsecMbArch::kAvx512;
    default:
      return IpsecMbArch::kAuto;
  }
}

AeadBackend BackendOf(IpsecMbArch arch) {
  switch (arch) {
    case IpsecMbArch::kSse:
      return AeadBackend::kIpsecMbSse;
    case IpsecMbArch::kAvx:
      return AeadBackend::kIpsecMbAvx;
    case IpsecMbArch::kAvx2:
      return AeadBackend::kIpsecMbAvx2;
    case IpsecMbArch::kAvx512:
      return AeadBackend::kIpsecMbAvx512;
    case IpsecMbArch::kAuto:
      break;
  }
  return AeadBackend::kIpsecMb;
}

bool IsIpsecMb(AeadBackend backend) {
  return backend >= AeadBackend::kIpsecMb && backend <= AeadBackend::kIpsecMbAvx512;
}

}  // namespace

std::string_view AeadBackendName(AeadBackend backend) {
  switch (backend) {
    case AeadBackend::kDefault:
      return "default";
    case AeadBackend::kLibsodium:
      return "libsodium";
    case AeadBackend::kOpenSsl:
      return "openssl";
    case AeadBackend::kIpsecMb:
      return "ipsec-mb";
    case AeadBackend::kIpsecMbSse:
      return "ipsec-mb-sse";
    case AeadBackend::kIpsecMbAvx:
      return "ipsec-mb-avx";
    case AeadBackend::kIpsecMbAvx2:
      return "ipsec-mb-avx2";
    case AeadBackend::kIpsecMbAvx512:
      return "ipsec-mb-avx512";
  }
  return "unknown";
}

bool IpsecMbBackendAvailable(AeadBackend backend) {
  return IsIpsecMb(backend) && IpsecMbManager(ArchOf(backend)) != nullptr;
}

absl::StatusOr<AeadBackend> ResolveAesGcmBackend(std::string_view forced) {
  if (forced.empty()) {
    return IpsecMbBackendAvailable(AeadBackend::kIpsecMb) ? BackendOf(IpsecMbAutoArch())
                                                          : AeadBackend::kDefault;
  }
  if (forced == "openssl") return AeadBackend::kOpenSsl;
  if (forced == "sodium" || forced == "libsodium") {
    if (!LibsodiumAesGcmAvailable()) {
      return absl::FailedPreconditionError(absl::StrCat(
          kAeadBackendEnvVar, "=", std::string(forced), ": libsodium AES-256-GCM needs AES-NI and PCLMUL"));
    }
    return AeadBackend::kLibsodium;
  }
  for (AeadBackend b : {AeadBackend::kIpsecMb, AeadBackend::kIpsecMbSse, AeadBackend::kIpsecMbAvx,
                        AeadBackend::kIpsecMbAvx2, AeadBackend::kIpsecMbAvx512}) {
    if (forced != AeadBackendName(b)) continue;
    if (!IpsecMbBackendAvailable(b)) {
      return absl::FailedPreconditionError(
          absl::StrCat(kAeadBackendEnvVar, "=", std::string(forced), ": this CPU cannot run it"));
    }
    return b == AeadBackend::kIpsecMb ? BackendOf(IpsecMbAutoArch()) : b;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      kAeadBackendEnvVar, "=", std::string(forced),
      " is not one of openssl, sodium, ipsec-mb, ipsec-mb-sse, ipsec-mb-avx, ipsec-mb-avx2, "
      "ipsec-mb-avx512"));
}

absl::StatusOr<AeadBackend> DefaultAesGcmBackend() {
  static const absl::StatusOr<AeadBackend>* resolved = [] {
    const char* env = std::getenv(kAeadBackendEnvVar);
    return new absl::StatusOr<AeadBackend>(ResolveAesGcmBackend(env != nullptr ? env : ""));
  }();
  return *resolved;
}

std::string AesGcmBackendDescription() {
  absl::StatusOr<AeadBackend> b = DefaultAesGcmBackend();
  if (!b.ok()) return absl::StrCat("AES-256-GCM: ", b.status().message());
  if (IsIpsecMb(*b)) {
    return absl::StrCat("AES-256-GCM: ", IpsecMbVersion(), " (",
                        std::string(IpsecMbArchName(ArchOf(*b))), ")");
  }
  if (*b == AeadBackend::kDefault) {
    return LibsodiumAesGcmAvailable() ? "AES-256-GCM: OpenSSL EVP (libsodium for short messages)"
                                      : "AES-256-GCM: OpenSSL EVP";
  }
  return absl::StrCat("AES-256-GCM: ", std::string(AeadBackendName(*b)), " (forced by ", kAeadBackendEnvVar,
                      ")");
}

// A small pool of EVP contexts that already hold the expanded key schedule, so an operation
// only sets the IV (no key expansion, no allocation once the pool is warm). The pool makes
// concurrent Seal/Open on one key safe.
struct AeadKey::OpenSslState {
  std::mutex mu;
  std::vector<EVP_CIPHER_CTX*> idle[2];  // [0] decrypt, [1] encrypt
  const uint8_t* key = nullptr;          // points into AeadKey::state_ (stable across moves)

  ~OpenSslState() {
    for (auto& list : idle) {
      for (EVP_CIPHER_CTX* ctx : list) EVP_CIPHER_CTX_free(ctx);  // free cleanses the schedule
    }
  }

  EVP_CIPHER_CTX* Acquire(int enc) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle[enc].empty()) {
        EVP_CIPHER_CTX* ctx = idle[enc].back();
        idle[enc].pop_back();
        return ctx;
      }
    }
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) return nullptr;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, nullptr, enc) != 1) {
      EVP_CIPHER_CTX_free(ctx);
      return nullptr;
    }
    return ctx;
  }

  void Release(EVP_CIPHER_CTX* ctx, int enc) {
    std::lock_guard<std::mutex> lock(mu);
    idle[enc].push_back(ctx);
  }
};

std::string_view AeadAlgorithmName(AeadAlgorithm algorithm) {
  switch (algorithm) {
    case AeadAlgorithm::kAes256Gcm:
      return "AES-256-GCM";
    case AeadAlgorithm::kXChaCha20Poly1305:
      return "XChaCha20-Poly1305";
    case AeadAlgorithm::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
  }
  return "unknown";
}

bool LibsodiumAesGcmAvailable() {
  static const bool available = sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() == 1;
  return available;
}

absl::StatusOr<AeadKey> AeadKey::New(AeadAlgorithm algorithm, absl::Span<const uint8_t> key,
                                     AeadBackend backend) {
  // sodium_init takes a process-wide lock on every call: once per process is enough, and a key
  // is made per message.
  static const bool sodium_ready = sodium_init() >= 0;
  if (!sodium_ready) return absl::InternalError("libsodium failed to initialize");
  if (algorithm != AeadAlgorithm::kAes256Gcm && algorithm != AeadAlgorithm::kXChaCha20Poly1305 &&
      algorithm != AeadAlgorithm::kChaCha20Poly1305) {
    return absl::InvalidArgumentError("unknown AEAD algorithm");
  }
  if (key.size() != kAeadKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("AEAD key must be ", kAeadKeySize, " bytes, got ", key.size()));
  }
  if (algorithm == AeadAlgorithm::kAes256Gcm && backend == AeadBackend::kDefault) {
    absl::StatusOr<AeadBackend> resolved = DefaultAesGcmBackend();
    if (!resolved.ok()) return resolved.status();
    backend = *resolved;
  }
  if (IsIpsecMb(backend)) {
    if (algorithm != AeadAlgorithm::kAes256Gcm) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(AeadAlgorithmName(algorithm)), " is only available from libsodium"));
    }
    return NewIpsecMb(key, backend);
  }
  // Fallback AES-256-GCM: OpenSSL for bulk data, libsodium for short messages (see aead.h).
  const bool small_via_libsodium = backend == AeadBackend::kDefault &&
                                   algorithm == AeadAlgorithm::kAes256Gcm &&
                                   LibsodiumAesGcmAvailable();
  if (backend == AeadBackend::kDefault) {
    backend = algorithm == AeadAlgorithm::kAes256Gcm ? AeadBackend::kOpenSsl : AeadBackend::kLibsodium;
  }
  if (algorithm != AeadAlgorithm::kAes256Gcm && backend != AeadBackend::kLibsodium) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(AeadAlgorithmName(algorithm)), " is only available from libsodium"));
  }
  if (algorithm == AeadAlgorithm::kAes256Gcm && backend == AeadBackend::kLibsodium) {
    if (!LibsodiumAesGcmAvailable()) {
      return absl::FailedPreconditionError("libsodium AES-256-GCM needs AES-NI and PCLMUL");
    }
    absl::StatusOr<SecretBytes> state = SecretBytes::New(sizeof(crypto_aead_aes256gcm_state));
    if (!state.ok()) return state.status();
    crypto_aead_aes256gcm_beforenm(
        reinterpret_cast<crypto_aead_aes256gcm_state*>(state->mutable_data()), key.data());
    return AeadKey(algorithm, backend, *std::move(state));
  }
  absl::StatusOr<SecretBytes> raw = SecretBytes::CopyFrom(key);
  if (!raw.ok()) return raw.status();
  AeadKey result(algorithm, backend, *std::move(raw));
  if (backend == AeadBackend::kOpenSsl) result.small_via_libsodium_ = small_via_libsodium;
  return result;
}

absl::StatusOr<AeadKey> AeadKey::NewIpsecMb(absl::Span<const uint8_t> key, AeadBackend backend) {
  const IMB_MGR* mgr = IpsecMbManager(ArchOf(backend));
  if (mgr == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(std::string(AeadBackendName(backend)), " cannot run on this CPU"));
  }
  absl::StatusOr<SecretBytes> state = SecretBytes::New(kGcmKeyDataAlloc);
  if (!state.ok()) return state.status();
  auto* key_data = const_cast<gcm_key_data*>(AlignedKeyData(state->data()));
  IMB_AES256_GCM_PRE(mgr, key.data(), key_data);  // round keys + GHASH powers, in locked memory
  if (backend == AeadBackend::kIpsecMb) backend = BackendOf(IpsecMbAutoArch());
  AeadKey result(AeadAlgorithm::kAes256Gcm, backend, *std::move(state));
  result.imb_ = mgr;
  return result;
}

void AeadKey::SealIpsecMb(absl::Span<const uint8_t> nonce, absl::Span<const uint8_t> aad,
                          absl::Span<const uint8_t> plaintext, absl::Span<uint8_t> out) const {
  struct gcm_context_data ctx;
  IMB_AES256_GCM_ENC(imb_, AlignedKeyData(state_.data()), &ctx, out.data(),
                     NonNull(plaintext.data()), plaintext.size(), nonce.data(),
                     NonNull(aad.data()), aad.size(), out.data() + plaintext.size(),
                     kAeadTagSize);
  sodium_memzero(&ctx, sizeof(ctx));  // holds GHASH state and the last keystream block
}

absl::Status AeadKey::OpenIpsecMb(absl::Span<const uint8_t> nonce, absl::Span<const uint8_t> aad,
                                  absl::Span<const uint8_t> ciphertext_and_tag,
                                  absl::Span<uint8_t> out) const {
  const size_t ct_size = ciphertext_and_tag.size() - kAeadTagSize;
  struct gcm_context_data ctx;
  uint8_t computed[kAeadTagSize] = {0};
  uint8_t none[1];
  IMB_AES256_GCM_DEC(imb_, AlignedKeyData(state_.data()), &ctx, ct_size ? out.data() : none,
                     NonNull(ciphertext_and_tag.data()), ct_size, nonce.data(),
                     NonNull(aad.data()), aad.size(), computed, kAeadTagSize);
  sodium_memzero(&ctx, sizeof(ctx));
  const bool ok = ConstantTimeEquals(computed, ciphertext_and_tag.data() + ct_size, kAeadTagSize);
  sodium_memzero(computed, sizeof(computed));
  if (!ok) return AuthFailed(out);
  return absl::OkStatus();
}

AeadKey::AeadKey(AeadAlgorithm algorithm, AeadBackend backend, SecretBytes state)
    : algorithm_(algorithm), backend_(backend), state_(std::move(state)) {}

AeadKey::AeadKey(AeadKey&& other) noexcept
    : algorithm_(other.algorithm_),
      backend_(other.backend_),
      state_(std::move(other.state_)),
      imb_(other.imb_),
      openssl_(other.openssl_.exchange(nullptr, std::memory_order_acq_rel)),
      small_via_libsodium_(other.small_via_libsodium_) {}

AeadKey& AeadKey::operator=(AeadKey&& other) noexcept {
  if (this != &other) {
    delete openssl_.exchange(other.openssl_.exchange(nullptr, std::memory_order_acq_rel),
                             std::memory_order_acq_rel);
    algorithm_ = other.algorithm_;
    backend_ = other.backend_;
    state_ = std::move(other.state_);  // the EVP contexts point into it: stable across moves
    imb_ = other.imb_;
    small_via_libsodium_ = other.small_via_libsodium_;
  }
  return *this;
}

AeadKey::~AeadKey() { delete openssl_.load(std::memory_order_acquire); }

AeadKey::OpenSslState* AeadKey::OpenSsl() const {
  OpenSslState* current = openssl_.load(std::memory_order_acquire);
  if (current != nullptr) return current;
  auto* fresh = new OpenSslState();
  fresh->key = state_.data();
  if (openssl_.compare_exchange_strong(current, fresh, std::memory_order_acq_rel)) return fresh;
  delete fresh;  // another thread published one first
  return current;
}

absl::Status AeadKey::CheckSizes(absl::Span<const uint8_t> nonce, size_t in_size,
                                 size_t out_size, bool sealing) const {
  if (nonce.size() != nonce_size()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(AeadAlgorithmName(algorithm_)), " nonce must be ",
                                                   nonce_size(), " bytes, got ", nonce.size()));
  }
  // libsodium aborts the process (sodium_misuse) on IETF ChaCha20-Poly1305 messages above its
  // limit (the 32-bit block counter), so refuse them here, in both directions.
  const size_t message_size = sealing ? in_size : in_size - std::min(in_size, kAeadTagSize);
  if (algorithm_ == AeadAlgorithm::kChaCha20Poly1305 &&
      message_size > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX) {
    return absl::InvalidArgumentError("message exceeds the ChaCha20-Poly1305 limit");
  }
  if (sealing) {
    if (algorithm_ == AeadAlgorithm::kAes256Gcm && in_size > kAesGcmMaxMessageSize) {
      return absl::InvalidArgumentError("message exceeds the AES-GCM limit of 2^36-32 bytes");
    }
    if (out_size != in_size + kAeadTagSize) {
      return absl::InvalidArgumentError("output buffer must be plaintext size + 16");
    }
  } else {
    if (in_size < kAeadTagSize) return absl::InvalidArgumentError("ciphertext shorter than the tag");
    if (out_size != in_size - kAeadTagSize) {
      return absl::InvalidArgumentError("output buffer must be ciphertext size - 16");
    }
  }
  return absl::OkStatus();
}

absl::Status AeadKey::Seal(absl::Span<const uint8_t> nonce, absl::Span<const uint8_t> aad,
                           absl::Span<const uint8_t> plaintext, absl::Span<uint8_t> out) const {
  absl::Status sizes = CheckSizes(nonce, plaintext.size(), out.size(), /*sealing=*/true);
  if (!sizes.ok()) return sizes;
  if (imb_ != nullptr) {
    SealIpsecMb(nonce, aad, plaintext, out);
    return absl::OkStatus();
  }
  uint8_t* tag = out.data() + plaintext.size();
  if (backend_ == AeadBackend::kLibsodium) {
    unsigned long long tag_len = 0;
    int rc;
    if (algorithm_ == AeadAlgorithm::kAes256Gcm) {
      rc = crypto_aead_aes256gcm_encrypt_detached_afternm(
          out.data(), tag, &tag_len, plaintext.data(), plaintext.size(), aad.data(), aad.size(),
          nullptr, nonce.data(),
          reinterpret_cast<const crypto_aead_aes256gcm_state*>(state_.data()));
    } else if (algorithm_ == AeadAlgorithm::kChaCha20Poly1305) {
      rc = crypto_aead_chacha20poly1305_ietf_encrypt_detached(
          out.data(), tag, &tag_len, plaintext.data(), plaintext.size(), aad.data(), aad.size(),
          nullptr, nonce.data(), state_.data());
    } else {
      rc = crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
          out.data(), tag, &tag_len, plaintext.data(), plaintext.size(), aad.data(), aad.size(),
          nullptr, nonce.data(), state_.data());
    }
    if (rc != 0) return absl::InternalError("AEAD encryption failed");
    return absl::OkStatus();
  }
  if (small_via_libsodium_ && plaintext.size() <= kAesGcmLibsodiumMaxMessage) {
    // One call with the raw key: libsodium expands the key schedule on the stack (~20 ns) and
    // wipes it; no EVP context is created for keys that only ever see short messages.
    unsigned long long tag_len = 0;
    if (crypto_aead_aes256gcm_encrypt_detached(out.data(), tag, &tag_len, plaintext.data(),
                                               plaintext.size(), aad.data(), aad.size(), nullptr,
                                               nonce.data(), state_.data()) != 0) {
      sodium_memzero(out.data(), out.size());
      return absl::InternalError("AES-256-GCM encryption failed");
    }
    return absl::OkStatus();
  }
  OpenSslState* openssl = OpenSsl();
  EVP_CIPHER_CTX* ctx = openssl->Acquire(1);
  if (ctx == nullptr) return absl::InternalError("EVP context unavailable");
  bool ok = EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), 1) == 1;
  int len = 0;
  for (size_t off = 0; ok && off < aad.size(); off += kOpenSslChunk) {
    int n = static_cast<int>(std::min(kOpenSslChunk, aad.size() - off));
    ok = EVP_EncryptUpdate(ctx, nullptr, &len, aad.data() + off, n) == 1;
  }
  for (size_t off = 0; ok && off < plaintext.size(); off += kOpenSslChunk) {
    int n = static_cast<int>(std::min(kOpenSslChunk, plaintext.size() - off));
    ok = EVP_EncryptUpdate(ctx, out.data() + off, &len, plaintext.data() + off, n) == 1;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx, out.data() + plaintext.size(), &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kAeadTagSize, tag) == 1;
  openssl->Release(ctx, 1);
  if (!ok) {
    sodium_memzero(out.data(), out.size());
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return absl::OkStatus();
}

absl::Status AeadKey::Open(absl::Span<const uint8_t> nonce, absl::Span<const uint8_t> aad,
                           absl::Span<const uint8_t> ciphertext_and_tag,
                           absl::Span<uint8_t> out) const {
  absl::Status sizes = CheckSizes(nonce, ciphertext_and_tag.size(), out.size(), /*sealing=*/false);
  if (!sizes.ok()) {
    if (!out.empty()) sodium_memzero(out.data(), out.size());
    return sizes;
  }
  if (imb_ != nullptr) return OpenIpsecMb(nonce, aad, ciphertext_and_tag, out);
  const size_t ct_size = ciphertext_and_tag.size() - kAeadTagSize;
  const uint8_t* tag = ciphertext_and_tag.data() + ct_size;
  if (backend_ == AeadBackend::kLibsodium) {
    int rc;
    if (algorithm_ == AeadAlgorithm::kAes256Gcm) {
      rc = crypto_aead_aes256gcm_decrypt_detached_afternm(
          out.data(), nullptr, ciphertext_and_tag.data(), ct_size, tag, aad.data(), aad.size(),
          nonce.data(), reinterpret_cast<const crypto_aead_aes256gcm_state*>(state_.data()));
    } else if (algorithm_ == AeadAlgorithm::kChaCha20Poly1305) {
      rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          out.data(), nullptr, ciphertext_and_tag.data(), ct_size, tag, aad.data(), aad.size(),
          nonce.data(), state_.data());
    } else {
      rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
          out.data(), nullptr, ciphertext_and_tag.data(), ct_size, tag, aad.data(), aad.size(),
          nonce.data(), state_.data());
    }
    if (rc != 0) return AuthFailed(out);
    return absl::OkStatus();
  }
  if (small_via_libsodium_ && ct_size <= kAesGcmLibsodiumMaxMessage) {
    if (crypto_aead_aes256gcm_decrypt_detached(out.data(), nullptr, ciphertext_and_tag.data(),
                                               ct_size, tag, aad.data(), aad.size(), nonce.data(),
                                               state_.data()) != 0) {
      return AuthFailed(out);
    }
    return absl::OkStatus();
  }
  OpenSslState* openssl = OpenSsl();
  EVP_CIPHER_CTX* ctx = openssl->Acquire(0);
  if (ctx == nullptr) return absl::InternalError("EVP context unavailable");
  bool ok = EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), 0) == 1;
  int len = 0;
  for (size_t off = 0; ok && off < aad.size(); off += kOpenSslChunk) {
    int n = static_cast<int>(std::min(kOpenSslChunk, aad.size() - off));
    ok = EVP_DecryptUpdate(ctx, nullptr, &len, aad.data() + off, n) == 1;
  }
  for (size_t off = 0; ok && off < ct_size; off += kOpenSslChunk) {
    int n = static_cast<int>(std::min(kOpenSslChunk, ct_size - off));
    ok = EVP_DecryptUpdate(ctx, out.data() + off, &len, ciphertext_and_tag.data() + off, n) == 1;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kAeadTagSize,
                                 const_cast<uint8_t*>(tag)) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx, out.data() + ct_size, &len) == 1;
  openssl->Release(ctx, 0);
  if (!ok) return AuthFailed(out);
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace kms_envelope
