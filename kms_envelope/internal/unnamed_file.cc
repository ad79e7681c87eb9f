#include "kms_envelope/internal/unnamed_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/posix_io.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/internal/strings.h"

namespace kms_envelope {
namespace internal {
namespace {

// Attempts at a fresh random name before giving up (each collision needs 2^64 luck or an
// attacker who can predict our CSPRNG).
constexpr int kNameAttempts = 8;

std::string RandomHiddenName(const std::string& directory, std::string_view hint) {
  uint8_t random[8];
  FillRandom(absl::MakeSpan(random));
  return absl::StrCat(directory, "/.", Av(hint), ".kmse-tmp-", HexEncode(absl::MakeConstSpan(random)));
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

absl::Status FsyncDirectory(const std::string& directory) {
  const int d = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return ErrnoStatus(errno, "cannot open directory", directory);
  const int rc = ::fsync(d);
  const int err = errno;
  ::close(d);
  // Some filesystems cannot fsync a directory (EINVAL): the rename is as durable as they allow.
  if (rc != 0 && err != EINVAL) return ErrnoStatus(err, "cannot fsync directory", directory);
  return absl::OkStatus();
}

UnnamedFile::UnnamedFile(int fd, std::string directory, std::string temp_path)
    : fd_(fd), directory_(std::move(directory)), temp_path_(std::move(temp_path)) {}

UnnamedFile::UnnamedFile(UnnamedFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      directory_(std::move(other.directory_)),
      temp_path_(std::exchange(other.temp_path_, std::string())) {}

UnnamedFile& UnnamedFile::operator=(UnnamedFile&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = std::exchange(other.fd_, -1);
    directory_ = std::move(other.directory_);
    temp_path_ = std::exchange(other.temp_path_, std::string());
  }
  return *this;
}

UnnamedFile::~UnnamedFile() { Release(); }

void UnnamedFile::Release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  temp_path_.clear();
}

absl::StatusOr<UnnamedFile> UnnamedFile::Create(const std::string& directory,
                                                std::string_view hint, mode_t mode, Kind kind) {
  const std::string dir = directory.empty() ? "." : directory;
  // Naming an O_TMPFILE file later needs /proc/self/fd (or CAP_DAC_READ_SEARCH): without /proc
  // (some chroots and sandboxes) use the named fallback from the start rather than fail at the
  // end with the whole output written.
  if (kind == Kind::kPreferAnonymous && ::access("/proc/self/fd", F_OK) == 0) {
    const int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (fd >= 0) {
      ::fchmod(fd, mode);
      return UnnamedFile(fd, dir, std::string());
    }
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      return ErrnoStatus(errno, "cannot create a file in", dir);
    }
  }
  for (int attempt = 0; attempt < kNameAttempts; ++attempt) {
    std::string temp = RandomHiddenName(dir, hint);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd >= 0) {
      ::fchmod(fd, mode);
      return UnnamedFile(fd, dir, std::move(temp));
    }
    if (errno != EEXIST) return ErrnoStatus(errno, "cannot create a file in", dir);
  }
  return absl::DataLossError(absl::StrCat("cannot find a free temporary name in ", dir));
}

absl::Status UnnamedFile::SyncForNaming() {
  if (fd_ < 0) return absl::FailedPreconditionError("file already named or released");
  if (::fsync(fd_) != 0) {
    return ErrnoStatus(errno, "cannot fsync", temp_path_.empty() ? directory_ : temp_path_);
  }
  return absl::OkStatus();
}

absl::Status UnnamedFile::LinkAnonymousTo(const std::string& path) {
  char proc_path[64];
  std::snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd_);
  if (::linkat(AT_FDCWD, proc_path, AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
    return absl::OkStatus();
  }
  int err = errno;
  if (err == ENOENT && ::access("/proc/self/fd", F_OK) != 0) {
    // No /proc: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH but is the only other way.
    if (::linkat(fd_, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH) == 0) return absl::OkStatus();
    err = errno;
  }
  return ErrnoStatus(err, "cannot name the file", path);
}

absl::Status UnnamedFile::LinkAsNew(const std::string& path) {
  if (absl::Status s = SyncForNaming(); !s.ok()) return s;
  if (temp_path_.empty()) {
    if (absl::Status s = LinkAnonymousTo(path); !s.ok()) return s;
  } else if (::link(temp_path_.c_str(), path.c_str()) != 0) {
    return ErrnoStatus(errno, "cannot name the file", path);
  }
  Release();  // closes; unlinks the fallback's temp name (the file lives on at `path`)
  return FsyncDirectory(DirectoryOf(path));
}

absl::Status UnnamedFile::Replace(const std::string& path) {
  if (absl::Status s = SyncForNaming(); !s.ok()) return s;
  // Only a regular file (or nothing) is ever replaced: renaming over a device node, FIFO,
  // symlink or directory would swap out something that is not ours to replace.
  struct stat existing;
  if (::lstat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("not replacing ", path, ": it is not a regular file"));
  }
  bool hidden_here = false;  // the anonymous file got a hidden name below, for the rename
  if (temp_path_.empty()) {
    // Nothing at `path` yet: one link, no intermediate name at all.
    absl::Status direct = LinkAnonymousTo(path);
    if (direct.ok()) {
      Release();
      return FsyncDirectory(DirectoryOf(path));
    }
    if (!absl::IsAlreadyExists(direct)) return direct;
    // Something is there: link under a hidden name, then rename over it like the fallback.
    const std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    absl::Status linked;
    for (int attempt = 0; attempt < kNameAttempts; ++attempt) {
      temp_path_ = RandomHiddenName(DirectoryOf(path), base);
      linked = LinkAnonymousTo(temp_path_);
      if (!absl::IsAlreadyExists(linked)) break;
    }
    if (!linked.ok()) {
      temp_path_.clear();
      return linked;
    }
    hidden_here = true;
  }
  if (::rename(temp_path_.c_str(), path.c_str()) != 0) {
    const int err = errno;
    if (hidden_here) {  // back to unnamed: the hidden name must not outlive this call
      ::unlink(temp_path_.c_str());
      temp_path_.clear();
    }
    return ErrnoStatus(err, "cannot rename onto", path);
  }
  temp_path_.clear();  // the name moved to `path`: do not unlink it
  Release();
  return FsyncDirectory(DirectoryOf(path));
}

}  // namespace internal
}  // namespace kms_envelope
