#include "kms_envelope/rocksdb/rewrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::Status(absl::StatusCode::kInternal,
                      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status PreadFull(int fd, uint8_t* buf, size_t n, off_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, offset + static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("cannot read", path);
    if (r == 0) return absl::OutOfRangeError(absl::StrCat("short read of ", path));
    done += static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

absl::Status PwriteFullAndSync(int fd, const std::string& bytes, off_t offset,
                               const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                         offset + static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Errno("cannot write the header of", path);
    done += static_cast<size_t>(w);
  }
  if (::fdatasync(fd) != 0) return Errno("cannot sync", path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FileRewrapResult> RewrapFile(FileKeyManager& manager, const std::string& path,
                                            const RewrapOptions& options) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return FileRewrapResult::kVanished;
    return Errno("cannot open", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno("cannot stat", path);
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) < kFilePrefixSize) {
    return FileRewrapResult::kNotEncrypted;
  }
  uint8_t prefix[kFilePrefixSize];
  KMS_RETURN_IF_ERROR(PreadFull(fd.get(), prefix, sizeof(prefix), 0, path));
  const absl::Span<const uint8_t> view(prefix, sizeof(prefix));
  if (!HasFileHeaderMagic(view.subspan(0, kFileHeaderSlotSize)) &&
      !HasFileHeaderMagic(view.subspan(kFileHeaderSlotSize, kFileHeaderSlotSize))) {
    return FileRewrapResult::kNotEncrypted;
  }
  absl::StatusOr<RewrapPlan> plan = manager.PlanRewrap(view, options.destination_key_id);
  if (!plan.ok()) {
    // Name the file, keep the KMS code (payload).
    absl::Status annotated(plan.status().code(), absl::StrCat(path, ": ", plan.status().message()));
    plan.status().ForEachPayload([&annotated](absl::string_view url, const absl::Cord& payload) {
      annotated.SetPayload(url, payload);
    });
    return annotated;
  }
  if (plan->up_to_date) return FileRewrapResult::kUpToDate;
  const size_t first = plan->first_slot;
  const size_t second = (first + 1) % kFileHeaderSlotCount;
  KMS_RETURN_IF_ERROR(PwriteFullAndSync(fd.get(), plan->new_slot,
                                        static_cast<off_t>(first * kFileHeaderSlotSize), path));
  KMS_RETURN_IF_ERROR(PwriteFullAndSync(fd.get(), plan->new_slot,
                                        static_cast<off_t>(second * kFileHeaderSlotSize), path));
  return FileRewrapResult::kRewrapped;
}

absl::StatusOr<RewrapReport> RewrapDirectory(FileKeyManager& manager, const std::string& dir,
                                             const RewrapOptions& options) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) names.push_back(it->path().filename().string());
  }
  if (ec) {
    return absl::NotFoundError(absl::StrCat("cannot list ", dir, ": ", ec.message()));
  }
  std::sort(names.begin(), names.end());
  RewrapReport report;
  for (const std::string& name : names) {
    KMS_ASSIGN_OR_RETURN(FileRewrapResult result,
                         RewrapFile(manager, (std::filesystem::path(dir) / name).string(), options));
    switch (result) {
      case FileRewrapResult::kRewrapped:
        ++report.files_rewrapped;
        break;
      case FileRewrapResult::kUpToDate:
        ++report.files_up_to_date;
        break;
      case FileRewrapResult::kNotEncrypted:
        report.not_encrypted.push_back(name);
        break;
      case FileRewrapResult::kVanished:
        report.vanished.push_back(name);
        break;
    }
  }
  return report;
}

}  // namespace rocksdb_encryption
}  // namespace kms_envelope
