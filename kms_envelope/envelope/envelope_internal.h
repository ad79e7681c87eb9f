// What the envelope's source files (in memory, streaming, random access, header rewrap) share
// beyond the public Envelope class: the keys of an opened header and a few helpers. A private
// header of the envelope library (in its srcs, never installed), so that envelope.h names
// MessageKeys without including the AEAD layer.
#ifndef KMS_ENVELOPE_ENVELOPE_ENVELOPE_INTERNAL_H_
#define KMS_ENVELOPE_ENVELOPE_ENVELOPE_INTERNAL_H_

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/envelope/message_keys.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace envelope {

struct Envelope::Unwrapped {
  MessageKeys keys;
  SecretBytes data_key;             // only when asked for (rewrap)
  KeyProvider* provider = nullptr;  // the provider that unwrapped it
  size_t wrapped_index = 0;         // which wrapped key it came from
};

// Every authentication failure of a sealed message maps to one KMS error code.
inline absl::Status AuthFailed(std::string_view what) {
  return KmsError(kms_code::kInvalidCiphertext, what);
}

// The header of `sealed`, with a message cut inside its header reported as an authentication
// failure. `expected` (optional) lets the parser compare the context as it reads it.
[[nodiscard]] absl::StatusOr<ParsedHeader> ParseSealedHeader(
    absl::Span<const uint8_t> sealed, const EncryptionContext* expected = nullptr);
// The same into `*out`, reusing its storage (ParseHeaderInto).
[[nodiscard]] absl::Status ParseSealedHeaderInto(absl::Span<const uint8_t> sealed,
                                                 const EncryptionContext* expected,
                                                 ParsedHeader* out);

// Wipes a plaintext buffer when it goes out of scope, whichever way the scope is left.
struct WipeOnExit {
  std::vector<uint8_t>& buf;
  ~WipeOnExit() { sodium_memzero(buf.data(), buf.size()); }
};

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_ENVELOPE_INTERNAL_H_
