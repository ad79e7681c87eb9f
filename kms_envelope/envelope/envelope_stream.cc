// Envelope::SealStream, OpenStream and ReadHeader (envelope.h): whole batches of frames per read
// and per write, constant memory.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/envelope_internal.h"
#include "kms_envelope/envelope/frames.h"
#include "kms_envelope/envelope/message_keys.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace envelope {
namespace {

// A source that first replays bytes already read (past the header), then the real source.
class PrefixedSource : public ByteSource {
 public:
  PrefixedSource(std::string prefix, ByteSource& rest) : prefix_(std::move(prefix)), rest_(rest) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
    if (pos_ < prefix_.size()) {
      size_t n = std::min(out.size(), prefix_.size() - pos_);
      std::memcpy(out.data(), prefix_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    return rest_.Read(out);
  }

 private:
  std::string prefix_;
  size_t pos_ = 0;
  ByteSource& rest_;
};

// Streams read and write this many bytes of frames at a time (at least one frame).
constexpr size_t kStreamBatchBytes = size_t{1} << 20;

size_t FramesPerBatch(size_t frame_size) {
  return std::max<size_t>(1, kStreamBatchBytes / frame_size);
}

}  // namespace

absl::StatusOr<ParsedHeader> Envelope::ReadHeader(ByteSource& source, std::string* header_bytes) {
  std::string& buf = *header_bytes;
  buf.clear();
  size_t chunk = 4096;
  for (;;) {
    size_t old = buf.size();
    size_t want = std::min(chunk, kMaxHeaderSize - old);
    buf.resize(old + want);
    KMS_ASSIGN_OR_RETURN(size_t n, ReadFull(source, absl::MakeSpan(
                                                        reinterpret_cast<uint8_t*>(buf.data()) + old, want)));
    buf.resize(old + n);
    absl::StatusOr<ParsedHeader> parsed = ParseHeader(internal::Bytes(buf));
    if (parsed.ok() || !absl::IsOutOfRange(parsed.status())) return parsed;
    if (n < want || buf.size() >= kMaxHeaderSize) {
      return AuthFailed("sealed input is truncated inside its header");
    }
    chunk *= 4;
  }
}

absl::StatusOr<StreamResult> Envelope::SealStream(ByteSource& source, ByteSink& sink,
                                                  const EncryptionContext& context) const {
  std::array<uint8_t, kMessageIdSize> message_id;
  std::string header_bytes;
  absl::StatusOr<MessageKeys> new_message;
  {
    GenerateDataKeyResponse data_key;  // its plaintext is wiped when this scope ends
    // The size is not known up front: a cache gives this message a key of its own.
    new_message = NewMessage(context, std::nullopt, &message_id, &data_key, &header_bytes);
  }
  KMS_ASSIGN_OR_RETURN(MessageKeys keys, std::move(new_message));
  KMS_RETURN_IF_ERROR(sink.Write(internal::Bytes(header_bytes)));
  StreamResult result;
  result.sealed_size = header_bytes.size();
  // Whole batches of frames per read and per write: one system call per ~1 MiB instead of per
  // frame (the format is unchanged: the same frames, in the same order).
  const size_t f = options_.frame_size;
  const size_t batch = FramesPerBatch(f);
  std::vector<uint8_t> in(f * batch);
  WipeOnExit wipe_in{in};
  std::vector<uint8_t> out((f + kFrameTagSize) * batch);
  for (;;) {
    KMS_ASSIGN_OR_RETURN(size_t n, ReadFull(source, absl::MakeSpan(in)));
    // A short read means the input ended: the frames read so far end the message, the last of
    // them short (possibly empty) and final. A full frame is never final (format rule).
    const bool input_ended = n < in.size();
    KMS_ASSIGN_OR_RETURN(size_t written,
                         SealFrames(keys, message_id, options_.frame_size, result.frames,
                                    absl::MakeConstSpan(in.data(), n), input_ended,
                                    absl::MakeSpan(out)));
    KMS_RETURN_IF_ERROR(sink.Write(absl::MakeConstSpan(out.data(), written)));
    result.plaintext_size += n;
    result.sealed_size += written;
    result.frames += n / f + (input_ended ? 1 : 0);
    if (input_ended) break;
  }
  return result;
}

absl::StatusOr<StreamResult> Envelope::OpenStream(ByteSource& source, ByteSink& sink,
                                                  const EncryptionContext* expected_context) const {
  std::string header_bytes;
  KMS_ASSIGN_OR_RETURN(ParsedHeader parsed, ReadHeader(source, &header_bytes));
  KMS_ASSIGN_OR_RETURN(
      Unwrapped u, UnwrapHeader(parsed, internal::Bytes(header_bytes).first(parsed.body_size),
                                expected_context, "open", false));
  PrefixedSource in(header_bytes.substr(parsed.header_size), source);
  header_bytes.clear();
  const size_t f = parsed.header.frame_size;
  const size_t sealed_frame = f + kFrameTagSize;
  const size_t batch = FramesPerBatch(f);
  std::vector<uint8_t> frames_in(sealed_frame * batch);
  std::vector<uint8_t> plain(f * batch);
  WipeOnExit wipe_plain{plain};
  StreamResult result;
  result.sealed_size = parsed.header_size;
  for (;;) {
    KMS_ASSIGN_OR_RETURN(size_t n, ReadFull(in, absl::MakeSpan(frames_in)));
    // ReadFull stopped short only because the input ended: the frames read end the message.
    const bool input_ended = n < frames_in.size();
    size_t plain_size = 0;
    absl::Status opened = OpenFrames(u.keys, parsed.header.message_id, parsed.header.frame_size,
                                     result.frames, absl::MakeConstSpan(frames_in.data(), n),
                                     input_ended, absl::MakeSpan(plain), &plain_size);
    // The frames before a bad one are authenticated: release them, as a frame-by-frame reader
    // would have, then report the failure.
    KMS_RETURN_IF_ERROR(sink.Write(absl::MakeConstSpan(plain.data(), plain_size)));
    KMS_RETURN_IF_ERROR(opened);
    result.plaintext_size += plain_size;
    result.sealed_size += n;
    result.frames += n / sealed_frame + (input_ended ? 1 : 0);
    if (input_ended) break;
  }
  return result;
}

}  // namespace envelope
}  // namespace kms_envelope
