#include "kms_envelope/local/store_persistence.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/unnamed_file.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/store_document.h"
#include "kms_envelope/local/store_file.h"
#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace local {

Fingerprint Fingerprint::Of(const struct stat& st) {
  Fingerprint f;
  f.exists = true;
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  f.size = st.st_size;
  f.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return f;
}

StorePersistence::Lock::~Lock() {
  if (fd_.valid()) ::flock(fd_.get(), LOCK_UN);
}

StorePersistence::StorePersistence(std::string directory, RootKey root_key)
    : directory_(std::move(directory)), root_(std::move(root_key)) {
  const std::filesystem::path dir(directory_);
  store_path_ = (dir / kStoreFileName).string();
  lock_path_ = (dir / kLockFileName).string();
}

absl::StatusOr<std::unique_ptr<StorePersistence>> StorePersistence::Open(
    const std::string& directory, RootKey root_key) {
  if (directory.empty()) {
    return KmsError(kms_code::kInvalidParameter, "key store directory is required");
  }
  std::error_code ec;
  const std::filesystem::path dir(directory);
  if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return internal::ErrnoStatus(errno, "cannot create directory", directory);
  }
  return std::unique_ptr<StorePersistence>(
      new StorePersistence(directory, std::move(root_key)));
}

absl::StatusOr<StorePersistence::Lock> StorePersistence::LockExclusive() const {
  internal::Fd fd(::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return internal::ErrnoStatus(errno, "cannot open lock file", lock_path_);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return internal::ErrnoStatus(errno, "cannot lock", lock_path_);
  }
  return Lock(std::move(fd));
}

absl::Status StorePersistence::WithPath(const absl::Status& status) const {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(store_path_, ": ", status.message()));
}

absl::StatusOr<std::unique_ptr<State>> StorePersistence::Read(const State* previous) {
  internal::Fd fd(::open(store_path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno != ENOENT) return internal::ErrnoStatus(errno, "cannot open key store", store_path_);
    KMS_RETURN_IF_ERROR(root_.ForNewStore());
    loaded_ = Fingerprint{};
    return std::make_unique<State>();
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return internal::ErrnoStatus(errno, "cannot stat", store_path_);
  absl::StatusOr<std::unique_ptr<State>> state = ReadFile(fd.get(), st, previous);
  if (!state.ok()) return WithPath(state.status());
  loaded_ = Fingerprint::Of(st);
  return state;
}

absl::StatusOr<std::unique_ptr<State>> StorePersistence::ReadFile(int fd, const struct stat& st,
                                                                  const State* previous) {
  if (!S_ISREG(st.st_mode)) return absl::DataLossError("not a regular file");
  // Bounded before reading: ParseStoreFile refuses the same sizes, but only after allocation.
  if (static_cast<uint64_t>(st.st_size) > kMaxStoreFileSize) {
    return absl::DataLossError(absl::StrCat("key store file is larger than ", kMaxStoreFileSize,
                                            " bytes; refusing to load it"));
  }
  std::vector<uint8_t> file(static_cast<size_t>(st.st_size));
  KMS_ASSIGN_OR_RETURN(size_t n, internal::ReadFull(fd, absl::MakeSpan(file), store_path_));
  if (n != file.size()) return absl::DataLossError("key store file shrank while being read");
  KMS_ASSIGN_OR_RETURN(StoreFileView view, ParseStoreFile(file));
  KMS_RETURN_IF_ERROR(root_.ForExistingStore(view.header.kdf));
  KMS_ASSIGN_OR_RETURN(SecretBytes document, OpenStoreFile(root_.aead(), view));
  return ParseDocument(document.span(), previous);
}

absl::StatusOr<std::unique_ptr<State>> StorePersistence::ReadIfChanged(const State* previous) {
  struct stat st;
  Fingerprint now;
  if (::stat(store_path_.c_str(), &st) == 0) {
    now = Fingerprint::Of(st);
  } else if (errno != ENOENT) {
    return internal::ErrnoStatus(errno, "cannot stat", store_path_);
  }
  if (now == loaded_) return std::unique_ptr<State>();
  return Read(previous);
}

absl::Status StorePersistence::Write(const State& state) {
  if (!root_.loaded()) return absl::InternalError("no root key");
  std::vector<uint8_t> file;
  {
    KMS_ASSIGN_OR_RETURN(SecretBytes document, SerializeDocument(state));
    KMS_ASSIGN_OR_RETURN(file, SealStoreFile(root_.aead(), root_.kdf(), document.span()));
  }
  // Unnamed until complete (O_TMPFILE): a kill mid-write leaves no stray file behind.
  absl::StatusOr<internal::UnnamedFile> out =
      internal::UnnamedFile::Create(directory_, kStoreFileName, 0600);
  if (!out.ok()) {
    return absl::InternalError(absl::StrCat("cannot create: ", out.status().message()));
  }
  KMS_RETURN_IF_ERROR(internal::WriteFull(out->fd(), file, store_path_));
  if (absl::Status w = out->Replace(store_path_); !w.ok()) {
    return absl::InternalError(w.message());
  }
  struct stat st;
  if (::stat(store_path_.c_str(), &st) != 0) {
    return internal::ErrnoStatus(errno, "cannot stat", store_path_);
  }
  loaded_ = Fingerprint::Of(st);
  return absl::OkStatus();
}

}  // namespace local
}  // namespace kms_envelope
