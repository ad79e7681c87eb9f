// HeaderJson: what a sealed message's header says, as JSON, without decrypting anything.
//
//   KMS_ASSIGN_OR_RETURN(ParsedHeader parsed, ParseHeader(first_bytes));
//   std::string json = HeaderJson(parsed, sealed_size);
//
// The one description of a header shared by `kms-envelope inspect`, the C API's kmse_inspect
// and the bindings over it: FormatVersion, Suite, FrameSize, MessageId (hex), WrappedKeys
// (ProviderId, KeyId, KeyVersionId, CiphertextBlob in base64), EncryptionContext, HeaderSize,
// SealedSize, PlaintextSize and Frames (PlaintextSize null when no plaintext size yields that
// sealed size, e.g. a truncated file), and Authenticated = false: nothing here was verified.
#ifndef KMS_ENVELOPE_ENVELOPE_HEADER_JSON_H_
#define KMS_ENVELOPE_ENVELOPE_HEADER_JSON_H_

#include <cstdint>
#include <string>

#include "kms_envelope/envelope/format.h"

namespace kms_envelope {
namespace envelope {

// `sealed_size` is the whole message's size (header and payload); it must be at least
// parsed.header_size.
std::string HeaderJson(const ParsedHeader& parsed, uint64_t sealed_size);

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_HEADER_JSON_H_
