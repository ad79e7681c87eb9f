// What envelope.cc and envelope_stream.cc share beyond the public Envelope class: the keys of an
// opened header. A private header of the envelope library (in its srcs, never installed), so
// that envelope.h names MessageKeys without including the AEAD layer.
#ifndef KMS_ENVELOPE_ENVELOPE_ENVELOPE_INTERNAL_H_
#define KMS_ENVELOPE_ENVELOPE_ENVELOPE_INTERNAL_H_

#include <cstddef>

#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/message_keys.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace envelope {

struct Envelope::Unwrapped {
  MessageKeys keys;
  SecretBytes data_key;             // only when asked for (rewrap)
  KeyProvider* provider = nullptr;  // the provider that unwrapped it
  size_t wrapped_index = 0;         // which wrapped key it came from
};

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_ENVELOPE_INTERNAL_H_
