#include "kms_envelope/envelope/byte_stream.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace kms_envelope {
namespace envelope {

absl::StatusOr<size_t> ReadFull(ByteSource& source, absl::Span<uint8_t> out) {
  size_t total = 0;
  while (total < out.size()) {
    absl::StatusOr<size_t> n = source.Read(out.subspan(total));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    total += *n;
  }
  return total;
}

absl::StatusOr<size_t> FdSource::Read(absl::Span<uint8_t> out) {
  for (;;) {
    ssize_t n = ::read(fd_, out.data(), out.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    return absl::DataLossError(absl::StrCat("read failed: ", std::strerror(errno)));
  }
}

absl::Status FdSink::Write(absl::Span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(absl::StrCat("write failed: ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> IstreamSource::Read(absl::Span<uint8_t> out) {
  if (out.empty()) return size_t{0};
  in_.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  std::streamsize n = in_.gcount();
  if (in_.bad()) return absl::DataLossError("input stream read failed");
  return static_cast<size_t>(n);
}

absl::Status OstreamSink::Write(absl::Span<const uint8_t> data) {
  out_.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out_) return absl::DataLossError("output stream write failed");
  return absl::OkStatus();
}

absl::StatusOr<size_t> SpanSource::Read(absl::Span<uint8_t> out) {
  size_t n = std::min(out.size(), data_.size() - pos_);
  if (n > 0) std::memcpy(out.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

absl::Status StringSink::Write(absl::Span<const uint8_t> data) {
  out_->append(reinterpret_cast<const char*>(data.data()), data.size());
  return absl::OkStatus();
}

}  // namespace envelope
}  // namespace kms_envelope
