#include "kms_envelope/instance/instance_transport.h"

#include "absl/strings/str_cat.h"
#include "kms_envelope/instance/instance_api.pb.h"
#include "kms_envelope/instance/request_signer.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/http_client.h"
#include "kms_envelope/kms_api/retry_policy.h"

namespace kms_envelope {
namespace instance {
namespace {

using kms_api::WipedString;

constexpr size_t kMaxErrorFieldSize = 1024;

}  // namespace

absl::StatusOr<std::string> NormalizeInstanceEndpoint(std::string_view v) {
  while (!v.empty() && v.back() == '/') v.remove_suffix(1);
  std::string url;
  size_t scheme = v.find("://");
  if (scheme == std::string_view::npos) {
    url = absl::StrCat("https://", internal::Av(v));
  } else if (v.substr(0, scheme) == "https") {
    url = std::string(v);
  } else {
    return KmsError(kms_code::kInvalidParameter, "the instance endpoint must be https");
  }
  std::string_view rest = std::string_view(url).substr(8);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return KmsError(kms_code::kInvalidParameter,
                    "the instance endpoint is https://HOST[:PORT] without a path");
  }
  return url;
}

absl::StatusOr<std::unique_ptr<InstanceTransport>> InstanceTransport::New(
    InstanceTransportOptions options) {
  absl::StatusOr<std::string> url = NormalizeInstanceEndpoint(options.endpoint);
  if (!url.ok()) return url.status();
  options.endpoint = *url + "/";
  kms_api::HttpClientOptions http;
  http.ca_file = options.ca_file;
  http.connect_timeout = options.connect_timeout;
  http.max_idle_handles = options.max_idle_handles;
  http.max_response_size = options.max_response_size;
  http.https_only = true;
  http.user_agent = "kms-envelope/1.0 (dkms-gcs-0.2)";
  http.error_prefix = "KMS instance request failed";
  return std::unique_ptr<InstanceTransport>(new InstanceTransport(
      std::move(options), std::make_unique<kms_api::HttpClient>(std::move(http))));
}

InstanceTransport::Result InstanceTransport::Exchange(std::string_view api_name,
                                                      std::string_view body,
                                                      const ClientKey& key, absl::Time now,
                                                      absl::Duration timeout) {
  Result result;
  InstanceHeaders h = MakeInstanceHeaders(api_name, body, key.key_id(), now);
  absl::StatusOr<std::string> auth = SignStringToSign(key.private_key(), StringToSign(h));
  if (!auth.ok()) {
    result.status = auth.status();
    return result;
  }
  std::vector<std::string> headers;
  auto add = [&headers](std::string_view name, std::string_view value) {
    headers.push_back(absl::StrCat(internal::Av(name), ": ", internal::Av(value)));
  };
  add("date", h.date);
  add("content-type", h.content_type);
  add("accept", kProtobufContentType);
  add("content-sha256", h.content_sha256);
  for (const auto& [name, value] : h.x_kms) add(name, value);
  add("authorization", *auth);
  headers.push_back("Expect:");
  kms_api::HttpResponse r = http_->Post(options_.endpoint.c_str(), headers, body, timeout);
  if (!r.status.ok()) {
    result.status = std::move(r.status);
    result.retryable = r.retryable;
    return result;
  }
  return Finish(r.http_status, std::move(r.body));
}

InstanceTransport::Result InstanceTransport::Finish(long http_status, WipedString body) {
  Result result;
  if (http_status >= 200 && http_status < 300) {
    result.body = std::move(body);
    return result;
  }
  api::Error error;
  if (!error.ParseFromArray(body.data(), static_cast<int>(body.size())) ||
      error.errorcode().empty()) {
    result.retryable = kms_api::ShouldRetryResponse("", static_cast<int>(http_status));
    result.status = http_status >= 500
                        ? KmsError(kms_code::kInternalFailure,
                                   absl::StrCat("HTTP ", http_status, " without an Error body"))
                        : absl::UnknownError(absl::StrCat("KMS instance answered HTTP ",
                                                          http_status, " without an Error"));
    return result;
  }
  std::string code = error.errorcode().substr(0, 128);
  result.retryable = kms_api::ShouldRetryResponse(code, static_cast<int>(http_status));
  result.status = KmsError(code, absl::StrCat(error.errormessage().substr(0, kMaxErrorFieldSize),
                                              " (RequestId: ",
                                              error.requestid().substr(0, kMaxErrorFieldSize),
                                              ")"));
  return result;
}

}  // namespace instance
}  // namespace kms_envelope
