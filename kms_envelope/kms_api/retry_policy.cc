#include "kms_envelope/kms_api/retry_policy.h"

#include <cstdint>
#include <thread>

#include "absl/time/clock.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace kms_api {

absl::Duration RetryPolicy::BackoffCap(int attempt) const {
  absl::Duration cap = initial_backoff;
  for (int i = 0; i < attempt && cap < max_backoff; ++i) cap *= 2;
  return cap < max_backoff ? cap : max_backoff;
}

absl::Duration RetryPolicy::Backoff(int attempt, double u) const {
  if (u < 0) u = 0;
  if (u >= 1) u = 0.999999;
  return absl::Nanoseconds(static_cast<int64_t>(absl::ToDoubleNanoseconds(BackoffCap(attempt)) * u));
}

RetryClock RetryClock::Real() {
  RetryClock c;
  c.now = [] { return absl::Now(); };
  c.sleep = [](absl::Duration d) { absl::SleepFor(d); };
  c.jitter = [] {
    uint64_t r;
    internal::FillRandom(absl::MakeSpan(reinterpret_cast<uint8_t*>(&r), sizeof(r)));
    return static_cast<double>(r >> 11) / static_cast<double>(uint64_t{1} << 53);
  };
  return c;
}

bool IsRetryableKmsCode(std::string_view code) {
  return code == kms_code::kThrottling || code == kms_code::kRejectedThrottling ||
         code == kms_code::kServiceUnavailableTemporary || code == kms_code::kInternalFailure;
}

bool ShouldRetryResponse(std::string_view code, int http_status) {
  if (IsRetryableKmsCode(code)) return true;
  if (!code.empty()) {
    auto starts = [&](std::string_view p) { return code.substr(0, p.size()) == p; };
    if (starts("Forbidden") || starts("Rejected") || starts("Invalid") || starts("Missing") ||
        starts("Signature") || starts("IncompleteSignature") || starts("Unsupported")) {
      return false;
    }
  }
  return http_status >= 500 && http_status <= 599;
}

}  // namespace kms_api
}  // namespace kms_envelope
