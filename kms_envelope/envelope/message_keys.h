// The keys of one message and the header operations built on them: the payload key and key
// commitment derived from the data key (format v2: SP 800-56C one-step KDF; v1: HKDF-SHA256),
// nonces and the header tag (frames.h seals and opens the payload). Private to the envelope (docs/format.md §2 and §3 describe the
// same computations byte by byte); public headers never include this one.
//
//   KMS_ASSIGN_OR_RETURN(MessageKeys keys,
//                        DeriveMessageKeys(version, suite, data_key, message_id));
//   KMS_RETURN_IF_ERROR(VerifyHeader(keys, parsed, body));     // commitment, then header tag
#ifndef KMS_ENVELOPE_ENVELOPE_MESSAGE_KEYS_H_
#define KMS_ENVELOPE_ENVELOPE_MESSAGE_KEYS_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/internal/aead.h"

namespace kms_envelope {
namespace envelope {

internal::AeadAlgorithm SuiteAlgorithm(Suite suite);

// Keys of one message, derived from the data key. Move-only; wiped on destruction.
struct MessageKeys {
  internal::AeadKey payload;  // AEAD key for the header tag and every frame
  std::array<uint8_t, kCommitmentSize> commitment{};
  std::array<uint8_t, 24> nonce_prefix{};  // first NoncePrefixSize(suite) bytes used
  size_t nonce_size = 0;
};

// Derives the payload key and the commitment with the key schedule of format `version`
// (kOldestFormatVersion..kFormatVersion; format.h). `data_key` must be kDataKeySize bytes.
// The caller wipes the data key (SecretBytes) right after this returns.
[[nodiscard]] absl::StatusOr<MessageKeys> DeriveMessageKeys(
    uint8_t version, Suite suite, absl::Span<const uint8_t> data_key,
    absl::Span<const uint8_t> message_id);

// nonce = prefix || u64 counter; counter 0 = header tag, i+1 = frame i.
void MakeNonce(const MessageKeys& keys, uint64_t counter, absl::Span<uint8_t> out);

// The header tag over `body` (SerializeHeaderBody).
[[nodiscard]] absl::Status ComputeHeaderTag(const MessageKeys& keys, absl::Span<const uint8_t> body,
                                            absl::Span<uint8_t> tag_out);

// Checks the commitment (constant time) and then the header tag. InvalidCiphertext on mismatch.
[[nodiscard]] absl::Status VerifyHeader(const MessageKeys& keys, const ParsedHeader& parsed,
                                        absl::Span<const uint8_t> body);

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_MESSAGE_KEYS_H_
