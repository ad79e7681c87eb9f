// The JSON document inside the key store file (docs/store-format.md) <-> State.
//
//   KMS_ASSIGN_OR_RETURN(SecretBytes text, SerializeDocument(state));
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<State> back, ParseDocument(text.span(), &previous));
//
// The document holds the CMK material in base64; every intermediate copy of it (JSON strings,
// the dumped text) is wiped, and the text itself only lives in SecretBytes. ParseDocument
// validates everything (ids are UUIDs, states known, the primary version present, aliases
// valid and pointing at keys, no duplicates) and fails with DataLoss otherwise. Version 1
// documents lack AutomaticRotation and WrapsReserved (Enabled and 0). Thread safe (no state).
#ifndef KMS_ENVELOPE_LOCAL_STORE_DOCUMENT_H_
#define KMS_ENVELOPE_LOCAL_STORE_DOCUMENT_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/local/store_state.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace local {

[[nodiscard]] absl::StatusOr<SecretBytes> SerializeDocument(const State& state);

// `previous` (may be null): its VersionKeys are reused for versions whose id and material
// are unchanged, which keeps key schedules and this process's wrap allowances across reloads.
[[nodiscard]] absl::StatusOr<std::unique_ptr<State>> ParseDocument(
    absl::Span<const uint8_t> text, const State* previous);

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_STORE_DOCUMENT_H_
