#include "kms_envelope/cli/output_target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/cli/cli_common.h"
#include "kms_envelope/internal/strings.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace cli {
namespace {

absl::Status OutputError(const std::string& path, std::string_view why) {
  return KmsError(cli_code::kOutputPath,
                  absl::StrCat("-o \"", path, "\": ", absl::string_view(why.data(), why.size())));
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A new name: its directory must exist and be a directory.
absl::StatusOr<OutputPlan> PlanNewFile(OutputPlan plan) {
  struct stat dir;
  const std::string directory = DirectoryOf(plan.path);
  if (::stat(directory.c_str(), &dir) != 0) {
    return OutputError(plan.path, absl::StrCat("directory ", directory, ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(dir.st_mode)) return OutputError(plan.path, directory + " is not a directory");
  plan.kind = OutputPlan::Kind::kReplaceFile;
  plan.file_path = plan.path;
  return plan;
}

// Hops followed when looking for a /proc/<pid>/fd/N link (the kernel's own limit is 40).
constexpr int kMaxLinkHops = 40;

// The descriptor number when `path` (or a symlink it leads to, like /dev/stdout) is an entry of
// /proc/self/fd (also reached as /dev/fd/N or /proc/<our pid>/fd/N); -1 otherwise.
int OwnDescriptorLink(std::string path) {
  char own_fd_dir[64];
  std::snprintf(own_fd_dir, sizeof(own_fd_dir), "/proc/%d/fd", static_cast<int>(::getpid()));
  for (int hop = 0; hop < kMaxLinkHops; ++hop) {
    char dir[PATH_MAX];
    if (::realpath(DirectoryOf(path).c_str(), dir) == nullptr) return -1;
    const std::string name = BaseName(path);
    if (std::string(dir) == own_fd_dir) {
      const bool digits = !name.empty() && name.size() < 10 &&
                          name.find_first_not_of("0123456789") == std::string::npos;
      return digits ? std::atoi(name.c_str()) : -1;
    }
    char target[PATH_MAX];
    const ssize_t n = ::readlink(path.c_str(), target, sizeof(target) - 1);
    if (n <= 0) return -1;  // not a symlink: the chain ended elsewhere
    target[n] = '\0';
    path = target[0] == '/' ? std::string(target) : std::string(dir) + "/" + target;
  }
  return -1;
}

// What a symlink points to (followed like cp and dd do).
absl::StatusOr<OutputPlan> PlanSymlink(OutputPlan plan) {
  plan.descriptor = OwnDescriptorLink(plan.path);
  if (plan.descriptor >= 0) {
    plan.kind = OutputPlan::Kind::kInPlace;
    return plan;
  }
  struct stat target;
  if (::stat(plan.path.c_str(), &target) != 0) {
    return OutputError(plan.path, absl::StrCat("a symlink whose target cannot be used (",
                                               std::strerror(errno),
                                               "); not writing through a dangling symlink"));
  }
  if (S_ISDIR(target.st_mode)) return OutputError(plan.path, "a symlink to a directory");
  if (!S_ISREG(target.st_mode)) {
    plan.kind = OutputPlan::Kind::kInPlace;
    return plan;
  }
  char resolved[PATH_MAX];
  if (::realpath(plan.path.c_str(), resolved) == nullptr) {
    return OutputError(plan.path, absl::StrCat("cannot resolve the symlink: ", std::strerror(errno)));
  }
  plan.kind = OutputPlan::Kind::kReplaceFile;
  plan.file_path = resolved;
  plan.existed = true;
  plan.previous_mode = target.st_mode & 07777;
  return plan;
}

}  // namespace

absl::StatusOr<OutputPlan> PlanOutput(const std::string& path) {
  OutputPlan plan;
  plan.path = path;
  if (path == "-") return plan;
  if (path.empty()) return OutputError(path, "empty path (use - for stdout)");
  if (path.back() == '/') return OutputError(path, "names a directory; give a file name");
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return PlanNewFile(std::move(plan));
    return OutputError(path, std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode)) return PlanSymlink(std::move(plan));
  if (S_ISDIR(st.st_mode)) return OutputError(path, "is a directory; give a file name");
  if (S_ISREG(st.st_mode)) {
    plan.kind = OutputPlan::Kind::kReplaceFile;
    plan.file_path = path;
    plan.existed = true;
    plan.previous_mode = st.st_mode & 07777;
    return plan;
  }
  plan.kind = OutputPlan::Kind::kInPlace;  // device, FIFO, socket
  return plan;
}

CommandOutput::CommandOutput(CommandOutput&& other) noexcept
    : plan_(std::move(other.plan_)),
      file_(std::exchange(other.file_, std::nullopt)),
      fd_(std::exchange(other.fd_, -1)),
      owns_fd_(std::exchange(other.owns_fd_, false)),
      is_stdout_(other.is_stdout_) {}

CommandOutput::~CommandOutput() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

absl::StatusOr<CommandOutput> CommandOutput::Open(const OutputPlan& plan) {
  CommandOutput out;
  out.plan_ = plan;
  if (plan.kind == OutputPlan::Kind::kStdout) {
    out.fd_ = STDOUT_FILENO;
    out.is_stdout_ = true;
    return out;
  }
  if (plan.kind == OutputPlan::Kind::kInPlace) {
    // /dev/stdout and friends: our own descriptor, shared (offset, O_APPEND) as the shell set it
    // up. Else no O_CREAT, no O_TRUNC: the object is written as it is (a FIFO blocks for its
    // reader), and it must still not be a regular file.
    const bool own = plan.descriptor >= 0;
    const int fd = own ? ::fcntl(plan.descriptor, F_DUPFD_CLOEXEC, 3)
                       : ::open(plan.path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return OutputError(plan.path, std::strerror(errno));
    out.fd_ = fd;
    out.owns_fd_ = true;
    struct stat st;
    if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode) || (!own && S_ISREG(st.st_mode))) {
      return OutputError(plan.path, "changed into a regular file or directory while being opened");
    }
    struct stat out_st;
    out.is_stdout_ = ::fstat(STDOUT_FILENO, &out_st) == 0 && out_st.st_dev == st.st_dev &&
                     out_st.st_ino == st.st_ino;
    return out;
  }
  absl::StatusOr<internal::UnnamedFile> file = internal::UnnamedFile::Create(
      DirectoryOf(plan.file_path), BaseName(plan.file_path) + ".kmse-partial");
  if (!file.ok()) return OutputError(plan.path, internal::Sv(file.status().message()));
  out.file_.emplace(*std::move(file));
  out.fd_ = out.file_->fd();
  return out;
}

absl::Status CommandOutput::Commit() {
  if (plan_.kind == OutputPlan::Kind::kStdout) return absl::OkStatus();
  if (plan_.kind == OutputPlan::Kind::kInPlace) {
    const int fd = std::exchange(fd_, -1);
    owns_fd_ = false;
    if (::close(fd) != 0) {
      return KmsError(cli_code::kWriteFailed, absl::StrCat(plan_.path, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  absl::Status s = file_->Replace(plan_.file_path);
  fd_ = -1;
  if (!s.ok()) return OutputError(plan_.path, internal::Sv(s.message()));
  if (plan_.existed && plan_.previous_mode != 0600) {
    char modes[64];
    std::snprintf(modes, sizeof(modes), " had mode %04o; the new file has mode 0600",
                  static_cast<unsigned>(plan_.previous_mode));
    ReportNote(plan_.file_path + modes + " (outputs are written owner-only)");
  }
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace kms_envelope
