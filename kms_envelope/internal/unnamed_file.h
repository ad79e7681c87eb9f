// A file that has no name until it is complete, so a crash never leaves a partial one behind.
//
//   KMS_ASSIGN_OR_RETURN(UnnamedFile file, UnnamedFile::Create("/out", "report.txt"));
//   ... write(file.fd(), ...) ...
//   KMS_RETURN_IF_ERROR(file.Replace("/out/report.txt"));  // fsync, name it, fsync the directory
//   // or file.LinkAsNew(path): like O_EXCL, AlreadyExists when the name is taken.
//
// Why: a hidden temp file that is renamed when complete keeps readers from seeing a partial
// output, but a SIGKILL or power cut before the rename leaves the temp file behind, and nothing
// removes it: for `decrypt -o` that was a prefix of the plaintext, for the key store a spare copy
// of the root key. Linux's O_TMPFILE creates the file without a directory entry; the kernel frees
// it when the last descriptor closes, so a killed process leaves nothing.
//
// Contract:
// - Create makes the file in `directory` (same filesystem as the final name) with `mode`
//   (default 0600, applied with fchmod so the umask cannot narrow it into uselessness or the
//   caller's intent be changed). Where the filesystem has no O_TMPFILE (EOPNOTSUPP, EISDIR,
//   EINVAL), or /proc/self/fd is missing (needed to name the file later), it falls back to a
//   hidden named file `.<hint>.kmse-tmp-<random>`; anonymous() says which. The fallback is removed by the destructor unless it was named.
// - Replace(path): fsync, then the file appears at `path` in one step (rename), replacing what
//   was there; the directory is fsynced. Only a regular file is replaced: a device, FIFO,
//   socket, symlink or directory at `path` gets FailedPrecondition and stays untouched. With O_TMPFILE and no file at `path` it is linked
//   there directly. Otherwise it gets a hidden random name first and is renamed over `path`: a
//   kill in that window (microseconds) leaves that hidden name holding the complete file, never
//   a partial one.
// - LinkAsNew(path): fsync, then link to `path` only if nothing is there (AlreadyExists
//   otherwise, the existing file untouched); the directory is fsynced.
// - After a successful Replace or LinkAsNew the object is spent (fd() is -1). On failure the
//   file stays unnamed and is released by the destructor.
// - Not thread-safe; move-only.
#ifndef KMS_ENVELOPE_INTERNAL_UNNAMED_FILE_H_
#define KMS_ENVELOPE_INTERNAL_UNNAMED_FILE_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kms_envelope {
namespace internal {

// fsync(2) of a directory, so that a rename or link in it is durable. A filesystem that cannot
// fsync directories (EINVAL) counts as success.
[[nodiscard]] absl::Status FsyncDirectory(const std::string& directory);

class UnnamedFile {
 public:
  enum class Kind {
    kPreferAnonymous,  // O_TMPFILE where the filesystem supports it
    kNamedOnly,        // always the hidden named fallback (for tests of the fallback)
  };

  [[nodiscard]] static absl::StatusOr<UnnamedFile> Create(const std::string& directory,
                                                          std::string_view hint,
                                                          mode_t mode = 0600,
                                                          Kind kind = Kind::kPreferAnonymous);

  UnnamedFile(UnnamedFile&& other) noexcept;
  UnnamedFile& operator=(UnnamedFile&& other) noexcept;
  UnnamedFile(const UnnamedFile&) = delete;
  UnnamedFile& operator=(const UnnamedFile&) = delete;
  ~UnnamedFile();

  int fd() const { return fd_; }
  bool anonymous() const { return fd_ >= 0 && temp_path_.empty(); }

  [[nodiscard]] absl::Status Replace(const std::string& path);
  [[nodiscard]] absl::Status LinkAsNew(const std::string& path);

 private:
  UnnamedFile(int fd, std::string directory, std::string temp_path);
  absl::Status SyncForNaming();
  // Gives the anonymous file the name `path`; errno-style failure in the status.
  absl::Status LinkAnonymousTo(const std::string& path);
  void Release();

  int fd_ = -1;
  std::string directory_;
  std::string temp_path_;  // the named fallback's path; empty for O_TMPFILE
};

}  // namespace internal
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_INTERNAL_UNNAMED_FILE_H_
