/* CHECK / CHECK_STATUS for the C API tests (one copy for tests/c and tests/branch). Each test
 * binary is one translation unit: g_checks and g_failures are its counters. */
#ifndef TESTS_C_C_CHECK_H_
#define TESTS_C_C_CHECK_H_

#include <stdio.h>

#include "kms_envelope/c/kms_envelope.h"

static int g_failures = 0;
static int g_checks = 0;

#define CHECK(cond, ...)                                                        \
  do {                                                                          \
    ++g_checks;                                                                 \
    if (!(cond)) {                                                              \
      ++g_failures;                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                             \
      fprintf(stderr, "\n");                                                    \
    }                                                                           \
  } while (0)

/* CHECK that `call` returned `want`; prints the error otherwise. */
#define CHECK_STATUS(call, want, err)                                                    \
  do {                                                                                   \
    kmse_status got_ = (call);                                                           \
    CHECK(got_ == (want), "got %s (%s: %s), want %s", kmse_status_name(got_),            \
          (err)->kms_code, (err)->message, kmse_status_name(want));                      \
  } while (0)

#endif /* TESTS_C_C_CHECK_H_ */
