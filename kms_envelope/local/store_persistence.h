// Where a local key store lives on disk and how it gets there: the directory, the
// cross-process lock, reading (with the root key) and atomically replacing `keystore.bin`,
// and noticing when another process changed it.
//
//   KMS_ASSIGN_OR_RETURN(auto files, StorePersistence::Open(directory, std::move(root_key)));
//   KMS_ASSIGN_OR_RETURN(StorePersistence::Lock lock, files->LockExclusive());
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<State> state, files->Read(previous));
//   ... mutate ...
//   KMS_RETURN_IF_ERROR(files->Write(*state));
//   // Elsewhere, without the lock: null when nothing changed since the last Read or Write.
//   KMS_ASSIGN_OR_RETURN(std::unique_ptr<State> fresh, files->ReadIfChanged(current));
//
// Contract:
// - Lock: flock(LOCK_EX) on `<directory>/keystore.lock`; every writer in every process holds
//   it for lock -> read -> mutate -> write, so no change is lost.
// - Read: a missing store file is an empty store (and the root key is created or derived for
//   a new store); otherwise the file is bounded by fstat before it is read, parsed
//   (store_file.h), authenticated under the root key and validated (store_document.h).
//   Anything wrong is refused with DataLoss / FailedPrecondition naming the path, and the file
//   is never modified.
// - Write: the whole file goes to an unnamed file (O_TMPFILE) that is fsynced and renamed
//   over keystore.bin, then the directory is fsynced: a crash leaves the old or the new file,
//   never a partial one.
// - Change detection: the fingerprint (device, inode, size, mtime in ns) of what was last
//   read or written; a rename always changes the inode, so a replaced file is never missed.
// Not thread safe: LocalKeyStore calls it under its write mutex.
#ifndef KMS_ENVELOPE_LOCAL_STORE_PERSISTENCE_H_
#define KMS_ENVELOPE_LOCAL_STORE_PERSISTENCE_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/internal/posix_io.h"
#include "kms_envelope/local/root_key.h"
#include "kms_envelope/local/store_state.h"

namespace kms_envelope {
namespace local {

inline constexpr char kStoreFileName[] = "keystore.bin";
inline constexpr char kLockFileName[] = "keystore.lock";
inline constexpr char kRootKeyFileName[] = "root.key";

struct Fingerprint {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const Fingerprint& o) const {
    return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size &&
           mtime_ns == o.mtime_ns;
  }
  static Fingerprint Of(const struct stat& st);
};

class StorePersistence {
 public:
  // Holds the cross-process lock until destroyed.
  class Lock {
   public:
    explicit Lock(internal::Fd fd) : fd_(std::move(fd)) {}
    Lock(Lock&&) = default;
    ~Lock();

   private:
    internal::Fd fd_;
  };

  // Creates `directory` (0700, and its parents) if missing. `root_key` names its key file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<StorePersistence>> Open(
      const std::string& directory, RootKey root_key);

  [[nodiscard]] absl::StatusOr<Lock> LockExclusive() const;

  // `previous` (may be null) lends unchanged version keys (store_document.h).
  [[nodiscard]] absl::StatusOr<std::unique_ptr<State>> Read(const State* previous);
  [[nodiscard]] absl::StatusOr<std::unique_ptr<State>> ReadIfChanged(const State* previous);
  [[nodiscard]] absl::Status Write(const State& state);

  const std::string& directory() const { return directory_; }

 private:
  StorePersistence(std::string directory, RootKey root_key);
  absl::StatusOr<std::unique_ptr<State>> ReadFile(int fd, const struct stat& st,
                                                  const State* previous);
  absl::Status WithPath(const absl::Status& status) const;

  std::string directory_, store_path_, lock_path_;
  RootKey root_;
  Fingerprint loaded_;
};

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_STORE_PERSISTENCE_H_
