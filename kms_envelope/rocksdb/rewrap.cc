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
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/posix_io.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

absl::Status PwriteFullAndSync(int fd, const std::string& bytes, off_t offset,
                               const std::string& path) {
  KMS_RETURN_IF_ERROR(internal::PwriteFull(fd, static_cast<uint64_t>(offset),
                                           internal::Bytes(bytes), path));
  if (::fdatasync(fd) != 0) return internal::ErrnoStatus(errno, "cannot sync", path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FileRewrapResult> RewrapFile(FileKeyManager& manager, const std::string& path,
                                            const RewrapOptions& options) {
  const internal::Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return FileRewrapResult::kVanished;
    return internal::ErrnoStatus(errno, "cannot open", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return internal::ErrnoStatus(errno, "cannot stat", path);
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) < kFilePrefixSize) {
    return FileRewrapResult::kNotEncrypted;
  }
  uint8_t prefix[kFilePrefixSize];
  KMS_ASSIGN_OR_RETURN(size_t got, internal::PreadFull(fd.get(), 0, absl::MakeSpan(prefix), path));
  if (got != sizeof(prefix)) return absl::OutOfRangeError(absl::StrCat("short read of ", path));
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
