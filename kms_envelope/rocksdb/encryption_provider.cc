#include "kms_envelope/rocksdb/encryption_provider.h"

#include <cstring>
#include <utility>

#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

// RocksDB's view of one file's contents cipher. Encrypt/Decrypt are overridden directly (the
// base class would go block by block through EncryptBlock with a heap scratch per call).
class KmsCipherStream : public ::rocksdb::BlockAccessCipherStream {
 public:
  explicit KmsCipherStream(std::unique_ptr<FileStreamCipher> cipher)
      : cipher_(std::move(cipher)) {}

  size_t BlockSize() override { return cipher_->block_size(); }

  ::rocksdb::Status Encrypt(uint64_t file_offset, char* data, size_t size) override {
    return ApplyAt(file_offset, data, size);
  }
  ::rocksdb::Status Decrypt(uint64_t file_offset, char* data, size_t size) override {
    return ApplyAt(file_offset, data, size);
  }

 protected:
  void AllocateScratch(std::string&) override {}
  ::rocksdb::Status EncryptBlock(uint64_t block_index, char* data, char*) override {
    return ApplyAt(block_index * cipher_->block_size(), data, cipher_->block_size());
  }
  ::rocksdb::Status DecryptBlock(uint64_t block_index, char* data, char*) override {
    return ApplyAt(block_index * cipher_->block_size(), data, cipher_->block_size());
  }

 private:
  ::rocksdb::Status ApplyAt(uint64_t offset, char* data, size_t size) {
    absl::Status status =
        cipher_->Apply(offset, absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(data), size));
    if (!status.ok()) return ToRocksStatus(status, "kms_envelope RocksDB stream cipher");
    return ::rocksdb::Status::OK();
  }

  std::unique_ptr<FileStreamCipher> cipher_;
};

}  // namespace

::rocksdb::Status ToRocksStatus(const absl::Status& status, const std::string& context) {
  if (status.ok()) return ::rocksdb::Status::OK();
  const std::string message = std::string(status.message());
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return ::rocksdb::Status::IOError(context, message);
    case absl::StatusCode::kUnimplemented:
      return ::rocksdb::Status::NotSupported(context, message);
    default:
      return ::rocksdb::Status::Corruption(context, message);
  }
}

absl::StatusOr<std::shared_ptr<KmsEncryptionProvider>> KmsEncryptionProvider::New(
    std::shared_ptr<KeyProvider> provider, FileKeyManagerOptions options) {
  KMS_ASSIGN_OR_RETURN(std::unique_ptr<FileKeyManager> manager,
                       FileKeyManager::New(std::move(provider), std::move(options)));
  return std::make_shared<KmsEncryptionProvider>(std::move(manager));
}

KmsEncryptionProvider::KmsEncryptionProvider(std::unique_ptr<FileKeyManager> manager)
    : manager_(std::move(manager)) {}

::rocksdb::Status KmsEncryptionProvider::CreateNewPrefix(const std::string& fname, char* prefix,
                                                         size_t prefix_length) const {
  if (prefix_length != kFilePrefixSize) {
    return ::rocksdb::Status::InvalidArgument("kms_envelope RocksDB: unexpected prefix length");
  }
  absl::StatusOr<std::string> bytes = manager_->NewFilePrefix();
  if (!bytes.ok()) return ToRocksStatus(bytes.status(), fname);
  std::memcpy(prefix, bytes->data(), kFilePrefixSize);
  return ::rocksdb::Status::OK();
}

::rocksdb::Status KmsEncryptionProvider::AddCipher(const std::string&, const char*, size_t, bool) {
  return ::rocksdb::Status::NotSupported(
      "kms_envelope RocksDB: file keys come from the KeyProvider; raw cipher keys are not "
      "accepted");
}

::rocksdb::Status KmsEncryptionProvider::CreateCipherStream(
    const std::string& fname, const ::rocksdb::EnvOptions&, ::rocksdb::Slice& prefix,
    std::unique_ptr<::rocksdb::BlockAccessCipherStream>* result) {
  absl::StatusOr<OpenedFile> opened = manager_->OpenFilePrefix(absl::Span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size()));
  if (!opened.ok()) return ToRocksStatus(opened.status(), fname);
  *result = std::make_unique<KmsCipherStream>(std::move(opened->cipher));
  return ::rocksdb::Status::OK();
}

absl::StatusOr<std::unique_ptr<::rocksdb::Env>> NewKmsEncryptedEnv(
    std::shared_ptr<KeyProvider> provider, FileKeyManagerOptions options, ::rocksdb::Env* base) {
  KMS_ASSIGN_OR_RETURN(std::shared_ptr<KmsEncryptionProvider> encryption,
                       KmsEncryptionProvider::New(std::move(provider), std::move(options)));
  ::rocksdb::Env* env =
      ::rocksdb::NewEncryptedEnv(base != nullptr ? base : ::rocksdb::Env::Default(), encryption);
  if (env == nullptr) {
    return KmsError(kms_code::kInternalFailure, "rocksdb::NewEncryptedEnv failed");
  }
  return std::unique_ptr<::rocksdb::Env>(env);
}

}  // namespace rocksdb_encryption
}  // namespace kms_envelope
