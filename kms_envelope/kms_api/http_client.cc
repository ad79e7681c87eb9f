#include "kms_envelope/kms_api/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/strings.h"

namespace kms_envelope {
namespace kms_api {
namespace {

struct Sink {
  WipedString* body;
  size_t max;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * nmemb;
  if (n > sink->max - sink->body->size()) return 0;  // aborts with CURLE_WRITE_ERROR
  sink->body->append(data, n);
  return n;
}

// curl's failure -> status; the transient ones are retryable.
void ClassifyTransportError(CURLcode rc, const HttpClientOptions& options, HttpResponse* r) {
  std::string what = absl::StrCat(options.error_prefix, ": ", curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      r->status = absl::DeadlineExceededError(what);
      r->retryable = true;
      break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      r->status = absl::UnavailableError(what);
      r->retryable = true;
      break;
    case CURLE_WRITE_ERROR:
      r->status = MalformedResponse(
          absl::StrCat("response body larger than ", options.max_response_size, " bytes"));
      break;
    default:  // TLS verification, bad URL, ...: final
      r->status = absl::UnavailableError(what);
      break;
  }
}

std::once_flag curl_init_once;

}  // namespace

absl::Status MalformedResponse(std::string_view what) {
  return absl::DataLossError(absl::StrCat("malformed KMS response: ", internal::Av(what)));
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
  std::call_once(curl_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpClient::~HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(h);
}

void* HttpClient::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void HttpClient::Release(void* h) {
  // Reset drops the options (and curl's copy of the URL, which may carry a plaintext) but keeps
  // the live connections and caches for reuse.
  curl_easy_reset(h);
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle_handles) {
    idle_.push_back(h);
    return;
  }
  curl_easy_cleanup(h);
}

HttpResponse HttpClient::Post(const char* url, absl::Span<const std::string> headers,
                              std::string_view body, absl::Duration timeout) {
  HttpResponse r;
  void* h = Acquire();
  if (h == nullptr) {
    r.status = absl::ResourceExhaustedError("curl_easy_init failed");
    return r;
  }
  curl_slist* list = nullptr;
  for (const std::string& line : headers) list = curl_slist_append(list, line.c_str());
  r.body.reserve(options_.max_response_size);  // one buffer, wiped on free
  Sink sink{&r.body, options_.max_response_size};
  const long timeout_ms = std::max<long>(1, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  const long connect_ms = static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout));
  curl_easy_setopt(h, CURLOPT_URL, url);  // libcurl copies it; Release() drops the copy
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(connect_ms, timeout_ms));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, options_.https_only ? "https" : "http,https");
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  const CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.http_status);
  Release(h);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    ClassifyTransportError(rc, options_, &r);
    r.body.clear();
  }
  return r;
}

}  // namespace kms_api
}  // namespace kms_envelope
