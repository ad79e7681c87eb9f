#include "kms_envelope/local/root_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/posix_io.h"
#include "kms_envelope/internal/random.h"
#include "kms_envelope/internal/unnamed_file.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/status_macros.h"
#include "sodium.h"

namespace kms_envelope {
namespace local {
namespace {

std::string ParentDirectory(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// Writes a fresh random root key to `path` without ever exposing a partial file: an unnamed
// file (O_TMPFILE, 0600) + fsync, then link(2) to `path`, which fails with EEXIST like O_EXCL.
// A kill at any point leaves either no file or the complete key at `path`, never a spare copy
// of the key under another name. False (key untouched) when another process created `path`
// first: read theirs.
absl::StatusOr<bool> CreateKeyFile(const std::string& path, SecretBytes* key) {
  KMS_ASSIGN_OR_RETURN(SecretBytes fresh, SecretBytes::New(internal::kAeadKeySize));
  internal::FillRandomFromKernel(fresh.mutable_span());
  absl::StatusOr<internal::UnnamedFile> out =
      internal::UnnamedFile::Create(ParentDirectory(path), "root.key", 0600);
  if (!out.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot create root key file: ", out.status().message()));
  }
  KMS_RETURN_IF_ERROR(internal::WriteFull(out->fd(), fresh.span(), path));
  absl::Status linked = out->LinkAsNew(path);
  if (absl::IsAlreadyExists(linked)) return false;
  if (!linked.ok()) {
    return absl::InternalError(absl::StrCat("cannot create root key file: ", linked.message()));
  }
  *key = std::move(fresh);
  return true;
}

absl::Status CheckKeyFile(const struct stat& st, const std::string& path) {
  if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(internal::kAeadKeySize)) {
    return absl::FailedPreconditionError(
        absl::StrCat("root key file ", path, " must be a regular file of exactly 32 bytes"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("root key file ", path, " is accessible by group or others (chmod 600)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretBytes> ReadKeyFile(int fd, const std::string& path) {
  KMS_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::New(internal::kAeadKeySize));
  KMS_ASSIGN_OR_RETURN(size_t n, internal::ReadFull(fd, key.mutable_span(), path));
  if (n != key.size()) return absl::DataLossError(absl::StrCat("unexpected end of ", path));
  return key;
}

}  // namespace

absl::StatusOr<RootKey> RootKey::New(std::string_view passphrase, std::string key_file_path,
                                     bool custom_key_file) {
  if (passphrase.size() > kMaxPassphraseSize) {
    return KmsError(kms_code::kInvalidParameter, "passphrase is too long");
  }
  SecretBytes secret;
  if (!passphrase.empty()) {
    KMS_ASSIGN_OR_RETURN(secret, SecretBytes::CopyFrom(internal::Bytes(passphrase)));
  }
  return RootKey(std::move(secret), std::move(key_file_path), custom_key_file);
}

RootKey::RootKey(SecretBytes passphrase, std::string key_file_path, bool custom_key_file)
    : passphrase_(std::move(passphrase)),
      key_file_path_(std::move(key_file_path)),
      custom_key_file_(custom_key_file) {}

absl::Status RootKey::ForExistingStore(const KdfParams& kdf) {
  if (kdf.kind == RootKeyKind::kArgon2id) {
    if (!uses_passphrase()) {
      return absl::FailedPreconditionError("key store is protected by a passphrase; none was given");
    }
    return Derive(kdf);
  }
  if (uses_passphrase()) {
    return absl::FailedPreconditionError(
        "key store is protected by a root key file, not a passphrase");
  }
  return loaded() ? absl::OkStatus() : LoadOrCreateKeyFile(/*store_exists=*/true);
}

absl::Status RootKey::ForNewStore() {
  if (loaded()) return absl::OkStatus();
  if (!uses_passphrase()) return LoadOrCreateKeyFile(/*store_exists=*/false);
  KdfParams kdf;
  kdf.kind = RootKeyKind::kArgon2id;
  kdf.opslimit = kArgon2OpsLimit;
  kdf.memlimit = kArgon2MemLimit;
  internal::FillRandomFromKernel(absl::MakeSpan(kdf.salt));
  return Derive(kdf);
}

absl::Status RootKey::LoadOrCreateKeyFile(bool store_exists) {
  const std::string& path = key_file_path_;
  SecretBytes key;
  for (int attempt = 0; key.empty(); ++attempt) {
    if (attempt == 3) {
      return absl::InternalError(absl::StrCat("root key file ", path, " keeps changing"));
    }
    internal::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid() && errno != ENOENT) {
      return absl::FailedPreconditionError(
          internal::ErrnoStatus(errno, "cannot open root key file", path).message());
    }
    if (!fd.valid()) {
      if (store_exists) {
        return absl::FailedPreconditionError(absl::StrCat(
            "root key file ", path, " is missing but the key store exists; refusing to create "
            "a new root key (the store would be unreadable)"));
      }
      KMS_RETURN_IF_ERROR(CreateKeyFile(path, &key).status());
      continue;  // created (the loop ends) or lost a creation race: read the winner's file
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return internal::ErrnoStatus(errno, "cannot stat", path);
    if (S_ISREG(st.st_mode) && st.st_size == 0 && !store_exists && !custom_key_file_) {
      // An empty root.key and no store: left by a crash of a writer that created the file in
      // place before writing it. No key was ever in it and nothing was encrypted under it, so
      // replace it. Only for the default path: the store's file lock (held here) covers it,
      // so no other process is creating it at the same time.
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return internal::ErrnoStatus(errno, "cannot remove empty root key file", path);
      }
      continue;
    }
    KMS_RETURN_IF_ERROR(CheckKeyFile(st, path));
    KMS_ASSIGN_OR_RETURN(key, ReadKeyFile(fd.get(), path));
  }
  return Install(key, KdfParams{});
}

absl::Status RootKey::Derive(const KdfParams& kdf) {
  if (loaded() && kdf_ == kdf) return absl::OkStatus();
  if (kdf.opslimit < crypto_pwhash_OPSLIMIT_MIN || kdf.opslimit > kMaxArgon2OpsLimit ||
      kdf.memlimit < crypto_pwhash_MEMLIMIT_MIN || kdf.memlimit > kMaxArgon2MemLimit) {
    return absl::DataLossError("key store header has out-of-range Argon2id limits");
  }
  KMS_ASSIGN_OR_RETURN(SecretBytes key, SecretBytes::New(internal::kAeadKeySize));
  if (crypto_pwhash(key.mutable_data(), key.size(),
                    reinterpret_cast<const char*>(passphrase_.data()), passphrase_.size(),
                    kdf.salt.data(), kdf.opslimit, static_cast<size_t>(kdf.memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("Argon2id derivation failed (out of memory?)");
  }
  return Install(key, kdf);
}

absl::Status RootKey::Install(const SecretBytes& key, const KdfParams& kdf) {
  KMS_ASSIGN_OR_RETURN(internal::AeadKey aead,
                       internal::AeadKey::New(internal::AeadAlgorithm::kXChaCha20Poly1305,
                                              key.span()));
  aead_ = std::make_unique<internal::AeadKey>(std::move(aead));
  kdf_ = kdf;
  return absl::OkStatus();
}

}  // namespace local
}  // namespace kms_envelope
