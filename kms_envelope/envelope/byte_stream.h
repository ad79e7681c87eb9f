// Byte sources and sinks for streaming seal/open: file descriptors and iostreams.
//
//   FdSource in(STDIN_FILENO);
//   OstreamSink out(std::cout);
//   KMS_RETURN_IF_ERROR(envelope->OpenStream(in, out, &context).status());
//
// Contract: Read returns the number of bytes read (0 only at end of input) and retries EINTR;
// Write writes everything or fails. Errors are absl::Status (DataLoss for I/O errors). Neither
// class owns its descriptor/stream. Not thread safe.
#ifndef KMS_ENVELOPE_ENVELOPE_BYTE_STREAM_H_
#define KMS_ENVELOPE_ENVELOPE_BYTE_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <istream>
#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kms_envelope {
namespace envelope {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to out.size() bytes; 0 means end of input.
  [[nodiscard]] virtual absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  [[nodiscard]] virtual absl::Status Write(absl::Span<const uint8_t> data) = 0;
};

// Reads until `out` is full or the input ends; returns the bytes read.
[[nodiscard]] absl::StatusOr<size_t> ReadFull(ByteSource& source, absl::Span<uint8_t> out);

class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override;

 private:
  int fd_;
};

class FdSink : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  absl::Status Write(absl::Span<const uint8_t> data) override;

 private:
  int fd_;
};

class IstreamSource : public ByteSource {
 public:
  explicit IstreamSource(std::istream& in) : in_(in) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override;

 private:
  std::istream& in_;
};

class OstreamSink : public ByteSink {
 public:
  explicit OstreamSink(std::ostream& out) : out_(out) {}
  absl::Status Write(absl::Span<const uint8_t> data) override;

 private:
  std::ostream& out_;
};

// An in-memory source over a caller-owned span (tests, small inputs).
class SpanSource : public ByteSource {
 public:
  explicit SpanSource(absl::Span<const uint8_t> data) : data_(data) {}
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override;

 private:
  absl::Span<const uint8_t> data_;
  size_t pos_ = 0;
};

// An in-memory sink appending to a caller-owned string.
class StringSink : public ByteSink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  absl::Status Write(absl::Span<const uint8_t> data) override;

 private:
  std::string* out_;
};

}  // namespace envelope
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ENVELOPE_BYTE_STREAM_H_
