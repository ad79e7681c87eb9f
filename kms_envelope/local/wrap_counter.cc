#include "kms_envelope/local/wrap_counter.h"

#include <algorithm>

namespace kms_envelope {
namespace local {

uint64_t WrapAllowance::NextGrant(uint64_t reserved, uint64_t limit, uint64_t max_range) const {
  if (reserved >= limit) return 0;
  return std::min({next_range_, max_range, limit - reserved});
}

void WrapAllowance::Grant(uint64_t n) {
  // A plain store, not an add: the failed decrements that drove the counter below zero were
  // refusals, not wraps.
  remaining_.store(static_cast<int64_t>(n), std::memory_order_relaxed);
  next_range_ = std::min(next_range_ * 2, kMaxWrapLimit);
}

}  // namespace local
}  // namespace kms_envelope
