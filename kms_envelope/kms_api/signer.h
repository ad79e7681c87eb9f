// Request signatures of the Alibaba Cloud OpenAPI (RPC style), both schemes, for the client
// (RemoteKeyProvider) and the server (`kms-envelope serve`, which verifies them). Parameters
// are encoded as query_params.h says.
//
//   // V1 (HMAC-SHA1, SignatureVersion=1.0): the signature is one more query parameter.
//   std::vector<QueryParam> params = {{"Action", "Decrypt"}, {"AccessKeyId", id}, ...};
//   KMS_ASSIGN_OR_RETURN(std::string sig, SignV1("POST", params, secret));
//   params.push_back({"Signature", sig});
//
//   // V3 (ACS3-HMAC-SHA256): the signature goes into an Authorization header.
//   V3Request req{"POST", "/", params, headers, HexSha256("")};
//   KMS_ASSIGN_OR_RETURN(std::string sig, SignV3(req, secret));
//   headers["Authorization"] = V3AuthorizationHeader(id, req, sig);
//
// Contract:
// - V1: parameters sorted by encoded name (byte order), canonical query
//   `enc(k)=enc(v)&...`, StringToSign = METHOD + "&%2F&" + enc(canonical query),
//   key = AccessKeySecret + "&", signature = base64(HMAC-SHA1). The Signature parameter itself
//   must not be in `params`.
// - V3: CanonicalRequest = METHOD \n URI \n canonical query \n canonical headers \n
//   signed headers \n hex(SHA-256(body)); canonical headers are `name:trimmed value\n` for
//   `host`, `content-type` and every `x-acs-*` header, names lowercased and sorted;
//   StringToSign = "ACS3-HMAC-SHA256\n" + hex(SHA-256(CanonicalRequest));
//   signature = hex(HMAC-SHA256(secret, StringToSign)).
// - The secret is only read from SecretBytes; the HMAC key for V1 (secret + "&") is built in
//   SecretBytes too. Signatures are not secret (they travel in the request) but the server
//   compares them in constant time (SignatureEquals).
// - Thread safe (pure functions).
#ifndef KMS_ENVELOPE_KMS_API_SIGNER_H_
#define KMS_ENVELOPE_KMS_API_SIGNER_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kms_envelope/kms_api/query_params.h"
#include "kms_envelope/kms_api/wiped_string.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace kms_api {

inline constexpr std::string_view kSignatureMethodV1 = "HMAC-SHA1";
inline constexpr std::string_view kSignatureVersionV1 = "1.0";
inline constexpr std::string_view kSignatureAlgorithmV3 = "ACS3-HMAC-SHA256";

// V1 StringToSign for `method` and `params` (which must not contain "Signature").
WipedString StringToSignV1(std::string_view method, const std::vector<QueryParam>& params);
// base64(HMAC-SHA1(secret + "&", StringToSignV1(method, params))).
[[nodiscard]] absl::StatusOr<std::string> SignV1(std::string_view method,
                                                 const std::vector<QueryParam>& params,
                                                 const SecretBytes& access_key_secret);

struct V3Request {
  std::string method;                         // "POST"
  std::string canonical_uri;                  // "/"
  std::vector<QueryParam> query;              // query parameters (not yet encoded)
  std::map<std::string, std::string> headers; // any case; only signed ones are used
  std::string hashed_payload;                 // hex SHA-256 of the body (x-acs-content-sha256)
};

// Lowercase hex SHA-256 of `data` (the hashed payload of V3).
std::string HexSha256(std::string_view data);

// The signed header names ("host;x-acs-action;..."): host, content-type, x-acs-*.
std::string SignedHeadersV3(const std::map<std::string, std::string>& headers);
WipedString CanonicalRequestV3(const V3Request& request);
std::string StringToSignV3(const V3Request& request);
// hex(HMAC-SHA256(secret, StringToSignV3(request))).
[[nodiscard]] absl::StatusOr<std::string> SignV3(const V3Request& request,
                                                 const SecretBytes& access_key_secret);
// "ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<...>,Signature=<sig>".
std::string V3AuthorizationHeader(std::string_view access_key_id, const V3Request& request,
                                  std::string_view signature);

// A parsed V3 Authorization header. InvalidArgument when it is not of the form above.
struct V3Authorization {
  std::string access_key_id;
  std::vector<std::string> signed_headers;
  std::string signature;
};
[[nodiscard]] absl::StatusOr<V3Authorization> ParseV3Authorization(std::string_view header);

// Constant-time equality of two signatures (length leaks, contents do not).
bool SignatureEquals(std::string_view a, std::string_view b);

}  // namespace kms_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_API_SIGNER_H_
