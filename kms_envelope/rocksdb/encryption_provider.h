// RocksDB encryption at rest over KMS envelope data keys.
//
//   // A KeyProvider: LocalKeyProvider, RemoteKeyProvider, a CachingKeyProvider over either.
//   std::shared_ptr<KeyProvider> kms = ...;
//   FileKeyManagerOptions key_options;
//   key_options.key_id = "alias/rocksdb";
//   KMS_ASSIGN_OR_RETURN(std::shared_ptr<KmsEncryptionProvider> provider,
//                        KmsEncryptionProvider::New(kms, key_options));
//   std::unique_ptr<rocksdb::Env> env(rocksdb::NewEncryptedEnv(rocksdb::Env::Default(), provider));
//   rocksdb::Options options;
//   options.env = env.get();                 // must outlive the DB
//   rocksdb::DB::Open(options, path, &db);
//
// Every file RocksDB creates (SST, WAL, MANIFEST, CURRENT, OPTIONS, info LOG, ...) gets a fresh
// 32-byte data key from the KeyProvider (GenerateDataKey). The first kFilePrefixSize (4096)
// bytes of the file hold the header with the wrapped key (CiphertextBlob) and the cipher
// parameters, authenticated by an HMAC keyed from the data key (file_header.h); the rest is
// the file contents under a seekable stream cipher (AES-256-CTR by default, or XChaCha20).
// Opening a file unwraps its key through the provider (FileKeyManager's unwrap cache keeps
// this off the KMS for recently used files).
//
// What this mode does NOT authenticate: the file contents. A stream cipher is malleable: an
// attacker who can write the files can flip chosen plaintext bits without knowing the key, and
// the cipher itself will not notice. RocksDB's own block checksums (CRC32c/xxHash, on by default
// for SST blocks, WAL records and MANIFEST records) are the integrity layer: they catch
// accidental corruption and most blind tampering, but they are not keyed, so a targeted
// edit that also fixes up the checksum is not detected. It also does not hide file sizes,
// names, or access patterns. Two files bypass the encrypted file system in RocksDB 7.8: the
// empty LOCK file and, unless UseEncryptedInfoLog (encrypted_info_log.h) is called, the info log
// (LOG, written by the base Env's logger; it can hold keys in hex: manual compactions log their
// range). See docs/rocksdb.md.
//
// Errors surface as rocksdb::Status::Corruption (header problems, keys the provider refuses to
// unwrap) or rocksdb::Status::IOError (KMS unreachable / throttled), with the KMS code and a
// plain reason in the message; no key material is ever in a message.
//
// Thread safety: RocksDB calls the provider and the cipher streams from many threads; both are
// safe for that. The KeyProvider must be thread safe (every KeyProvider is).
// Exceptions never propagate into RocksDB (nothing here throws; allocation failure aborts).
#ifndef KMS_ENVELOPE_ROCKSDB_ENCRYPTION_PROVIDER_H_
#define KMS_ENVELOPE_ROCKSDB_ENCRYPTION_PROVIDER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/rocksdb/file_key_manager.h"
#include "rocksdb/env.h"
#include "rocksdb/env_encryption.h"
#include "rocksdb/status.h"

namespace kms_envelope {
namespace rocksdb_encryption {

class KmsEncryptionProvider : public ::rocksdb::EncryptionProvider {
 public:
  static const char* kClassName() { return "KmsEnvelopeEncryptionProvider"; }

  [[nodiscard]] static absl::StatusOr<std::shared_ptr<KmsEncryptionProvider>> New(
      std::shared_ptr<KeyProvider> provider, FileKeyManagerOptions options);
  explicit KmsEncryptionProvider(std::unique_ptr<FileKeyManager> manager);

  const char* Name() const override { return kClassName(); }
  size_t GetPrefixLength() const override { return kFilePrefixSize; }
  ::rocksdb::Status CreateNewPrefix(const std::string& fname, char* prefix,
                                    size_t prefix_length) const override;
  // Keys come from the KeyProvider; raw cipher keys are refused (NotSupported).
  ::rocksdb::Status AddCipher(const std::string& descriptor, const char* cipher, size_t len,
                              bool for_write) override;
  ::rocksdb::Status CreateCipherStream(
      const std::string& fname, const ::rocksdb::EnvOptions& options, ::rocksdb::Slice& prefix,
      std::unique_ptr<::rocksdb::BlockAccessCipherStream>* result) override;
  std::string GetMarker() const override { return std::string(kFileHeaderMagic); }

  FileKeyManager& manager() const { return *manager_; }

 private:
  std::unique_ptr<FileKeyManager> manager_;
};

// absl::Status -> rocksdb::Status (Corruption / IOError / InvalidArgument / NotSupported), with
// `context` (e.g. the file name) in front of the message.
::rocksdb::Status ToRocksStatus(const absl::Status& status, const std::string& context);

// Convenience: an encrypted Env over `base` (Env::Default() when null). The caller owns the Env
// and must keep it alive while any DB uses it.
[[nodiscard]] absl::StatusOr<std::unique_ptr<::rocksdb::Env>> NewKmsEncryptedEnv(
    std::shared_ptr<KeyProvider> provider, FileKeyManagerOptions options,
    ::rocksdb::Env* base = nullptr);

}  // namespace rocksdb_encryption
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ROCKSDB_ENCRYPTION_PROVIDER_H_
