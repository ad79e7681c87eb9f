// Counts the heap allocations (operator new) this thread makes while a counter is alive.
//
//   #include "kms_envelope/testing/allocation_counter.h"  // in ONE .cc of the test binary
//   kms_envelope::testing::AllocationCounter counter;
//   ... hot path ...
//   EXPECT_EQ(counter.count(), 0u);
//
// The header replaces the global operator new/delete, which may be defined once per program:
// include it from exactly one translation unit of a test binary (a library would not reliably
// take precedence over libstdc++'s definitions when tests link dynamically).
#ifndef KMS_ENVELOPE_TESTING_ALLOCATION_COUNTER_H_
#define KMS_ENVELOPE_TESTING_ALLOCATION_COUNTER_H_

#include <cstddef>
#include <cstdlib>
#include <new>

namespace kms_envelope {
namespace testing {
namespace allocation_counter_internal {
inline thread_local bool counting = false;
inline thread_local size_t allocations = 0;
}  // namespace allocation_counter_internal

class AllocationCounter {
 public:
  AllocationCounter() {
    allocation_counter_internal::allocations = 0;
    allocation_counter_internal::counting = true;
  }
  ~AllocationCounter() { allocation_counter_internal::counting = false; }
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;
  size_t count() const { return allocation_counter_internal::allocations; }
};

}  // namespace testing
}  // namespace kms_envelope

void* operator new(size_t size) {
  if (kms_envelope::testing::allocation_counter_internal::counting) {
    ++kms_envelope::testing::allocation_counter_internal::allocations;
  }
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

#endif  // KMS_ENVELOPE_TESTING_ALLOCATION_COUNTER_H_
