// ClientKey: the credential of an application access point of a KMS 3.0 instance — a KeyId and
// an RSA private key, delivered by Alibaba Cloud as a JSON file
//   {"KeyId": "KAAP.<uuid>", "PrivateKeyData": "<base64 PKCS#12>"}
// plus a separate password that decrypts the PKCS#12.
//
//   KMS_ASSIGN_OR_RETURN(ClientKey key, ClientKey::FromFiles("clientKey_KAAP.json",
//                                                            "clientKey_password.txt"));
//   KMS_ASSIGN_OR_RETURN(std::string auth, SignStringToSign(key.private_key(), text));
//
// Contract:
// - Unknown JSON members, a missing KeyId / PrivateKeyData, a wrong password, a PKCS#12 without
//   a private key, a non-RSA key or an RSA key under 2048 bits are refused (InvalidParameter);
//   the file and password are read with size limits and wiped after parsing.
// - Secret memory: the first ClientKey turns on OpenSSL's secure heap (CRYPTO_secure_malloc_init,
//   kSecureHeapSize, mlock'ed, wiped on free). OpenSSL 3 allocates the private RSA components
//   it decodes (d, p, q, dP, dQ, qInv) there; what OpenSSL still keeps in the ordinary heap
//   (the decrypted PKCS#8 buffer while parsing, which it cleanses; blinding and Montgomery
//   values derived per signature) is listed in docs/kms-instance.md. When mlock is not allowed
//   the secure heap cannot start and the key lives in the ordinary heap (secure_heap() = false).
//   AddressSanitizer builds never start it (kSecureHeapInThisBuild): LeakSanitizer does not scan
//   the secure arena, and OpenSSL's DRBGs keep their cipher contexts reachable only from there,
//   which LSan reports as leaks.
// - Immutable, move-only, shareable between threads for signing.
#ifndef KMS_ENVELOPE_INSTANCE_CLIENT_KEY_H_
#define KMS_ENVELOPE_INSTANCE_CLIENT_KEY_H_

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kms_envelope {
namespace instance {

inline constexpr size_t kMaxClientKeyFileSize = 64 * 1024;
inline constexpr size_t kMaxPasswordSize = 4096;
inline constexpr size_t kMaxClientKeyIdSize = 256;
inline constexpr size_t kSecureHeapSize = 64 * 1024;
inline constexpr int kMinRsaBits = 2048;
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSecureHeapInThisBuild = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSecureHeapInThisBuild = false;
#else
inline constexpr bool kSecureHeapInThisBuild = true;
#endif
#else
inline constexpr bool kSecureHeapInThisBuild = true;
#endif

struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

class ClientKey {
 public:
  ClientKey(ClientKey&&) = default;
  ClientKey& operator=(ClientKey&&) = default;

  [[nodiscard]] static absl::StatusOr<ClientKey> FromFiles(const std::string& client_key_file,
                                                           const std::string& password_file);
  [[nodiscard]] static absl::StatusOr<ClientKey> FromJson(std::string_view json,
                                                          std::string_view password);

  const std::string& key_id() const { return key_id_; }
  EVP_PKEY* private_key() const { return key_.get(); }
  // True when OpenSSL's secure heap was running when the key was decoded.
  bool secure_heap() const { return secure_heap_; }

 private:
  ClientKey(std::string key_id, EvpPkeyPtr key, bool secure)
      : key_id_(std::move(key_id)), key_(std::move(key)), secure_heap_(secure) {}
  std::string key_id_;
  EvpPkeyPtr key_;
  bool secure_heap_ = false;
};

// An RSA public key (>= kMinRsaBits) from PEM: "PUBLIC KEY" (SubjectPublicKeyInfo) or a
// "CERTIFICATE" (its key). InvalidParameter otherwise.
[[nodiscard]] absl::StatusOr<EvpPkeyPtr> PublicKeyFromPem(std::string_view pem);

// Reads a whole file of at most `max_size` bytes (InvalidParameter when missing or larger).
[[nodiscard]] absl::StatusOr<std::string> ReadBoundedFile(const std::string& path,
                                                          size_t max_size);

}  // namespace instance
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INSTANCE_CLIENT_KEY_H_
