#include "kms_envelope/internal/posix_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/strings.h"

namespace kms_envelope {
namespace internal {

void Fd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  const std::string message = path.empty()
                                  ? absl::StrCat(Av(what), ": ", std::strerror(err))
                                  : absl::StrCat(Av(what), " ", Av(path), ": ", std::strerror(err));
  if (err == EEXIST) return absl::AlreadyExistsError(message);
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::DataLossError(message);
}

absl::StatusOr<Fd> OpenFd(const std::string& path, int flags, int mode) {
  for (;;) {
    const int fd = ::open(path.c_str(), flags, mode);
    if (fd >= 0) return Fd(fd);
    if (errno != EINTR) return ErrnoStatus(errno, "cannot open", path);
  }
}

absl::StatusOr<size_t> ReadFull(int fd, absl::Span<uint8_t> out, std::string_view path) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "cannot read", path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::StatusOr<size_t> PreadFull(int fd, uint64_t offset, absl::Span<uint8_t> out,
                                 std::string_view path) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "cannot read", path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::Status WriteFull(int fd, absl::Span<const uint8_t> data, std::string_view path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "cannot write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status PwriteFull(int fd, uint64_t offset, absl::Span<const uint8_t> data,
                        std::string_view path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "cannot write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace kms_envelope
