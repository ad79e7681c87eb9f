#include "kms_envelope/server/authenticator.h"

#include <string>
#include <vector>

#include "kms_envelope/internal/iso_time.h"
#include "kms_envelope/kms_api/signer.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/server/request_params.h"
#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace server {
namespace {

using kms_api::QueryParam;

constexpr std::string_view kApiVersion = "2016-01-20";
constexpr std::string_view kSecurityTokenMismatch = "InvalidSecurityToken.MismatchWithAccessKey";

absl::StatusOr<absl::Time> ParseTimestamp(std::string_view s) {
  absl::StatusOr<absl::Time> t = internal::ParseIsoTime(s, internal::IsoFraction::kAllowed);
  if (!t.ok()) {
    return KmsError(kms_code::kInvalidTimeStampFormat,
                    "the Timestamp must be yyyy-MM-ddTHH:mm:ssZ in UTC");
  }
  return t;
}

}  // namespace

absl::Status Authenticator::FindFreshKey(std::string_view timestamp, Caller* caller) const {
  caller->key = policy_.Find(caller->access_key_id);
  if (caller->key == nullptr) {
    return KmsError(kms_code::kInvalidAccessKeyIdNotFound, "the AccessKeyId is not known");
  }
  KMS_ASSIGN_OR_RETURN(caller->timestamp, ParseTimestamp(timestamp));
  if (absl::AbsDuration(now_() - caller->timestamp) > max_clock_skew_) {
    return KmsError(kms_code::kInvalidTimeStampExpired,
                    "the request time is more than 15 minutes off the server time");
  }
  return absl::OkStatus();
}

absl::Status Authenticator::AuthenticateV3(const Incoming& in, Exchange* x) const {
  Caller& caller = x->caller;
  absl::StatusOr<kms_api::V3Authorization> auth =
      kms_api::ParseV3Authorization(in.Header("authorization"));
  if (!auth.ok()) return KmsError(kms_code::kIncompleteSignature, std::string(auth.status().message()));
  caller.access_key_id = auth->access_key_id;
  x->log.access_key_id = caller.access_key_id.substr(0, 128);
  caller.nonce = std::string(in.Header("x-acs-signature-nonce"));
  std::string_view timestamp = in.Header("x-acs-date");
  bool signs_host = false;
  for (const std::string& h : auth->signed_headers) signs_host |= (h == "host");
  if (caller.nonce.empty() || timestamp.empty() || in.Header("x-acs-version").empty() ||
      !signs_host) {
    return KmsError(kms_code::kIncompleteSignature,
                    "V3 requests need x-acs-date, x-acs-signature-nonce, x-acs-version and a "
                    "signed host header");
  }
  if (in.Header("x-acs-version") != kApiVersion) {
    return KmsError(kms_code::kInvalidParameter, "unsupported Version (use 2016-01-20)");
  }
  KMS_RETURN_IF_ERROR(FindFreshKey(timestamp, &caller));
  kms_api::V3Request req;
  req.method = in.method;
  req.canonical_uri = in.target.substr(0, in.target.find('?'));
  if (req.canonical_uri.empty()) req.canonical_uri = "/";
  req.query = x->query_params;
  for (const std::string& h : auth->signed_headers) req.headers[h] = std::string(in.Header(h.c_str()));
  req.hashed_payload = kms_api::HexSha256(in.body);
  std::string_view claimed = in.Header("x-acs-content-sha256");
  if (!claimed.empty() && !kms_api::SignatureEquals(claimed, req.hashed_payload)) {
    return KmsError(kms_code::kSignatureDoesNotMatch, "x-acs-content-sha256 does not match the body");
  }
  // The signed-header set is the client's: recompute over exactly those headers.
  std::string signed_list;
  for (const std::string& h : auth->signed_headers) {
    if (!signed_list.empty()) signed_list.push_back(';');
    signed_list += h;
  }
  if (signed_list != kms_api::SignedHeadersV3(req.headers)) {
    return KmsError(kms_code::kIncompleteSignature,
                    "SignedHeaders must list host, content-type (if sent) and x-acs-* headers in order");
  }
  KMS_ASSIGN_OR_RETURN(std::string expected, kms_api::SignV3(req, caller.key->access_key_secret));
  if (!kms_api::SignatureEquals(expected, auth->signature)) {
    return KmsError(kms_code::kSignatureDoesNotMatch, "the request signature does not match");
  }
  return absl::OkStatus();
}

absl::Status Authenticator::AuthenticateV1(const Incoming& in, Exchange* x) const {
  Caller& caller = x->caller;
  Params params(&x->all_params);
  std::string_view signature = params.Get("Signature");
  caller.access_key_id = std::string(params.Get("AccessKeyId"));
  x->log.access_key_id = caller.access_key_id.substr(0, 128);
  caller.nonce = std::string(params.Get("SignatureNonce"));
  std::string_view timestamp = params.Get("Timestamp");
  if (signature.empty() || caller.access_key_id.empty() || caller.nonce.empty() ||
      timestamp.empty() || params.Get("SignatureMethod").empty()) {
    return KmsError(kms_code::kIncompleteSignature,
                    "Signature, AccessKeyId, SignatureMethod, SignatureNonce and Timestamp are "
                    "required");
  }
  if (params.Get("SignatureMethod") != kms_api::kSignatureMethodV1 ||
      (params.Find("SignatureVersion") != nullptr &&
       params.Get("SignatureVersion") != kms_api::kSignatureVersionV1)) {
    return KmsError(kms_code::kIncompleteSignature, "only HMAC-SHA1 / 1.0 is supported for V1");
  }
  if (params.Get("Version") != kApiVersion) {
    return KmsError(kms_code::kInvalidParameter, "unsupported Version (use 2016-01-20)");
  }
  KMS_RETURN_IF_ERROR(FindFreshKey(timestamp, &caller));
  std::vector<QueryParam> unsigned_params;
  unsigned_params.reserve(x->all_params.size());
  for (const auto& kv : x->all_params) {
    if (kv.first != "Signature") unsigned_params.push_back(kv);
  }
  KMS_ASSIGN_OR_RETURN(std::string expected,
                       kms_api::SignV1(in.method, unsigned_params, caller.key->access_key_secret));
  if (!kms_api::SignatureEquals(expected, signature)) {
    return KmsError(kms_code::kSignatureDoesNotMatch, "the request signature does not match");
  }
  return absl::OkStatus();
}

absl::Status Authenticator::Authenticate(const Incoming& in, Exchange* x) const {
  const bool v3 = !in.Header("authorization").empty();
  x->log.auth = v3 ? "V3" : "V1";
  Params params(&x->all_params);
  std::string_view action = params.Get("Action");
  if (v3) {
    std::string_view header = in.Header("x-acs-action");
    if (!header.empty() && !action.empty() && header != action) {
      return KmsError(kms_code::kInvalidParameter, "x-acs-action and Action differ");
    }
    if (!header.empty()) action = header;
  }
  x->caller.action = std::string(action);
  x->log.action = x->caller.action.substr(0, 64);
  if (action.empty()) return KmsError(kms_code::kMissingParameter, "missing Action");
  KMS_RETURN_IF_ERROR(v3 ? AuthenticateV3(in, x) : AuthenticateV1(in, x));
  return CheckSecurityToken(in, *x);
}

// The STS token (V1 parameter or V3 header, both signed) must be the one the access file binds
// to the key, and absent when it binds none: a token is never accepted and ignored.
absl::Status Authenticator::CheckSecurityToken(const Incoming& in, const Exchange& x) const {
  Params params(&x.all_params);
  const kms_api::WipedString* param = params.Find("SecurityToken");
  std::string_view header = in.Header("x-acs-security-token");
  if (param != nullptr && !header.empty() && std::string_view(*param) != header) {
    return KmsError(kSecurityTokenMismatch, "SecurityToken and x-acs-security-token differ");
  }
  std::string_view token = param != nullptr ? std::string_view(*param) : header;
  if (!x.caller.key->MatchesSecurityToken(token)) {
    return KmsError(kSecurityTokenMismatch, token.empty()
                                                ? "this AccessKey needs its SecurityToken"
                                                : "the SecurityToken does not belong to this AccessKey");
  }
  return absl::OkStatus();
}

}  // namespace server
}  // namespace kms_envelope
