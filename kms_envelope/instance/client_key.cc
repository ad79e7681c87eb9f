#include "kms_envelope/instance/client_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/posix_io.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/wiped_json.h"

namespace kms_envelope {
namespace instance {
namespace {

using kms_api::WipedJson;
using kms_api::WipedString;
absl::Status Invalid(std::string_view what) {
  return KmsError(kms_code::kInvalidParameter, absl::StrCat("ClientKey: ", internal::Av(what)));
}

// Starts OpenSSL's secure heap once per process; true when it runs.
bool EnsureSecureHeap() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (kSecureHeapInThisBuild && CRYPTO_secure_malloc_initialized() == 0) {
      CRYPTO_secure_malloc_init(kSecureHeapSize, 64);
    }
  });
  return CRYPTO_secure_malloc_initialized() == 1;
}

absl::Status CheckRsa(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) return Invalid("not an RSA key");
  if (EVP_PKEY_bits(key) < kMinRsaBits) return Invalid("RSA key shorter than 2048 bits");
  return absl::OkStatus();
}

// PKCS12_parse once; 1 on success.
int ParsePkcs12(absl::Span<const uint8_t> der, const std::string& password, EVP_PKEY** key) {
  const unsigned char* p = der.data();
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(der.size()));
  if (p12 == nullptr || p != der.data() + der.size()) {
    PKCS12_free(p12);
    return -1;
  }
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  int ok = PKCS12_parse(p12, password.c_str(), key, &cert, &chain);
  PKCS12_free(p12);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);
  return ok;
}

// The private key of a PKCS#12 (DER) under `password`. PKCS#12 files written for Java and Go
// readers encrypt the certificate bag with RC2-40 (the only ciphers golang.org/x/crypto/pkcs12,
// which the Go SDK uses, reads are RC2-40 and 3DES); OpenSSL 3 has RC2 only in its legacy
// provider, which is loaded (once, process-wide, next to the default one) only when the first
// parse fails.
absl::StatusOr<EvpPkeyPtr> KeyFromPkcs12(absl::Span<const uint8_t> der,
                                         const std::string& password) {
  EVP_PKEY* key = nullptr;
  int ok = ParsePkcs12(der, password, &key);
  if (ok < 0) {
    ERR_clear_error();
    return Invalid("PrivateKeyData is not a PKCS#12");
  }
  if (ok != 1) {
    static OSSL_PROVIDER* legacy = OSSL_PROVIDER_try_load(nullptr, "legacy", 1);
    if (legacy != nullptr) ok = ParsePkcs12(der, password, &key);
  }
  ERR_clear_error();
  if (ok != 1) return Invalid("wrong password or damaged PKCS#12");
  EvpPkeyPtr out(key);
  if (out == nullptr) return Invalid("the PKCS#12 holds no private key");
  KMS_RETURN_IF_ERROR(CheckRsa(out.get()));
  return out;
}

}  // namespace

absl::StatusOr<std::string> ReadBoundedFile(const std::string& path, size_t max_size) {
  const internal::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return KmsError(kms_code::kInvalidParameter,
                    internal::Sv(internal::ErrnoStatus(errno, "cannot open", path).message()));
  }
  std::string data(max_size + 1, '\0');
  uint8_t* bytes = reinterpret_cast<uint8_t*>(data.data());
  absl::StatusOr<size_t> read =
      internal::ReadFull(fd.get(), absl::MakeSpan(bytes, data.size()), path);
  if (!read.ok()) {
    kms_api::WipeString(&data);
    return KmsError(kms_code::kInvalidParameter, internal::Sv(read.status().message()));
  }
  const size_t size = *read;
  if (size > max_size) {
    kms_api::WipeString(&data);
    return KmsError(kms_code::kInvalidParameter, absl::StrCat(path, " is too large"));
  }
  data.resize(size);  // shrinking keeps the buffer; callers wipe it
  return data;
}

absl::StatusOr<ClientKey> ClientKey::FromFiles(const std::string& client_key_file,
                                               const std::string& password_file) {
  KMS_ASSIGN_OR_RETURN(std::string json, ReadBoundedFile(client_key_file, kMaxClientKeyFileSize));
  absl::StatusOr<std::string> password = ReadBoundedFile(password_file, kMaxPasswordSize);
  if (!password.ok()) {
    kms_api::WipeString(&json);
    return password.status();
  }
  std::string_view pw = *password;
  if (!pw.empty() && pw.back() == '\n') pw.remove_suffix(1);
  if (!pw.empty() && pw.back() == '\r') pw.remove_suffix(1);
  absl::StatusOr<ClientKey> key = FromJson(json, pw);
  kms_api::WipeString(&json);
  kms_api::WipeString(&*password);
  return key;
}

absl::StatusOr<ClientKey> ClientKey::FromJson(std::string_view json, std::string_view password) {
  if (json.size() > kMaxClientKeyFileSize) return Invalid("file too large");
  if (password.empty() || password.size() > kMaxPasswordSize) return Invalid("bad password size");
  WipedJson j = WipedJson::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Invalid("not a JSON object");
  for (const auto& [name, value] : j.items()) {
    if (name != "KeyId" && name != "PrivateKeyData") {
      return Invalid(absl::StrCat("unknown member ", internal::Av(std::string_view(name).substr(0, 64))));
    }
    if (!value.is_string()) return Invalid("KeyId and PrivateKeyData must be strings");
  }
  if (!j.contains("KeyId") || !j.contains("PrivateKeyData")) {
    return Invalid("needs KeyId and PrivateKeyData");
  }
  std::string_view key_id = j["KeyId"].get_ref<const WipedString&>();
  if (key_id.empty() || key_id.size() > kMaxClientKeyIdSize) return Invalid("bad KeyId");
  std::string_view b64 = j["PrivateKeyData"].get_ref<const WipedString&>();
  absl::StatusOr<SecretBytes> der = internal::Base64DecodeSecret(internal::Bytes(b64),
                                                                 kMaxClientKeyFileSize);
  if (!der.ok() || der->empty()) return Invalid("PrivateKeyData is not base64");
  const bool secure = EnsureSecureHeap();
  std::string pw(password);  // NUL-terminated for OpenSSL
  absl::StatusOr<EvpPkeyPtr> key = KeyFromPkcs12(der->span(), pw);
  kms_api::WipeString(&pw);
  if (!key.ok()) return key.status();
  return ClientKey(std::string(key_id), std::move(key).value(), secure);
}

absl::StatusOr<EvpPkeyPtr> PublicKeyFromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  EvpPkeyPtr key;
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (cert != nullptr) key.reset(X509_get_pubkey(cert));
    X509_free(cert);
  } else {
    key.reset(PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
  }
  BIO_free(bio);
  if (key == nullptr) return Invalid("public key is neither a PUBLIC KEY nor a CERTIFICATE PEM");
  KMS_RETURN_IF_ERROR(CheckRsa(key.get()));
  return key;
}

}  // namespace instance
}  // namespace kms_envelope
