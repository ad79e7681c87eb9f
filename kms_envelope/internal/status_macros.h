// The project's own code includes the macros under this name; they are public
// (kms_envelope/status_macros.h) because every caller of the API needs them.
#ifndef KMS_ENVELOPE_INTERNAL_STATUS_MACROS_H_
#define KMS_ENVELOPE_INTERNAL_STATUS_MACROS_H_

#include "kms_envelope/status_macros.h"

#endif  // KMS_ENVELOPE_INTERNAL_STATUS_MACROS_H_
