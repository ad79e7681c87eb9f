// Authenticator: who sent a KMS API request, checked before anything else looks at it.
//
//   Authenticator auth(options.policy, options.max_clock_skew, [] { return absl::Now(); });
//   KMS_RETURN_IF_ERROR(auth.Authenticate(incoming, &exchange));  // fills exchange.caller
//
// Contract:
// - V3 (ACS3-HMAC-SHA256, an Authorization header) or V1 (HMAC-SHA1 query/form signature), as
//   the request carries; the signature is recomputed over exactly what the client signed and
//   compared in constant time (SignatureDoesNotMatch). Missing signature pieces are
//   IncompleteSignature; an unknown AccessKeyId InvalidAccessKeyId.NotFound; a Timestamp that
//   does not parse InvalidTimeStamp.Format, one more than max_clock_skew off the clock
//   InvalidTimeStamp.Expired; Version other than 2016-01-20 InvalidParameter.
// - The STS token (V1 parameter or V3 header) must be the one the access file binds to the key
//   and absent when it binds none (InvalidSecurityToken.MismatchWithAccessKey): never ignored.
// - It does not record the nonce: the pipeline does that once every later check passed, so a
//   refused request cannot burn a caller's nonce budget.
// - Fills exchange.caller (key, action, access key id, nonce, timestamp) and the log fields.
//   Thread safe (reads only).
#ifndef KMS_ENVELOPE_SERVER_AUTHENTICATOR_H_
#define KMS_ENVELOPE_SERVER_AUTHENTICATOR_H_

#include <functional>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/exchange.h"

namespace kms_envelope {
namespace server {

class Authenticator {
 public:
  Authenticator(const AccessPolicy& policy, absl::Duration max_clock_skew,
                std::function<absl::Time()> now)
      : policy_(policy), max_clock_skew_(max_clock_skew), now_(std::move(now)) {}

  [[nodiscard]] absl::Status Authenticate(const Incoming& in, Exchange* x) const;

 private:
  absl::Status AuthenticateV3(const Incoming& in, Exchange* x) const;
  absl::Status AuthenticateV1(const Incoming& in, Exchange* x) const;
  absl::Status CheckSecurityToken(const Incoming& in, const Exchange& x) const;
  // Sets caller->key and caller->timestamp if the key exists and `timestamp` is within
  // max_clock_skew of the clock.
  absl::Status FindFreshKey(std::string_view timestamp, Caller* caller) const;

  const AccessPolicy& policy_;
  const absl::Duration max_clock_skew_;
  const std::function<absl::Time()> now_;
};

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_AUTHENTICATOR_H_
