// What the C API's source files share: the handle structs behind the opaque C types, and the
// error reporting every entry point uses. C++ only; not part of the C ABI (kms_envelope.h).
#ifndef KMS_ENVELOPE_C_C_API_INTERNAL_H_
#define KMS_ENVELOPE_C_C_API_INTERNAL_H_

#include <cstddef>
#include <exception>
#include <memory>
#include <new>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/c/kms_envelope.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/local_key_store.h"

// A provider and, when its base is the local CMK store, that store (key administration).
struct kmse_provider {
  std::shared_ptr<kms_envelope::KeyProvider> provider;
  std::shared_ptr<kms_envelope::local::LocalKeyStore> local_store;
};

struct kmse_envelope {
  std::unique_ptr<kms_envelope::envelope::Envelope> envelope;
};

namespace kms_envelope {
namespace c_api {

// Copies `text` into out[0..cap) NUL-terminated, truncated to fit.
void CopyTruncated(std::string_view text, char* out, size_t cap);

// Fills `err` (when non-NULL) and returns `status`.
kmse_status Fail(kmse_error* err, kmse_status status, std::string_view kms_code,
                 std::string_view message);
// The kmse_status for an absl::Status (by KMS error code, else by canonical code), reported.
kmse_status Report(kmse_error* err, const absl::Status& status);
kmse_status Ok(kmse_error* err);
kmse_status InvalidArgument(kmse_error* err, std::string_view message);
// KMSE_ERR_BUFFER_TOO_SMALL with the size needed stored in *len_out.
kmse_status TooSmall(kmse_error* err, size_t required, size_t* len_out, std::string_view what);

// NULL = the empty context.
absl::StatusOr<EncryptionContext> ParseContext(const char* json);

// Runs an entry point's body: no exception crosses the C boundary.
template <typename Body>
kmse_status Guard(kmse_error* err, Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(err, KMSE_ERR_INTERNAL, kms_code::kInternalFailure, "out of memory");
  } catch (const std::exception& e) {
    return Fail(err, KMSE_ERR_INTERNAL, kms_code::kInternalFailure, e.what());
  } catch (...) {
    return Fail(err, KMSE_ERR_INTERNAL, kms_code::kInternalFailure, "unknown exception");
  }
}

}  // namespace c_api
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_C_C_API_INTERNAL_H_
