// A seekable stream cipher for file contents: XOR of a keystream addressed by byte offset.
//
//   KMS_ASSIGN_OR_RETURN(auto cipher, FileStreamCipher::New(FileCipherId::kAes256Ctr,
//                                                           std::move(stream_key), file_salt));
//   KMS_RETURN_IF_ERROR(cipher->Apply(offset, absl::MakeSpan(buffer)));  // encrypt == decrypt
//
// Ciphers (both keyed by a per-file 32-byte stream key, see file_header.h):
// - AES-256-CTR: counter block = file_salt[0..8) || u64 block index (big endian), 16-byte
//   blocks. Runs on intel-ipsec-mb (round keys expanded once per file into SecretBytes; each
//   call is one cipher-burst call on this thread's manager, the jobs on the caller's stack)
//   where the AEAD default is ipsec-mb, else on OpenSSL EVP (a pool
//   of contexts keeps the key schedule expanded once per file). Both produce the same stream
//   (tests/rocksdb/file_stream_cipher_test.cc).
// - XChaCha20 (libsodium crypto_stream_xchacha20_xor_ic): nonce = file_salt[8..32), the 64-bit
//   block counter = offset / 64.
//
// Contract:
// - Confidentiality only: the output is malleable (flipping a ciphertext bit flips the same
//   plaintext bit). Integrity must come from the layer above (RocksDB's block checksums).
// - Never apply the keystream to two different plaintexts at one offset: a file is written
//   once, append-only (the RocksDB write pattern); in-place rewrites leak the XOR of the two
//   plaintexts.
// - Offsets up to kMaxFileStreamOffset; larger ones are rejected (no counter wrap-around).
// - Thread safety: Apply may be called concurrently (RocksDB reads a file from many threads).
#ifndef KMS_ENVELOPE_ROCKSDB_FILE_STREAM_CIPHER_H_
#define KMS_ENVELOPE_ROCKSDB_FILE_STREAM_CIPHER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kms_envelope/rocksdb/file_header.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace rocksdb_encryption {

// 2^62 bytes: far beyond any file, and the block counters can never wrap.
inline constexpr uint64_t kMaxFileStreamOffset = uint64_t{1} << 62;

class FileStreamCipher {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<FileStreamCipher>> New(
      FileCipherId cipher, SecretBytes stream_key, absl::Span<const uint8_t> file_salt);
  ~FileStreamCipher();
  FileStreamCipher(const FileStreamCipher&) = delete;
  FileStreamCipher& operator=(const FileStreamCipher&) = delete;

  FileCipherId cipher() const { return cipher_; }
  // The cipher's natural block (16 for AES-CTR, 64 for XChaCha20).
  size_t block_size() const;

  // data ^= keystream[offset, offset + data.size()). InvalidArgument past kMaxFileStreamOffset.
  [[nodiscard]] absl::Status Apply(uint64_t offset, absl::Span<uint8_t> data) const;

 private:
  struct EvpPool;
  FileStreamCipher(FileCipherId cipher, SecretBytes key, absl::Span<const uint8_t> salt);
  absl::Status ApplyAesCtr(uint64_t offset, absl::Span<uint8_t> data) const;
  absl::Status ApplyAesCtrIpsecMb(uint64_t offset, absl::Span<uint8_t> data) const;
  absl::Status ApplyXChaCha20(uint64_t offset, absl::Span<uint8_t> data) const;

  FileCipherId cipher_;
  SecretBytes key_;
  uint8_t nonce_[24] = {};  // AES: the first 8 bytes; XChaCha20: all 24
  std::unique_ptr<EvpPool> pool_;
  // intel-ipsec-mb AES-256 round keys (empty when the EVP path runs).
  SecretBytes ipsec_mb_schedule_;
};

}  // namespace rocksdb_encryption
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_ROCKSDB_FILE_STREAM_CIPHER_H_
