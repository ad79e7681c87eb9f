#include "kms_envelope/kms_api/signer.h"


#include <algorithm>
#include <cctype>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/hkdf.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/constant_time.h"

namespace kms_envelope {
namespace kms_api {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsSignedHeader(const std::string& lower_name) {
  return lower_name == "host" || lower_name == "content-type" ||
         lower_name.compare(0, 6, "x-acs-") == 0;
}

// Lowercased signed headers in name order (std::map sorts them).
std::map<std::string, std::string> SignedHeaderMap(const std::map<std::string, std::string>& h) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : h) {
    std::string lower = Lower(name);
    if (IsSignedHeader(lower)) out[lower] = Trim(value);
  }
  return out;
}

}  // namespace

WipedString StringToSignV1(std::string_view method, const std::vector<QueryParam>& params) {
  WipedString out(method.data(), method.size());
  out += "&%2F&";
  AppendPercentEncoded(CanonicalQuery(params), &out);
  return out;
}

absl::StatusOr<std::string> SignV1(std::string_view method, const std::vector<QueryParam>& params,
                                   const SecretBytes& access_key_secret) {
  KMS_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::New(access_key_secret.size() + 1));
  if (!access_key_secret.empty()) {
    std::memcpy(key.mutable_data(), access_key_secret.data(), access_key_secret.size());
  }
  key.mutable_data()[access_key_secret.size()] = '&';
  WipedString to_sign = StringToSignV1(method, params);
  uint8_t mac[internal::kSha1Size];
  KMS_RETURN_IF_ERROR(internal::HmacSha1(key.span(), internal::AsBytes(to_sign), absl::MakeSpan(mac)));
  return internal::Base64Encode(absl::MakeConstSpan(mac));
}

std::string HexSha256(std::string_view data) {
  uint8_t digest[internal::kSha256Size];
  internal::Sha256(internal::AsBytes(data), absl::MakeSpan(digest));
  return internal::HexEncode(absl::MakeConstSpan(digest));
}

std::string SignedHeadersV3(const std::map<std::string, std::string>& headers) {
  std::string out;
  for (const auto& [name, value] : SignedHeaderMap(headers)) {
    if (!out.empty()) out.push_back(';');
    out += name;
  }
  return out;
}

WipedString CanonicalRequestV3(const V3Request& request) {
  WipedString out = ToWiped(request.method);
  out.push_back('\n');
  out += request.canonical_uri;
  out.push_back('\n');
  out += CanonicalQuery(request.query);
  out.push_back('\n');
  std::map<std::string, std::string> signed_headers = SignedHeaderMap(request.headers);
  for (const auto& [name, value] : signed_headers) {
    out += name;
    out.push_back(':');
    out += value;
    out.push_back('\n');
  }
  out.push_back('\n');
  out += SignedHeadersV3(request.headers);
  out.push_back('\n');
  out += request.hashed_payload;
  return out;
}

std::string StringToSignV3(const V3Request& request) {
  std::string out(kSignatureAlgorithmV3);
  out.push_back('\n');
  out += HexSha256(std::string_view(CanonicalRequestV3(request)));
  return out;
}

absl::StatusOr<std::string> SignV3(const V3Request& request, const SecretBytes& access_key_secret) {
  std::string to_sign = StringToSignV3(request);  // holds only a hash: not sensitive
  uint8_t mac[internal::kSha256Size];
  KMS_RETURN_IF_ERROR(internal::HmacSha256(access_key_secret.span(), internal::AsBytes(to_sign),
                                           absl::MakeSpan(mac)));
  return internal::HexEncode(absl::MakeConstSpan(mac));
}

std::string V3AuthorizationHeader(std::string_view access_key_id, const V3Request& request,
                                  std::string_view signature) {
  std::string out(kSignatureAlgorithmV3);
  out += " Credential=";
  out += access_key_id;
  out += ",SignedHeaders=";
  out += SignedHeadersV3(request.headers);
  out += ",Signature=";
  out += signature;
  return out;
}

absl::StatusOr<V3Authorization> ParseV3Authorization(std::string_view header) {
  std::string_view prefix = kSignatureAlgorithmV3;
  if (header.size() <= prefix.size() + 1 || header.substr(0, prefix.size()) != prefix ||
      header[prefix.size()] != ' ') {
    return absl::InvalidArgumentError("Authorization is not ACS3-HMAC-SHA256");
  }
  V3Authorization out;
  bool have_credential = false, have_signed = false, have_signature = false;
  std::string rest(header.substr(prefix.size() + 1));
  for (absl::string_view part : absl::StrSplit(rest, ',')) {
    part = absl::StripAsciiWhitespace(part);
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) return absl::InvalidArgumentError("malformed Authorization");
    absl::string_view name = part.substr(0, eq), value = part.substr(eq + 1);
    if (name == "Credential") {
      out.access_key_id = std::string(value);
      have_credential = true;
    } else if (name == "SignedHeaders") {
      for (absl::string_view h : absl::StrSplit(value, ';')) out.signed_headers.emplace_back(h);
      have_signed = true;
    } else if (name == "Signature") {
      out.signature = std::string(value);
      have_signature = true;
    }
  }
  if (!have_credential || !have_signed || !have_signature || out.access_key_id.empty()) {
    return absl::InvalidArgumentError("Authorization lacks Credential, SignedHeaders or Signature");
  }
  return out;
}

bool SignatureEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return internal::ConstantTimeEquals(a.data(), b.data(), a.size());
}

}  // namespace kms_api
}  // namespace kms_envelope
