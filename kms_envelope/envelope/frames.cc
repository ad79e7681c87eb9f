#include "kms_envelope/envelope/frames.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace envelope {
namespace {

// A frame's associated data binds it to its message, its place and whether it ends the message.
constexpr size_t kFrameAadSize = kMessageIdSize + 8 + 1;

void MakeFrameAad(absl::Span<const uint8_t> message_id, uint64_t frame_index, bool final_frame,
                  uint8_t (&out)[kFrameAadSize]) {
  std::memcpy(out, message_id.data(), kMessageIdSize);
  internal::StoreBigEndian64(frame_index, out + kMessageIdSize);
  out[kMessageIdSize + 8] = final_frame ? 1 : 0;
}

absl::Status SealFrame(const MessageKeys& keys, absl::Span<const uint8_t> message_id,
                       uint64_t index, bool final_frame, absl::Span<const uint8_t> plaintext,
                       absl::Span<uint8_t> out) {
  uint8_t nonce[internal::kXChaCha20NonceSize];
  MakeNonce(keys, index + 1, absl::MakeSpan(nonce, keys.nonce_size));
  uint8_t aad[kFrameAadSize];
  MakeFrameAad(message_id, index, final_frame, aad);
  return keys.payload.Seal(absl::MakeConstSpan(nonce, keys.nonce_size), absl::MakeConstSpan(aad),
                           plaintext, out);
}

absl::Status OpenFrame(const MessageKeys& keys, absl::Span<const uint8_t> message_id,
                       uint64_t index, bool final_frame, absl::Span<const uint8_t> ciphertext,
                       absl::Span<uint8_t> out) {
  if (index >= kMaxFrameCount) return KmsError(kms_code::kInvalidCiphertext, "too many frames");
  uint8_t nonce[internal::kXChaCha20NonceSize];
  MakeNonce(keys, index + 1, absl::MakeSpan(nonce, keys.nonce_size));
  uint8_t aad[kFrameAadSize];
  MakeFrameAad(message_id, index, final_frame, aad);
  absl::Status s = keys.payload.Open(absl::MakeConstSpan(nonce, keys.nonce_size),
                                     absl::MakeConstSpan(aad), ciphertext, out);
  if (!s.ok()) {
    return KmsError(kms_code::kInvalidCiphertext,
                    absl::StrCat("frame ", index, " failed authentication"));
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t SealedRunSize(uint64_t plaintext_size, uint32_t frame_size, bool ends_message) {
  const uint64_t frames = plaintext_size / frame_size + (ends_message ? 1 : 0);
  return plaintext_size + frames * kFrameTagSize;
}

absl::StatusOr<size_t> SealFrames(const MessageKeys& keys, absl::Span<const uint8_t> message_id,
                                  uint32_t frame_size, uint64_t first_index,
                                  absl::Span<const uint8_t> plaintext, bool ends_message,
                                  absl::Span<uint8_t> out) {
  const size_t f = frame_size;
  if (!ends_message && plaintext.size() % f != 0) {
    return absl::InternalError("a run that does not end the message must hold whole frames");
  }
  if (out.size() < SealedRunSize(plaintext.size(), frame_size, ends_message)) {
    return absl::ResourceExhaustedError("output buffer too small for the frames");
  }
  const uint64_t frames = plaintext.size() / f + (ends_message ? 1 : 0);
  // Frame indices stop at kMaxFrameCount - 1 (nonce counters never repeat), and a frame at that
  // last index must be the final one.
  const uint64_t index_bound = ends_message ? kMaxFrameCount : kMaxFrameCount - 1;
  if (first_index > index_bound || frames > index_bound - first_index) {
    return KmsError(kms_code::kInvalidParameter, "input too large for this frame size");
  }
  size_t written = 0;
  for (uint64_t k = 0; k < frames; ++k) {
    const bool final_frame = ends_message && k + 1 == frames;
    const size_t len = final_frame ? plaintext.size() - k * f : f;
    KMS_RETURN_IF_ERROR(SealFrame(keys, message_id, first_index + k, final_frame,
                                    plaintext.subspan(k * f, len),
                                    out.subspan(written, len + kFrameTagSize)));
    written += len + kFrameTagSize;
  }
  return written;
}

absl::Status OpenFrames(const MessageKeys& keys, absl::Span<const uint8_t> message_id,
                        uint32_t frame_size, uint64_t first_index,
                        absl::Span<const uint8_t> sealed, bool ends_message,
                        absl::Span<uint8_t> out, size_t* verified) {
  *verified = 0;
  const size_t sealed_frame = size_t{frame_size} + kFrameTagSize;
  const size_t rest = sealed.size() % sealed_frame;
  if (!ends_message && rest != 0) {
    return absl::InternalError("a run that does not end the message must hold whole frames");
  }
  const uint64_t frames = sealed.size() / sealed_frame + (ends_message ? 1 : 0);
  for (uint64_t k = 0; k < frames; ++k) {
    const bool final_frame = ends_message && k + 1 == frames;
    const size_t len = final_frame ? rest : sealed_frame;
    // The final frame is a tag and 0..frame_size-1 bytes; anything shorter was cut.
    if (len < kFrameTagSize) {
      return KmsError(kms_code::kInvalidCiphertext, "sealed payload is truncated (no final frame)");
    }
    if (out.size() - *verified < len - kFrameTagSize) {
      return absl::ResourceExhaustedError("output buffer too small for the frames");
    }
    absl::Status s = OpenFrame(keys, message_id, first_index + k, final_frame,
                               sealed.subspan(k * sealed_frame, len),
                               out.subspan(*verified, len - kFrameTagSize));
    if (!s.ok()) return s;
    *verified += len - kFrameTagSize;
  }
  return absl::OkStatus();
}

}  // namespace envelope
}  // namespace kms_envelope
