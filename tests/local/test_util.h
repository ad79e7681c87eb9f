// Small helpers shared by the tests under tests/local.
#ifndef KMS_ENVELOPE_TESTS_LOCAL_TEST_UTIL_H_
#define KMS_ENVELOPE_TESTS_LOCAL_TEST_UTIL_H_

#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace local {
namespace testing {

inline std::string TestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  static int counter = 0;
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name, "_", ++counter);
}

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const ::absl::Status assert_ok_status_ = (expr);     \
    ASSERT_TRUE(assert_ok_status_.ok()) << assert_ok_status_; \
  } while (0)

#define EXPECT_OK(expr)                                  \
  do {                                                   \
    const ::absl::Status expect_ok_status_ = (expr);     \
    EXPECT_TRUE(expect_ok_status_.ok()) << expect_ok_status_; \
  } while (0)

#define EXPECT_KMS_CODE(expr, code)                                   \
  do {                                                                \
    const ::absl::Status expect_code_status_ = (expr);                \
    EXPECT_EQ(::kms_envelope::GetKmsErrorCode(expect_code_status_), code) \
        << expect_code_status_;                                       \
  } while (0)

}  // namespace testing
}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_LOCAL_TEST_UTIL_H_
