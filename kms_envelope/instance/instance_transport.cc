#include "kms_envelope/instance/instance_transport.h"

#include "absl/strings/str_cat.h"
#include "kms_envelope/instance/instance_api.pb.h"
#include "kms_envelope/instance/request_signer.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/retry_policy.h"

namespace kms_envelope {
namespace instance {
namespace {

using kms_api::WipedString;

constexpr size_t kMaxErrorFieldSize = 1024;

struct SinkState {
  WipedString* body;
  size_t max;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<SinkState*>(user);
  size_t n = size * nmemb;
  if (sink->body->size() + n > sink->max) return 0;  // aborts with CURLE_WRITE_ERROR
  sink->body->append(data, n);
  return n;
}

std::once_flag curl_init_once;

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
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::unique_ptr<InstanceTransport>(new InstanceTransport(std::move(options)));
}

InstanceTransport::~InstanceTransport() {
  for (CURL* h : idle_) curl_easy_cleanup(h);
}

CURL* InstanceTransport::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void InstanceTransport::Release(CURL* h) {
  curl_easy_reset(h);  // keeps live connections for reuse
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle_handles) {
    idle_.push_back(h);
    return;
  }
  curl_easy_cleanup(h);
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
  curl_slist* headers = nullptr;
  auto add = [&headers](std::string_view name, std::string_view value) {
    headers = curl_slist_append(headers, absl::StrCat(internal::Av(name), ": ", internal::Av(value)).c_str());
  };
  add("date", h.date);
  add("content-type", h.content_type);
  add("accept", kProtobufContentType);
  add("content-sha256", h.content_sha256);
  for (const auto& [name, value] : h.x_kms) add(name, value);
  add("authorization", *auth);
  headers = curl_slist_append(headers, "Expect:");

  CURL* c = Acquire();
  if (c == nullptr) {
    curl_slist_free_all(headers);
    result.status = absl::ResourceExhaustedError("curl_easy_init failed");
    return result;
  }
  WipedString response;
  response.reserve(options_.max_response_size);  // one buffer, wiped on free
  SinkState sink{&response, options_.max_response_size};
  long timeout_ms = std::max<long>(1, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  long connect_ms = static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout));
  curl_easy_setopt(c, CURLOPT_URL, options_.endpoint.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());  // not copied: stays in the caller's buffer
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(connect_ms, timeout_ms));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "kms-envelope/1.0 (dkms-gcs-0.2)");
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  CURLcode rc = curl_easy_perform(c);
  long http_status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http_status);
  Release(c);
  curl_slist_free_all(headers);
  return Finish(rc, http_status, std::move(response));
}

InstanceTransport::Result InstanceTransport::Finish(CURLcode rc, long http_status,
                                                    WipedString body) {
  Result result;
  if (rc != CURLE_OK) {
    std::string what = absl::StrCat("KMS instance request failed: ", curl_easy_strerror(rc));
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        result.status = absl::DeadlineExceededError(what);
        result.retryable = true;
        break;
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
        result.status = absl::UnavailableError(what);
        result.retryable = true;
        break;
      case CURLE_WRITE_ERROR:
        result.status = absl::DataLossError("malformed KMS response: body too large");
        break;
      default:  // TLS verification, bad URL, ...: final
        result.status = absl::UnavailableError(what);
        break;
    }
    return result;
  }
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
