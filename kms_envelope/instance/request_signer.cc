#include "kms_envelope/instance/request_signer.h"

#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace instance {
namespace {

constexpr char kHttpDateFormat[] = "%a, %d %b %Y %H:%M:%S GMT";
constexpr size_t kMaxHttpDateSize = 64;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// DigestSign/DigestVerify context for RSASSA-PKCS1-v1_5 with SHA-256.
MdCtx NewRsaSha256Ctx(EVP_PKEY* key, bool sign) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) return nullptr;
  EVP_PKEY_CTX* pctx = nullptr;
  int ok = sign ? EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key)
                : EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key);
  if (ok != 1 || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return nullptr;
  return ctx;
}

}  // namespace

std::string UpperHexSha256(std::string_view body) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(body.data()), body.size(), digest);
  return absl::AsciiStrToUpper(internal::HexEncode(absl::MakeConstSpan(digest)));
}

std::string FormatHttpDate(absl::Time t) {
  return absl::FormatTime(kHttpDateFormat, t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseHttpDate(std::string_view text) {
  absl::Time t;
  std::string err;
  if (text.size() > kMaxHttpDateSize ||
      !absl::ParseTime(kHttpDateFormat, internal::Av(text), absl::UTCTimeZone(), &t, &err) ||
      FormatHttpDate(t) != text) {
    return KmsError(kms_code::kInvalidParameter, "Date is not an RFC 1123 GMT date");
  }
  return t;
}

InstanceHeaders MakeInstanceHeaders(std::string_view api_name, std::string_view body,
                                    std::string_view access_key_id, absl::Time now) {
  InstanceHeaders h;
  h.date = FormatHttpDate(now);
  h.content_sha256 = UpperHexSha256(body);
  h.x_kms["x-kms-apiversion"] = std::string(kInstanceApiVersion);
  h.x_kms["x-kms-apiname"] = std::string(api_name);
  h.x_kms["x-kms-signaturemethod"] = std::string(kSignatureMethod);
  h.x_kms[std::string(kAccessKeyIdHeader)] = std::string(access_key_id);
  return h;
}

std::string StringToSign(const InstanceHeaders& h) {
  std::string out = absl::StrCat("POST\n", h.content_sha256, "\n", h.content_type, "\n", h.date,
                                 "\n");
  for (const auto& [name, value] : h.x_kms) {  // std::map: ascending byte order of the names
    absl::StrAppend(&out, name, ":", absl::StripAsciiWhitespace(value), "\n");
  }
  out.append("/");
  return out;
}

absl::StatusOr<std::string> SignStringToSign(EVP_PKEY* private_key,
                                             std::string_view string_to_sign) {
  MdCtx ctx = NewRsaSha256Ctx(private_key, /*sign=*/true);
  if (ctx == nullptr) return absl::InternalError("cannot set up RSA-SHA256 signing");
  size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size,
                     reinterpret_cast<const uint8_t*>(string_to_sign.data()),
                     string_to_sign.size()) != 1) {
    return absl::InternalError("RSA signing failed");
  }
  std::vector<uint8_t> sig(size);
  if (EVP_DigestSign(ctx.get(), sig.data(), &size,
                     reinterpret_cast<const uint8_t*>(string_to_sign.data()),
                     string_to_sign.size()) != 1) {
    return absl::InternalError("RSA signing failed");
  }
  sig.resize(size);
  return absl::StrCat(internal::Av(kBearerPrefix), internal::Base64Encode(absl::MakeConstSpan(sig)));
}

bool VerifyAuthorization(EVP_PKEY* public_key, std::string_view string_to_sign,
                         std::string_view authorization) {
  if (authorization.size() > kMaxAuthorizationSize ||
      authorization.substr(0, kBearerPrefix.size()) != kBearerPrefix) {
    return false;
  }
  absl::StatusOr<std::string> sig =
      internal::Base64Decode(authorization.substr(kBearerPrefix.size()), kMaxAuthorizationSize);
  if (!sig.ok() || sig->empty()) return false;
  MdCtx ctx = NewRsaSha256Ctx(public_key, /*sign=*/false);
  if (ctx == nullptr) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const uint8_t*>(sig->data()), sig->size(),
                          reinterpret_cast<const uint8_t*>(string_to_sign.data()),
                          string_to_sign.size()) == 1;
}

}  // namespace instance
}  // namespace kms_envelope
