// Invariant checks for the fuzz targets. A failed check prints the invariant and aborts, which
// libFuzzer reports as a crash (and saves the input) and the replay tests report as a failure.
#ifndef KMS_ENVELOPE_FUZZ_FUZZ_CHECK_H_
#define KMS_ENVELOPE_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", __FILE__, __LINE__, \
                   #cond);                                                            \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

#endif  // KMS_ENVELOPE_FUZZ_FUZZ_CHECK_H_
