// Raw HTTP helpers for the server load and hostile-client tests: one request per connection
// over 127.0.0.1, and V1-signed form bodies built with kms_envelope/kms_api/signer.h.
#ifndef KMS_ENVELOPE_TESTS_RELIABILITY_KMS_HTTP_H_
#define KMS_ENVELOPE_TESTS_RELIABILITY_KMS_HTTP_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kms_envelope {
namespace reliability {

struct HttpResponse {
  int status = 0;  // 0: no (parsable) response
  std::string body;
  std::string code;  // the JSON "Code", if any
  double seconds = 0;
};

// Connects to 127.0.0.1:port, sends `request`, reads until the server closes (or timeout).
HttpResponse Exchange(int port, const std::string& request, double timeout_seconds = 20);

// A POST / with a form body (Connection: close).
std::string FormRequest(const std::string& body);

struct SignOptions {
  std::string access_key_id;
  std::string secret;
  std::string timestamp;  // "" = now (UTC)
  std::string nonce;      // "" = random
  bool corrupt_signature = false;
};

// `params` (without AccessKeyId/Timestamp/SignatureNonce/SignatureMethod/SignatureVersion/
// Version, which are added) signed with V1; returns the percent-encoded form body.
std::string SignedBody(const std::vector<std::pair<std::string, std::string>>& params,
                       const SignOptions& options);

std::string UtcTimestamp(long offset_seconds = 0);

}  // namespace reliability
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_RELIABILITY_KMS_HTTP_H_
