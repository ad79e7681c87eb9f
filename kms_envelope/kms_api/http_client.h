// HttpClient: the one libcurl POST both KMS clients make (remote/: the RPC API, instance/: the
// KMS 3.0 gateway), so connection reuse, TLS settings, the response bound and the classification
// of transport failures cannot drift between them.
//
//   HttpClientOptions o;
//   o.max_response_size = 64 * 1024;
//   o.ca_file = "/etc/kms/ca.pem";
//   HttpClient http(std::move(o));
//   HttpResponse r = http.Post(url, {"Accept: application/json", "Expect:"}, body, timeout);
//   if (!r.status.ok()) { ... r.retryable ... } else { ... r.http_status, r.body ... }
//
// Contract:
// - TLS peer and host verification are always on; `ca_file` adds trust anchors. `https_only`
//   refuses plain http (the gateway); the RPC client allows it for a loopback server.
// - `status` is the transport outcome only: OK whenever an HTTP answer arrived, whatever its
//   status code. DeadlineExceeded for a timeout and Unavailable for refused, reset or
//   unresolvable connections (both `retryable`); Unavailable for TLS verification or URL
//   failures and DataLoss ("malformed KMS response") for a body over `max_response_size`
//   (both final).
// - The request body is read from the caller's buffer during Post (libcurl does not copy it);
//   libcurl's copy of the URL is dropped when the handle is reset after the exchange. The
//   response lands in one WipedString reserved at `max_response_size` (never reallocated), as
//   it may carry a plaintext.
// - Thread safe: easy handles come from a small pool and keep their connections.
#ifndef KMS_ENVELOPE_KMS_API_HTTP_CLIENT_H_
#define KMS_ENVELOPE_KMS_API_HTTP_CLIENT_H_

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kms_envelope/kms_api/wiped_string.h"

namespace kms_envelope {
namespace kms_api {

// DataLoss "malformed KMS response: <what>": what both clients answer for a response they
// cannot trust.
[[nodiscard]] absl::Status MalformedResponse(std::string_view what);

struct HttpClientOptions {
  std::string ca_file;  // "" = the system trust store only
  absl::Duration connect_timeout = absl::Seconds(5);
  size_t max_idle_handles = 8;
  size_t max_response_size = 64 * 1024;
  bool https_only = false;
  std::string user_agent = "kms-envelope/1.0";
  std::string error_prefix = "KMS request failed";  // starts transport error messages
};

struct HttpResponse {
  absl::Status status;  // transport outcome (see the contract)
  bool retryable = false;
  long http_status = 0;
  WipedString body;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` to `url` (NUL-terminated; a char pointer so a URL in a WipedString is never
  // copied) with `headers` (complete "Name: value" lines), within `timeout`.
  HttpResponse Post(const char* url, absl::Span<const std::string> headers,
                    std::string_view body, absl::Duration timeout);

 private:
  // libcurl easy handles, kept as void* so <curl/curl.h> stays out of this header.
  void* Acquire();
  void Release(void* handle);

  const HttpClientOptions options_;
  std::mutex mu_;
  std::vector<void*> idle_;
};

}  // namespace kms_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_API_HTTP_CLIENT_H_
