// Status propagation macros for callers of the kms_envelope API (Abseil 20220623 ships none).
//
//   KMS_RETURN_IF_ERROR(DoThing());
//   KMS_ASSIGN_OR_RETURN(auto value, ComputeThing());
#ifndef KMS_ENVELOPE_STATUS_MACROS_H_
#define KMS_ENVELOPE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KMS_STATUS_CONCAT_INNER_(x, y) x##y
#define KMS_STATUS_CONCAT_(x, y) KMS_STATUS_CONCAT_INNER_(x, y)

#define KMS_RETURN_IF_ERROR(expr)                  \
  do {                                             \
    ::absl::Status kms_status_ = (expr);           \
    if (!kms_status_.ok()) return kms_status_;     \
  } while (0)

#define KMS_ASSIGN_OR_RETURN(lhs, rexpr) \
  KMS_ASSIGN_OR_RETURN_IMPL_(KMS_STATUS_CONCAT_(kms_statusor_, __LINE__), lhs, rexpr)

#define KMS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                               \
  if (!statusor.ok()) return statusor.status();          \
  lhs = std::move(statusor).value()

#endif  // KMS_ENVELOPE_STATUS_MACROS_H_
