// InstanceTransport: one signed HTTPS exchange with a KMS 3.0 instance gateway (libcurl), used by
// InstanceKeyProvider's retry loop.
//
//   KMS_ASSIGN_OR_RETURN(auto t, InstanceTransport::New(options));
//   InstanceTransport::Result r = t->Exchange("AdvanceDecrypt", body, client_key, now, timeout);
//   if (r.status.ok()) ... parse r.body ...
//
// Contract:
// - POST `<endpoint>/` with the headers and Authorization of request_signer.h; TLS peer and host
//   verification always on (`ca_file` adds the instance CA), HTTPS only.
// - Result: OK with the 2xx body; otherwise the protobuf Error of a non-2xx answer as
//   KmsError(ErrorCode, "<ErrorMessage> (RequestId: <id>)"), InternalFailure for a 5xx without
//   one, DataLoss for a body over kMaxInstanceResponseSize. `retryable` follows
//   kms_api::ShouldRetryResponse for answers and is set for timeouts and refused / reset
//   connections (not for TLS verification failures).
// - The response body is a WipedString (it may carry a plaintext). Thread safe (easy handles
//   come from a small pool and keep their connections).
#ifndef KMS_ENVELOPE_INSTANCE_INSTANCE_TRANSPORT_H_
#define KMS_ENVELOPE_INSTANCE_INSTANCE_TRANSPORT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kms_envelope/instance/client_key.h"
#include "kms_envelope/kms_api/http_client.h"
#include "kms_envelope/kms_api/wiped_string.h"

namespace kms_envelope {
namespace instance {

struct InstanceTransportOptions {
  std::string endpoint;  // https://host[:port], no path
  std::string ca_file;
  absl::Duration connect_timeout = absl::Seconds(5);
  size_t max_idle_handles = 8;
  size_t max_response_size = 64 * 1024;
};

// "https://" + host when `endpoint` has no scheme; trailing '/' dropped. InvalidParameter for
// any scheme but https or a path.
[[nodiscard]] absl::StatusOr<std::string> NormalizeInstanceEndpoint(std::string_view endpoint);

class InstanceTransport {
 public:
  struct Result {
    absl::Status status;
    bool retryable = false;
    kms_api::WipedString body;
  };

  [[nodiscard]] static absl::StatusOr<std::unique_ptr<InstanceTransport>> New(
      InstanceTransportOptions options);

  Result Exchange(std::string_view api_name, std::string_view body, const ClientKey& key,
                  absl::Time now, absl::Duration timeout);

 private:
  InstanceTransport(InstanceTransportOptions options, std::unique_ptr<kms_api::HttpClient> http)
      : options_(std::move(options)), http_(std::move(http)) {}
  Result Finish(long http_status, kms_api::WipedString body);

  InstanceTransportOptions options_;
  std::unique_ptr<kms_api::HttpClient> http_;
};

}  // namespace instance
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INSTANCE_INSTANCE_TRANSPORT_H_
