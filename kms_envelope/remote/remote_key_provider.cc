#include "kms_envelope/remote/remote_key_provider.h"

#include <cstdio>
#include <map>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/internal/iso_time.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/internal/uuid.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/http_client.h"
#include "kms_envelope/kms_api/key_id.h"
#include "kms_envelope/kms_api/retry_policy.h"
#include "kms_envelope/kms_api/signer.h"
#include "kms_envelope/kms_api/wiped_string.h"
#include "kms_envelope/kms_api/xml_response.h"
#include "kms_envelope/remote/response_reader.h"

namespace kms_envelope {
namespace remote {

using kms_api::AppendPercentEncoded;
using kms_api::CanonicalQuery;
using kms_api::HexSha256;
using kms_api::LooksLikeXml;
using kms_api::ParseXmlResponse;
using kms_api::QueryParam;
using kms_api::RetryPolicy;
using kms_api::ShouldRetryResponse;
using kms_api::SignV1;
using kms_api::SignV3;
using kms_api::ToWiped;
using kms_api::V3AuthorizationHeader;
using kms_api::V3Request;
using kms_api::WipedJson;
using kms_api::WipedString;
using kms_api::kSignatureMethodV1;
using kms_api::kSignatureVersionV1;
namespace {

using internal::Av;

std::string HostOf(std::string_view url) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  return std::string(authority);
}

void AddContext(std::vector<QueryParam>* params, const char* name, const EncryptionContext* ctx) {
  if (ctx != nullptr && !ctx->empty()) params->emplace_back(name, ToWiped(ctx->ToJson()));
}

// KeyId, KeySpec, NumberOfBytes and EncryptionContext of a GenerateDataKey[WithoutPlaintext] call.
std::vector<QueryParam> DataKeyParams(const GenerateDataKeyRequest& request) {
  std::vector<QueryParam> params;
  params.emplace_back("KeyId", ToWiped(request.key_id));
  if (!request.key_spec.empty()) params.emplace_back("KeySpec", ToWiped(request.key_spec));
  if (request.number_of_bytes.has_value()) {
    params.emplace_back("NumberOfBytes", ToWiped(std::to_string(*request.number_of_bytes)));
  }
  AddContext(&params, "EncryptionContext", request.encryption_context);
  return params;
}

// The signed request of one attempt: URL (query included), form body when the parameters are
// too long for the URL, headers. The URL and body may carry a plaintext (Encrypt): wiped buffers.
struct SignedRequest {
  WipedString url;
  WipedString body;
  std::vector<std::string> headers;
};



}  // namespace

std::string EndpointForRegion(std::string_view region, bool vpc) {
  return absl::StrCat("https://", vpc ? "kms-vpc." : "kms.", Av(region), ".aliyuncs.com");
}

std::string ResolveEndpoint(std::string_view v) {
  if (v.find("://") != std::string_view::npos) {
    while (!v.empty() && v.back() == '/') v.remove_suffix(1);
    return std::string(v);
  }
  if (v.substr(0, 4) == "vpc:") return EndpointForRegion(v.substr(4), true);
  return EndpointForRegion(v, false);
}

struct RemoteKeyProvider::Impl {
  RemoteKeyProviderOptions options;
  Credentials credentials;
  std::string host;
  std::unique_ptr<kms_api::HttpClient> http;
  // One signed HTTP exchange.
  Attempt Once(std::string_view action, const std::vector<QueryParam>& params,
               absl::Duration timeout);
  absl::Status SignV1Request(std::string_view action, const std::vector<QueryParam>& params,
                             const std::string& nonce, const std::string& timestamp,
                             SignedRequest* out);
  absl::Status SignV3Request(std::string_view action, const std::vector<QueryParam>& params,
                             const std::string& nonce, const std::string& timestamp,
                             SignedRequest* out);
  // The retry loop.
  absl::StatusOr<WipedJson> Invoke(std::string_view action, const std::vector<QueryParam>& params,
                                   std::atomic<uint64_t>* attempts);
};

absl::Status RemoteKeyProvider::Impl::SignV1Request(std::string_view action,
                                                    const std::vector<QueryParam>& params,
                                                    const std::string& nonce,
                                                    const std::string& timestamp,
                                                    SignedRequest* out) {
  std::vector<QueryParam> all = params;
  all.emplace_back("Action", ToWiped(action));
  all.emplace_back("Version", ToWiped(kKmsApiVersion));
  all.emplace_back("Format", "JSON");
  all.emplace_back("AccessKeyId", ToWiped(credentials.access_key_id));
  all.emplace_back("SignatureMethod", ToWiped(kSignatureMethodV1));
  all.emplace_back("SignatureVersion", ToWiped(kSignatureVersionV1));
  all.emplace_back("SignatureNonce", ToWiped(nonce));
  all.emplace_back("Timestamp", ToWiped(timestamp));
  if (!credentials.security_token.empty()) {
    all.emplace_back("SecurityToken", ToWiped(credentials.security_token));
  }
  KMS_ASSIGN_OR_RETURN(std::string sig, SignV1("POST", all, credentials.access_key_secret));
  WipedString query = CanonicalQuery(all);
  query.append("&Signature=");
  AppendPercentEncoded(sig, &query);
  if (out->url.size() + query.size() > kMaxUrlLength) {
    out->body = std::move(query);  // the V1 signature covers parameters wherever they travel
    out->url.resize(out->url.size() - 1);  // drop the '?'
    out->headers.push_back("Content-Type: application/x-www-form-urlencoded");
  } else {
    out->url.append(query);
  }
  return absl::OkStatus();
}

absl::Status RemoteKeyProvider::Impl::SignV3Request(std::string_view action,
                                                    const std::vector<QueryParam>& params,
                                                    const std::string& nonce,
                                                    const std::string& timestamp,
                                                    SignedRequest* out) {
  V3Request req;
  req.method = "POST";
  req.canonical_uri = "/";
  WipedString query = CanonicalQuery(params);
  if (out->url.size() + query.size() > kMaxUrlLength) {
    out->body = std::move(query);
    out->url.resize(out->url.size() - 1);
    req.headers["content-type"] = "application/x-www-form-urlencoded";
  } else {
    req.query = params;
    out->url.append(query);
  }
  req.hashed_payload = HexSha256(std::string_view(out->body));
  req.headers["host"] = host;
  req.headers["x-acs-action"] = std::string(action);
  req.headers["x-acs-version"] = std::string(kKmsApiVersion);
  req.headers["x-acs-date"] = timestamp;
  req.headers["x-acs-signature-nonce"] = nonce;
  req.headers["x-acs-content-sha256"] = req.hashed_payload;
  if (!credentials.security_token.empty()) {
    req.headers["x-acs-security-token"] = credentials.security_token;
  }
  KMS_ASSIGN_OR_RETURN(std::string sig, SignV3(req, credentials.access_key_secret));
  for (const auto& [name, value] : req.headers) out->headers.push_back(name + ": " + value);
  out->headers.push_back("Authorization: " +
                         V3AuthorizationHeader(credentials.access_key_id, req, sig));
  return absl::OkStatus();
}

Attempt RemoteKeyProvider::Impl::Once(
    std::string_view action, const std::vector<QueryParam>& params, absl::Duration timeout) {
  Attempt result;
  const std::string nonce = internal::RandomUuid(internal::UuidCase::kLower);
  const std::string timestamp = internal::FormatIsoTime(options.clock.now());
  SignedRequest req;
  size_t estimate = options.endpoint.size() + 512;
  for (const auto& [k, v] : params) estimate += k.size() + 3 * v.size() + 2;
  req.url.reserve(estimate);
  req.url.append(options.endpoint);
  req.url.append("/?");
  result.status = options.signature_version == SignatureVersion::kV1
                      ? SignV1Request(action, params, nonce, timestamp, &req)
                      : SignV3Request(action, params, nonce, timestamp, &req);
  if (!result.status.ok()) return result;
  req.headers.push_back("Accept: application/json");
  req.headers.push_back("Expect:");
  kms_api::HttpResponse r = http->Post(req.url.c_str(), req.headers, req.body, timeout);
  if (!r.status.ok()) {
    result.status = std::move(r.status);
    result.retryable = r.retryable;
    return result;
  }
  ClassifyResponse(r.body, r.http_status, &result);
  return result;
}

absl::StatusOr<WipedJson> RemoteKeyProvider::Impl::Invoke(std::string_view action,
                                                          const std::vector<QueryParam>& params,
                                                          std::atomic<uint64_t>* attempts) {
  const RetryPolicy& policy = options.retry;
  const absl::Time deadline = options.clock.now() + policy.overall_deadline;
  absl::Status last;
  for (int attempt = 0;; ++attempt) {
    absl::Duration left = deadline - options.clock.now();
    if (left <= absl::ZeroDuration()) {
      return last.ok() ? absl::DeadlineExceededError("KMS call deadline passed") : last;
    }
    absl::Duration timeout = policy.per_attempt_timeout < left ? policy.per_attempt_timeout : left;
    attempts->fetch_add(1, std::memory_order_relaxed);
    Attempt a = Once(action, params, timeout);
    if (a.status.ok()) return std::move(a.body);
    last = a.status;
    if (!a.retryable || attempt + 1 >= policy.max_attempts) return last;
    absl::Duration wait = policy.Backoff(attempt, options.clock.jitter());
    if (options.clock.now() + wait >= deadline) return last;
    options.clock.sleep(wait);
  }
}

RemoteKeyProvider::RemoteKeyProvider(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RemoteKeyProvider::~RemoteKeyProvider() = default;

absl::StatusOr<std::unique_ptr<RemoteKeyProvider>> RemoteKeyProvider::New(
    RemoteKeyProviderOptions options, Credentials credentials) {
  std::string endpoint = ResolveEndpoint(options.endpoint);
  if (endpoint.substr(0, 8) != "https://" && endpoint.substr(0, 7) != "http://") {
    return KmsError(kms_code::kInvalidParameter, "endpoint must be an http(s) URL or region id");
  }
  if (credentials.access_key_id.empty() || credentials.access_key_secret.empty()) {
    return KmsError(kms_code::kMissingParameter, "credentials are empty");
  }
  if (options.retry.max_attempts < 1) {
    return KmsError(kms_code::kInvalidParameter, "retry.max_attempts must be at least 1");
  }
  if (!options.clock.now || !options.clock.sleep || !options.clock.jitter) {
    return KmsError(kms_code::kInvalidParameter, "clock needs now, sleep and jitter");
  }
  auto impl = std::make_unique<Impl>();
  options.endpoint = endpoint;
  impl->host = HostOf(endpoint);
  kms_api::HttpClientOptions http;
  http.ca_file = options.ca_file;
  http.connect_timeout = options.connect_timeout;
  http.max_idle_handles = options.max_idle_handles;
  http.max_response_size = kMaxResponseBodySize;
  impl->http = std::make_unique<kms_api::HttpClient>(std::move(http));
  impl->options = std::move(options);
  impl->credentials = std::move(credentials);
  return std::unique_ptr<RemoteKeyProvider>(new RemoteKeyProvider(std::move(impl)));
}

absl::Status RemoteKeyProvider::GenerateDataKeyInto(const GenerateDataKeyRequest& request,
                                                    GenerateDataKeyResponse* response) {
  KMS_ASSIGN_OR_RETURN(size_t size,
                       ResolveDataKeySize(request.key_spec, request.number_of_bytes));
  if (request.key_id.empty()) return KmsError(kms_code::kMissingParameter, "KeyId is required");
  std::vector<QueryParam> params = DataKeyParams(request);
  KMS_ASSIGN_OR_RETURN(WipedJson j, impl_->Invoke("GenerateDataKey", params, &attempts_));
  KMS_RETURN_IF_ERROR(CheckKeyId(j, request.key_id, &response->key_id));
  KMS_RETURN_IF_ERROR(CopyField(j, "KeyVersionId", &response->key_version_id));
  KMS_ASSIGN_OR_RETURN(response->ciphertext_blob, DecodeBlob(j));
  KMS_RETURN_IF_ERROR(DecodePlaintext(j, kMaxNumberOfBytes, size, &response->plaintext));
  OptionalField(j, "RequestId", &response->request_id);
  response->from_cache = false;
  return absl::OkStatus();
}

absl::Status RemoteKeyProvider::DecryptInto(const DecryptRequest& request,
                                            DecryptResponse* response) {
  if (request.ciphertext_blob.empty() || request.ciphertext_blob.size() > kMaxCiphertextBlobSize) {
    return KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is empty or too long");
  }
  std::vector<QueryParam> params;
  params.emplace_back("CiphertextBlob", ToWiped(internal::Base64Encode(request.ciphertext_blob)));
  AddContext(&params, "EncryptionContext", request.encryption_context);
  KMS_ASSIGN_OR_RETURN(WipedJson j, impl_->Invoke("Decrypt", params, &attempts_));
  KMS_RETURN_IF_ERROR(CheckKeyId(j, "", &response->key_id));
  KMS_RETURN_IF_ERROR(CopyField(j, "KeyVersionId", &response->key_version_id));
  KMS_RETURN_IF_ERROR(
      DecodePlaintext(j, kMaxEncryptPlaintextSize, std::nullopt, &response->plaintext));
  OptionalField(j, "RequestId", &response->request_id);
  response->from_cache = false;
  return absl::OkStatus();
}

absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
RemoteKeyProvider::GenerateDataKeyWithoutPlaintext(const GenerateDataKeyRequest& request) {
  KMS_RETURN_IF_ERROR(ResolveDataKeySize(request.key_spec, request.number_of_bytes).status());
  if (request.key_id.empty()) return KmsError(kms_code::kMissingParameter, "KeyId is required");
  std::vector<QueryParam> params = DataKeyParams(request);
  KMS_ASSIGN_OR_RETURN(WipedJson j,
                       impl_->Invoke("GenerateDataKeyWithoutPlaintext", params, &attempts_));
  GenerateDataKeyWithoutPlaintextResponse out;
  KMS_RETURN_IF_ERROR(ParseWrappedKeyResponse(j, request.key_id, &out));
  return out;
}

absl::StatusOr<EncryptResponse> RemoteKeyProvider::Encrypt(const EncryptRequest& request) {
  if (request.key_id.empty()) return KmsError(kms_code::kMissingParameter, "KeyId is required");
  if (request.plaintext.size() > kMaxEncryptPlaintextSize) {
    return KmsError(kms_code::kInvalidParameter, "Plaintext is longer than 6 KiB");
  }
  std::vector<QueryParam> params;
  params.emplace_back("KeyId", ToWiped(request.key_id));
  // The base64 plaintext is built straight into a wiped buffer.
  WipedString plaintext_b64;
  plaintext_b64.resize(internal::Base64EncodedSize(request.plaintext.size()));
  internal::Base64EncodeTo(request.plaintext,
                           absl::MakeSpan(reinterpret_cast<uint8_t*>(plaintext_b64.data()),
                                          plaintext_b64.size()));
  params.emplace_back("Plaintext", std::move(plaintext_b64));
  AddContext(&params, "EncryptionContext", request.encryption_context);
  KMS_ASSIGN_OR_RETURN(WipedJson j, impl_->Invoke("Encrypt", params, &attempts_));
  EncryptResponse out;
  KMS_RETURN_IF_ERROR(ParseWrappedKeyResponse(j, request.key_id, &out));
  return out;
}

absl::StatusOr<ReEncryptResponse> RemoteKeyProvider::ReEncrypt(const ReEncryptRequest& request) {
  if (request.ciphertext_blob.empty() || request.ciphertext_blob.size() > kMaxCiphertextBlobSize) {
    return KmsError(kms_code::kInvalidCiphertext, "CiphertextBlob is empty or too long");
  }
  if (request.destination_key_id.empty()) {
    return KmsError(kms_code::kMissingParameter, "DestinationKeyId is required");
  }
  std::vector<QueryParam> params;
  params.emplace_back("CiphertextBlob", ToWiped(internal::Base64Encode(request.ciphertext_blob)));
  params.emplace_back("DestinationKeyId", ToWiped(request.destination_key_id));
  AddContext(&params, "SourceEncryptionContext", request.source_encryption_context);
  AddContext(&params, "DestinationEncryptionContext", request.destination_encryption_context);
  KMS_ASSIGN_OR_RETURN(WipedJson j, impl_->Invoke("ReEncrypt", params, &attempts_));
  ReEncryptResponse out;
  KMS_RETURN_IF_ERROR(ParseWrappedKeyResponse(j, request.destination_key_id, &out));
  KMS_RETURN_IF_ERROR(CopyField(j, "SourceKeyId", &out.source_key_id));
  KMS_RETURN_IF_ERROR(CopyField(j, "SourceKeyVersionId", &out.source_key_version_id));
  return out;
}

absl::StatusOr<nlohmann::json> RemoteKeyProvider::Call(std::string_view action,
                                                       const CallParams& call_params) {
  if (action == "GenerateDataKey" || action == "Decrypt") {
    return KmsError(kms_code::kInvalidParameter,
                    "use the typed method for actions that return a Plaintext");
  }
  if (action.empty() || action.size() > 64) {
    return KmsError(kms_code::kInvalidParameter, "bad Action");
  }
  KMS_ASSIGN_OR_RETURN(WipedJson j, impl_->Invoke(action, call_params, &attempts_));
  WipedString text = j.dump();
  nlohmann::json out = nlohmann::json::parse(std::string_view(text), nullptr, false);
  if (out.is_discarded()) return kms_api::MalformedResponse("response does not re-parse");
  return out;
}

}  // namespace remote
}  // namespace kms_envelope
