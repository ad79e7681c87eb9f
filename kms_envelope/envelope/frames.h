// Runs of consecutive payload frames: the one frame loop behind Seal, SealInto, SealStream,
// Open, OpenInto, OpenStream and the random-access reader. Private to the envelope library.
//
// A message's payload is frames 0, 1, ...: every frame but the last holds exactly frame_size
// plaintext bytes; the last one holds 0..frame_size-1 bytes and carries the final flag in its
// associated data, so a payload cut at a frame boundary or extended by frames fails to open.
// A caller that does not hold the whole payload at once (a stream) seals or opens it in runs;
// only the run that ends the message has `ends_message` set.
//
//   KMS_ASSIGN_OR_RETURN(size_t n, SealFrames(keys, id, f, 0, plaintext, true, out));
#ifndef KMS_ENVELOPE_ENVELOPE_FRAMES_H_
#define KMS_ENVELOPE_ENVELOPE_FRAMES_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/envelope/message_keys.h"

namespace kms_envelope {
namespace envelope {

// The sealed size of a run of `plaintext_size` bytes: without `ends_message` the size must be a
// whole number of frames; with it, one more (short, final) frame follows the full ones.
uint64_t SealedRunSize(uint64_t plaintext_size, uint32_t frame_size, bool ends_message);

// Seals `plaintext` as frames first_index, first_index + 1, ... into `out` (at least
// SealedRunSize bytes); returns the bytes written. InvalidParameter when the run would pass
// the last frame index a message may use (kMaxFrameCount - 1, which must be final); nothing is
// sealed then.
[[nodiscard]] absl::StatusOr<size_t> SealFrames(const MessageKeys& keys,
                                                absl::Span<const uint8_t> message_id,
                                                uint32_t frame_size, uint64_t first_index,
                                                absl::Span<const uint8_t> plaintext,
                                                bool ends_message, absl::Span<uint8_t> out);

// Opens sealed frames first_index, ... from `sealed` into `out` (at least the plaintext size),
// each written only after its tag verified. `*verified` receives the plaintext bytes of the
// frames that verified before a failure (all of them on success). With `ends_message` the run
// must end with a final frame (a remainder shorter than a tag is a truncated message); without
// it, `sealed` holds whole frames only. InvalidCiphertext on any failure.
[[nodiscard]] absl::Status OpenFrames(const MessageKeys& keys,
                                      absl::Span<const uint8_t> message_id, uint32_t frame_size,
                                      uint64_t first_index, absl::Span<const uint8_t> sealed,
                                      bool ends_message, absl::Span<uint8_t> out,
                                      size_t* verified);

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_FRAMES_H_
