// File descriptor ownership, full reads and writes, and the one errno -> absl::Status mapping.
//
//   KMS_ASSIGN_OR_RETURN(internal::Fd fd, internal::OpenFd(path, O_RDONLY | O_CLOEXEC));
//   uint8_t header[16];
//   KMS_ASSIGN_OR_RETURN(size_t n, internal::PreadFull(fd.get(), 0, absl::MakeSpan(header), path));
//   if (n < sizeof(header)) return absl::DataLossError("truncated header");  // caller decides
//
// Contract:
// - Fd owns one descriptor and closes it when destroyed; move-only; -1 means "none".
// - ReadFull / PreadFull retry EINTR and short transfers until `out` is full or the file ends.
//   They return the number of bytes read: fewer than out.size() means end of file, never an
//   error by itself. The caller knows what a short file means for its format (a truncated
//   header, a file that shrank, a legitimately short final frame) and picks the error.
// - WriteFull / PwriteFull write everything or fail; they retry EINTR and short writes.
// - ErrnoStatus(err, what, path) is the project's only errno -> status mapping; its message is
//   "<what> <path>: <strerror(err)>" (the path is omitted when empty). The codes:
//     EEXIST          -> AlreadyExists     (the caller asked for a new name and it is taken)
//     ENOENT, ENOTDIR -> NotFound          (a missing file is a user error, not a broken disk)
//     EACCES, EPERM   -> PermissionDenied
//     anything else   -> DataLoss          (the storage failed us)
//   Why DataLoss and not Internal for the rest: an EIO, ENOSPC or EBADF is a failure of the
//   storage the data lives on, not a bug in this library. The C API turns DataLoss into
//   KMSE_ERR_IO and the streaming API documents DataLoss for I/O errors, so one code keeps a
//   disk error looking like a disk error on every surface; Internal would report it as our bug.
// All functions are thread-compatible (no shared state beyond the descriptor they are given).
#ifndef KMS_ENVELOPE_INTERNAL_POSIX_IO_H_
#define KMS_ENVELOPE_INTERNAL_POSIX_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kms_envelope {
namespace internal {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.Release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the descriptor now (if any).
  void Reset();

 private:
  int fd_;
};

// The status for a failed system call; see the header comment for the mapping.
[[nodiscard]] absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path);

// open(2) with EINTR retried; the error goes through ErrnoStatus("cannot open", path).
[[nodiscard]] absl::StatusOr<Fd> OpenFd(const std::string& path, int flags, int mode = 0600);

[[nodiscard]] absl::StatusOr<size_t> ReadFull(int fd, absl::Span<uint8_t> out,
                                              std::string_view path);
[[nodiscard]] absl::StatusOr<size_t> PreadFull(int fd, uint64_t offset, absl::Span<uint8_t> out,
                                               std::string_view path);
[[nodiscard]] absl::Status WriteFull(int fd, absl::Span<const uint8_t> data, std::string_view path);
[[nodiscard]] absl::Status PwriteFull(int fd, uint64_t offset, absl::Span<const uint8_t> data,
                                      std::string_view path);

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_POSIX_IO_H_
