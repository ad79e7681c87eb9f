// Envelope::OpenRandomAccess (envelope.h): a RangeReader that preads and opens only the frames
// a range touches.
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
#include "kms_envelope/envelope/frames.h"
#include "kms_envelope/envelope/message_keys.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/posix_io.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace envelope {
namespace {

absl::StatusOr<size_t> PreadFull(int fd, uint64_t offset, absl::Span<uint8_t> out) {
  return internal::PreadFull(fd, offset, out, "");
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
    size_t verified = 0;
    return OpenFrames(keys_, parsed_.header.message_id, f, index, absl::MakeConstSpan(cipher),
                      /*ends_message=*/final_frame, absl::MakeSpan(plain), &verified);
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
    return internal::ErrnoStatus(errno, "fstat failed", "");
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

}  // namespace envelope
}  // namespace kms_envelope
