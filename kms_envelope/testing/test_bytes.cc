#include "kms_envelope/testing/test_bytes.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <sodium.h>

#include <cctype>
#include <memory>

namespace kms_envelope {
namespace testing {

std::string Base64Encode(absl::Span<const uint8_t> bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the NUL sodium writes
  return out;
}

absl::StatusOr<std::string> Base64Decode(std::string_view text, size_t max_decoded) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  if (out.size() > max_decoded + 3) return absl::InvalidArgumentError("base64 text too long");
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size() || len > max_decoded) {
    return absl::InvalidArgumentError("not base64");
  }
  out.resize(len);
  return out;
}

void FillRandom(absl::Span<uint8_t> out) { randombytes_buf(out.data(), out.size()); }

absl::Status HkdfSha256(absl::Span<const uint8_t> ikm, absl::Span<const uint8_t> salt,
                        absl::Span<const uint8_t> info, absl::Span<uint8_t> out) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), &EVP_PKEY_CTX_free);
  static const uint8_t kNoSalt[32] = {};
  if (salt.empty()) salt = absl::MakeConstSpan(kNoSalt);
  size_t len = out.size();
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt.data(), static_cast<int>(salt.size())) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), ikm.data(), static_cast<int>(ikm.size())) != 1 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), info.data(), static_cast<int>(info.size())) != 1 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    return absl::InternalError("OpenSSL HKDF failed");
  }
  return absl::OkStatus();
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace testing
}  // namespace kms_envelope
