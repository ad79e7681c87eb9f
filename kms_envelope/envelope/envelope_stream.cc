// Streaming, random access and re-wrap parts of Envelope (envelope.h).
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/envelope_internal.h"
#include "kms_envelope/envelope/message_keys.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace envelope {
namespace {

absl::Status AuthFailed(std::string_view what) {
  return KmsError(kms_code::kInvalidCiphertext, what);
}

bool IsUnsupported(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnimplemented ||
         GetKmsErrorCode(s) == kms_code::kUnsupportedOperation;
}

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

// Wipes a plaintext buffer when it goes out of scope.
struct WipeOnExit {
  std::vector<uint8_t>& buf;
  ~WipeOnExit() { sodium_memzero(buf.data(), buf.size()); }
};

absl::StatusOr<size_t> PreadFull(int fd, uint64_t offset, absl::Span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(absl::StrCat("pread failed: ", std::strerror(errno)));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// Reads a header from the start of a file with pread, growing the read only as far as the
// parser asks (never past kMaxHeaderSize).
absl::StatusOr<ParsedHeader> PreadHeader(int fd, uint64_t file_size, std::string* bytes) {
  size_t want = std::min<uint64_t>(4096, file_size);
  for (;;) {
    bytes->resize(want);
    KMS_ASSIGN_OR_RETURN(size_t n, PreadFull(fd, 0, absl::MakeSpan(
                                                      reinterpret_cast<uint8_t*>(bytes->data()), want)));
    bytes->resize(n);
    absl::StatusOr<ParsedHeader> parsed = ParseHeader(internal::Bytes(*bytes));
    if (parsed.ok() || !absl::IsOutOfRange(parsed.status())) return parsed;
    if (n < want || want >= kMaxHeaderSize || want >= file_size) {
      return AuthFailed("sealed file is truncated inside its header");
    }
    want = std::min<uint64_t>({want * 4, kMaxHeaderSize, file_size});
  }
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
  for (uint64_t i = 0;;) {
    KMS_ASSIGN_OR_RETURN(size_t n, ReadFull(source, absl::MakeSpan(in)));
    // A short read means the input ended: its last frame (possibly empty) is the final one. A
    // full frame is never final (format rule).
    const bool input_ended = n < in.size();
    const size_t frames = input_ended ? n / f + 1 : batch;
    size_t written = 0;
    bool final_frame = false;
    for (size_t k = 0; k < frames; ++k, ++i) {
      const size_t len = std::min(f, n - k * f);
      final_frame = len < f;
      if (i + 1 > kMaxFrameCount || (i + 1 == kMaxFrameCount && !final_frame)) {
        return KmsError(kms_code::kInvalidParameter, "input too large for this frame size");
      }
      KMS_RETURN_IF_ERROR(SealFrame(keys, message_id, i, final_frame,
                                    absl::MakeConstSpan(in.data() + k * f, len),
                                    absl::MakeSpan(out.data() + written, len + kFrameTagSize)));
      written += len + kFrameTagSize;
      result.plaintext_size += len;
    }
    KMS_RETURN_IF_ERROR(sink.Write(absl::MakeConstSpan(out.data(), written)));
    result.sealed_size += written;
    result.frames = i;
    if (final_frame) break;
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
  for (uint64_t i = 0;;) {
    KMS_ASSIGN_OR_RETURN(size_t n, ReadFull(in, absl::MakeSpan(frames_in)));
    // A full-size frame is never final; a shorter one is the final frame, and ReadFull stopped
    // short only because the input ended, so nothing can follow it. Plaintext is written only
    // for frames already authenticated.
    const bool input_ended = n < frames_in.size();
    const size_t frames = input_ended ? n / sealed_frame + 1 : batch;
    size_t plain_size = 0;
    bool final_frame = false;
    for (size_t k = 0; k < frames; ++k, ++i) {
      const size_t len = std::min(sealed_frame, n - k * sealed_frame);
      final_frame = len < sealed_frame;
      absl::Status opened =
          len < kFrameTagSize
              ? AuthFailed("sealed stream is truncated (no final frame)")
              : OpenFrame(u.keys, parsed.header.message_id, i, final_frame,
                          absl::MakeConstSpan(frames_in.data() + k * sealed_frame, len),
                          absl::MakeSpan(plain.data() + plain_size, len - kFrameTagSize));
      if (!opened.ok()) {
        // Release the frames before this one (each authenticated), as a frame-by-frame reader
        // would have, then report the failure.
        KMS_RETURN_IF_ERROR(sink.Write(absl::MakeConstSpan(plain.data(), plain_size)));
        return opened;
      }
      plain_size += len - kFrameTagSize;
      result.sealed_size += len;
    }
    KMS_RETURN_IF_ERROR(sink.Write(absl::MakeConstSpan(plain.data(), plain_size)));
    result.plaintext_size += plain_size;
    result.frames = i;
    if (final_frame) break;
  }
  return result;
}

// ---------------------------------------------------------------- random access

namespace {

class FileRangeReader : public RangeReader {
 public:
  FileRangeReader(int fd, ParsedHeader parsed, MessageKeys keys, uint64_t plaintext_size)
      : fd_(fd), parsed_(std::move(parsed)), keys_(std::move(keys)), size_(plaintext_size) {}

  uint64_t plaintext_size() const override { return size_; }
  const MessageHeader& header() const override { return parsed_.header; }

  // Decrypts frame `index` into `plain` (sized to the frame's plaintext).
  absl::Status ReadFrame(uint64_t index, std::vector<uint8_t>& cipher,
                         std::vector<uint8_t>& plain) const {
    const uint32_t f = parsed_.header.frame_size;
    const uint64_t frames = FrameCount(size_, f);
    const bool final_frame = index + 1 == frames;
    const size_t n = final_frame ? size_ - index * f : f;
    cipher.resize(n + kFrameTagSize);
    plain.resize(n);
    const uint64_t offset = parsed_.header_size + index * (uint64_t{f} + kFrameTagSize);
    KMS_ASSIGN_OR_RETURN(size_t got, PreadFull(fd_, offset, absl::MakeSpan(cipher)));
    if (got != cipher.size()) return AuthFailed("sealed file shrank while reading");
    return OpenFrame(keys_, parsed_.header.message_id, index, final_frame,
                     absl::MakeConstSpan(cipher), absl::MakeSpan(plain));
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, absl::Span<uint8_t> out) const override {
    if (offset > size_) return absl::OutOfRangeError("offset past the end of the plaintext");
    const size_t len = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset));
    if (len == 0) return size_t{0};
    const uint32_t f = parsed_.header.frame_size;
    std::vector<uint8_t> cipher, plain;
    WipeOnExit wipe{plain};
    size_t done = 0;
    for (uint64_t index = offset / f; done < len; ++index) {
      absl::Status s = ReadFrame(index, cipher, plain);
      if (!s.ok()) {
        sodium_memzero(out.data(), out.size());
        sodium_memzero(plain.data(), plain.size());
        return s;
      }
      const uint64_t frame_start = index * f;
      const size_t from = static_cast<size_t>(offset + done - frame_start);
      const size_t n = std::min(len - done, plain.size() - from);
      std::memcpy(out.data() + done, plain.data() + from, n);
      done += n;
    }
    sodium_memzero(plain.data(), plain.size());
    return done;
  }

 private:
  int fd_;
  ParsedHeader parsed_;
  MessageKeys keys_;
  uint64_t size_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RangeReader>> Envelope::OpenRandomAccess(
    int fd, const EncryptionContext* expected_context) const {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return absl::DataLossError(absl::StrCat("fstat failed: ", std::strerror(errno)));
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  std::string header_bytes;
  KMS_ASSIGN_OR_RETURN(ParsedHeader parsed, PreadHeader(fd, file_size, &header_bytes));
  KMS_ASSIGN_OR_RETURN(uint64_t size, PlaintextSizeForPayload(file_size - parsed.header_size,
                                                              parsed.header.frame_size));
  KMS_ASSIGN_OR_RETURN(
      Unwrapped u, UnwrapHeader(parsed, internal::Bytes(header_bytes).first(parsed.body_size),
                                expected_context, "open", false));
  auto reader = std::make_unique<FileRangeReader>(fd, std::move(parsed), std::move(u.keys), size);
  // Verify the final frame now: it authenticates the total length, so a file cut at a frame
  // boundary (or extended) is refused even if the caller never reads near its end.
  std::vector<uint8_t> cipher, plain;
  WipeOnExit wipe{plain};
  KMS_RETURN_IF_ERROR(reader->ReadFrame(FrameCount(size, reader->header().frame_size) - 1, cipher, plain));
  return std::unique_ptr<RangeReader>(std::move(reader));
}

// ---------------------------------------------------------------- re-wrap

absl::StatusOr<std::string> Envelope::RewrapHeader(absl::Span<const uint8_t> sealed,
                                                   const EncryptionContext* expected_context,
                                                   size_t* old_header_size) const {
  if (options_.primary.provider == nullptr) {
    return KmsError(kms_code::kMissingParameter, "rewrap needs a primary key");
  }
  absl::StatusOr<ParsedHeader> parsed_or = ParseHeader(sealed);
  if (!parsed_or.ok()) {
    if (absl::IsOutOfRange(parsed_or.status())) return AuthFailed("sealed message is truncated");
    return parsed_or.status();
  }
  const ParsedHeader& parsed = *parsed_or;
  KMS_ASSIGN_OR_RETURN(Unwrapped u, UnwrapHeader(parsed, sealed.first(parsed.body_size),
                                                 expected_context, "rewrap", true));
  MessageHeader header = parsed.header;
  KMS_RETURN_IF_ERROR(CheckContextForSeal(header.context));
  const WrappedKey& source = parsed.header.wrapped_keys[u.wrapped_index];
  header.wrapped_keys.clear();
  std::vector<const WrappingKey*> targets = {&options_.primary};
  for (const auto& k : options_.additional) targets.push_back(&k);
  for (const WrappingKey* target : targets) {
    KeyProvider& p = *target->provider;
    if (&p == u.provider) {
      ReEncryptRequest rreq;
      rreq.ciphertext_blob = internal::Bytes(source.ciphertext_blob);
      rreq.source_encryption_context = &header.context;
      rreq.destination_key_id = target->key_id;
      rreq.destination_encryption_context = &header.context;
      absl::StatusOr<ReEncryptResponse> rr = p.ReEncrypt(rreq);
      if (rr.ok() || !IsUnsupported(rr.status())) {
        Audit("rewrap", "ReEncrypt", p.provider_id(), rr.ok() ? rr->key_id : target->key_id,
              rr.ok() ? std::string_view(rr->key_version_id) : std::string_view(),
              rr.ok() ? std::string_view(rr->request_id) : std::string_view(), false, rr.ok(),
              header.message_id);
        if (!rr.ok()) return rr.status();
        header.wrapped_keys.push_back(WrappedKey{std::string(p.provider_id()), rr->key_id,
                                                 rr->key_version_id,
                                                 std::move(rr->ciphertext_blob)});
        continue;
      }
    }
    EncryptRequest ereq;
    ereq.key_id = target->key_id;
    ereq.plaintext = u.data_key.span();
    ereq.encryption_context = &header.context;
    absl::StatusOr<EncryptResponse> er = p.Encrypt(ereq);
    Audit("rewrap", "Encrypt", p.provider_id(), er.ok() ? er->key_id : target->key_id,
          er.ok() ? std::string_view(er->key_version_id) : std::string_view(),
          er.ok() ? std::string_view(er->request_id) : std::string_view(), false, er.ok(),
          header.message_id);
    if (!er.ok()) return er.status();
    header.wrapped_keys.push_back(WrappedKey{std::string(p.provider_id()), er->key_id,
                                             er->key_version_id, std::move(er->ciphertext_blob)});
  }
  u.data_key.Clear();
  KMS_RETURN_IF_ERROR(ValidateHeader(header));
  std::string out = SerializeHeaderBody(header);
  KMS_RETURN_IF_ERROR(ComputeHeaderTag(u.keys, internal::Bytes(out), absl::MakeSpan(header.header_tag)));
  out.append(reinterpret_cast<const char*>(header.header_tag.data()), kHeaderTagSize);
  if (old_header_size != nullptr) *old_header_size = parsed.header_size;
  return out;
}

}  // namespace envelope
}  // namespace kms_envelope
