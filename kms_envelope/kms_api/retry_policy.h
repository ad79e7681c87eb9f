// Retry policy of the KMS client: which failures are retried, and how long to wait.
//
//   RetryPolicy policy;                       // defaults below
//   RetryClock clock = RetryClock::Real();     // tests inject a fake clock/sleep/jitter
//   for (int attempt = 0;; ++attempt) {
//     ... if (!IsRetryable(failure)) break;
//     absl::Duration wait = policy.Backoff(attempt, clock.jitter());
//     if (clock.now() + wait >= deadline) break;
//     clock.sleep(wait);
//   }
//
// Contract:
// - Classification is by KMS error code first: Throttling, Rejected.Throttling,
//   ServiceUnavailableTemporary and InternalFailure are retried; every other code the service
//   sends (InvalidParameter, Forbidden.*, Rejected.Disabled, InvalidCiphertext, ...) is final,
//   whatever the HTTP status. Only a response without a recognizable code falls back to the
//   HTTP status (5xx retried). Transport failures (timeouts, refused or reset connections) are
//   retried; TLS verification failures are not.
// - Backoff is capped exponential with full jitter: uniform in [0, min(max_backoff,
//   initial_backoff * 2^attempt)].
// - The loop ends at max_attempts or when the next wait would pass the overall deadline.
#ifndef KMS_ENVELOPE_KMS_API_RETRY_POLICY_H_
#define KMS_ENVELOPE_KMS_API_RETRY_POLICY_H_

#include <functional>
#include <string_view>

#include "absl/time/time.h"

namespace kms_envelope {
namespace kms_api {

struct RetryPolicy {
  int max_attempts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  absl::Duration overall_deadline = absl::Seconds(30);
  absl::Duration per_attempt_timeout = absl::Seconds(10);

  // The capped exponential bound for `attempt` (0-based: the wait after the first failure is
  // Backoff bound 0) and the full-jitter wait for a uniform sample `u` in [0, 1).
  absl::Duration BackoffCap(int attempt) const;
  absl::Duration Backoff(int attempt, double u) const;
};

// Injectable time source (tests record sleeps and advance a fake clock).
struct RetryClock {
  std::function<absl::Time()> now;
  std::function<void(absl::Duration)> sleep;
  std::function<double()> jitter;  // uniform in [0, 1)

  static RetryClock Real();
};

// True for the KMS codes that are worth retrying (see above).
bool IsRetryableKmsCode(std::string_view code);
// The decision for an HTTP response carrying `code` ("" when the body had none) and
// `http_status`: a retryable code, or no code / an unknown one with a 5xx status. A code known to
// be final (InvalidParameter, MissingParameter, InvalidCiphertext, Forbidden.*, Rejected.*
// other than Rejected.Throttling, signature and timestamp errors, ...) is never retried.
bool ShouldRetryResponse(std::string_view code, int http_status);

}  // namespace kms_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_KMS_API_RETRY_POLICY_H_
