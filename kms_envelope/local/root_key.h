// The key store's root key: the XChaCha20-Poly1305 key that seals keystore.bin, read from a
// 32-byte key file or derived from a passphrase with Argon2id.
//
//   KMS_ASSIGN_OR_RETURN(RootKey root, RootKey::New(passphrase_or_empty, "/dir/root.key",
//                                                   /*custom_key_file=*/false));
//   KMS_RETURN_IF_ERROR(root.ForExistingStore(view.header.kdf));   // before OpenStoreFile
//   KMS_RETURN_IF_ERROR(root.ForNewStore());                       // when there is no store
//   root.aead();  root.kdf();                                      // to seal the next write
//
// Key file: read (0600, exactly 32 bytes, a regular file) or, for a new store only, created
// from the kernel's random bytes as an unnamed file linked into place (never a partial file,
// never a spare copy; losing the creation race to another process reads the winner's file).
// A store that exists without its key file is refused rather than given a new root key.
// Passphrase: Argon2id with the store's salt and limits; limits read from a header are
// bounded before deriving (the header is only authenticated by the AEAD afterwards), and a
// derivation is reused while the parameters stay the same. A store of the other kind is
// refused with FailedPrecondition.
//
// Not thread safe: the store calls it under its write mutex (and, for a new key file, its
// cross-process file lock). Key material lives in SecretBytes / locked AeadKey memory.
#ifndef KMS_ENVELOPE_LOCAL_ROOT_KEY_H_
#define KMS_ENVELOPE_LOCAL_ROOT_KEY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/local/store_file.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace local {

// Argon2id parameters for new passphrase stores (recorded in the header, so they can change
// without breaking old stores).
inline constexpr uint64_t kArgon2OpsLimit = 3;
inline constexpr size_t kArgon2MemLimit = size_t{64} << 20;
// Bounds on the limits a header may ask for.
inline constexpr uint64_t kMaxArgon2OpsLimit = 16;
inline constexpr uint64_t kMaxArgon2MemLimit = uint64_t{1} << 30;
inline constexpr size_t kMaxPassphraseSize = 4096;

class RootKey {
 public:
  // `passphrase` empty: key-file mode with `key_file_path`. `custom_key_file`: the path was
  // given by the caller (not the store's default), so an empty file there is never replaced.
  [[nodiscard]] static absl::StatusOr<RootKey> New(std::string_view passphrase,
                                                   std::string key_file_path,
                                                   bool custom_key_file);
  RootKey(RootKey&&) = default;
  RootKey& operator=(RootKey&&) = default;

  bool uses_passphrase() const { return !passphrase_.empty(); }

  // Makes aead() the key that opens a store whose header carries `kdf`.
  [[nodiscard]] absl::Status ForExistingStore(const KdfParams& kdf);
  // Makes aead() usable for a store that does not exist yet (creating the key file, or
  // choosing a fresh salt), unless a key is already loaded.
  [[nodiscard]] absl::Status ForNewStore();

  // Valid after ForExistingStore / ForNewStore succeeded.
  const internal::AeadKey& aead() const { return *aead_; }
  const KdfParams& kdf() const { return kdf_; }
  bool loaded() const { return aead_ != nullptr; }

 private:
  RootKey(SecretBytes passphrase, std::string key_file_path, bool custom_key_file);
  absl::Status LoadOrCreateKeyFile(bool store_exists);
  absl::Status Derive(const KdfParams& kdf);
  absl::Status Install(const SecretBytes& key, const KdfParams& kdf);

  SecretBytes passphrase_;
  std::string key_file_path_;
  bool custom_key_file_;
  KdfParams kdf_;
  std::unique_ptr<internal::AeadKey> aead_;
};

}  // namespace local
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_LOCAL_ROOT_KEY_H_
