#include "kms_envelope/rocksdb/file_stream_cipher.h"

#include <intel-ipsec-mb.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/ipsec_mb.h"
#include "kms_envelope/status_macros.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

constexpr size_t kAesBlock = 16;
constexpr size_t kChaChaBlock = 64;
// Contexts kept per file beyond this many concurrent users are freed after use.
constexpr size_t kMaxPooledContexts = 16;

// intel-ipsec-mb's round keys: encryption then decryption schedule (the job API wants both),
// 16-byte aligned inside a SecretBytes of this size.
constexpr size_t kRoundKeysSize = 240;
constexpr size_t kIpsecMbScheduleAlloc = 2 * kRoundKeysSize + 15;

uint8_t* Align16(const uint8_t* p) {
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + 15) & ~uintptr_t{15});
}

// AES-256-CTR runs on intel-ipsec-mb when the AEAD default does (the same CPU check and the same
// KMS_ENVELOPE_AEAD_BACKEND override), on OpenSSL EVP otherwise.
bool UseIpsecMbCtr() {
  static const bool use = [] {
    absl::StatusOr<internal::AeadBackend> b = internal::DefaultAesGcmBackend();
    return b.ok() && *b >= internal::AeadBackend::kIpsecMb &&
           internal::IpsecMbManager(internal::IpsecMbArch::kAuto) != nullptr;
  }();
  return use;
}

// data ^= keystream from byte `offset` on, for a keystream made of numbered blocks: a first
// partial block goes through a wiped scratch block, the rest in place. `run(block, p, n)` xors
// the keystream that starts at counter block `block` into the n bytes at p.
template <size_t kBlock, typename Run>
absl::Status ApplyFromOffset(uint64_t offset, absl::Span<uint8_t> data, Run run) {
  uint64_t block = offset / kBlock;
  const size_t skip = offset % kBlock;
  size_t done = 0;
  if (skip != 0) {
    uint8_t tmp[kBlock] = {};
    const size_t n = std::min(data.size(), kBlock - skip);
    std::memcpy(tmp + skip, data.data(), n);
    absl::Status s = run(block, tmp, kBlock);
    std::memcpy(data.data(), tmp + skip, n);
    sodium_memzero(tmp, sizeof(tmp));
    KMS_RETURN_IF_ERROR(s);
    done = n;
    ++block;
  }
  if (done == data.size()) return absl::OkStatus();
  return run(block, data.data() + done, data.size() - done);
}

// The AES-CTR runs of one Apply call (the partial first block and the rest), handed to
// intel-ipsec-mb's cipher burst API in one call. The jobs live here, on the caller's stack,
// rather than in the manager's job ring, whose 256 slots of 200 bytes each cycle through the L1
// cache one call after the other.
//
// Submitted without the library's per-job argument check (..._NOCHECK): that check copies two
// tag-length tables onto the stack per job, ~40 ns, the keystream of 1 KiB. What it verifies for
// a CTR job holds here by construction: src, dst, iv and round keys non-null, 32-byte key,
// 16-byte IV, non-zero length (Add refuses an empty run). Completion is still checked per job.
class CtrBurst {
 public:
  CtrBurst(IMB_MGR* mgr, const uint8_t* round_keys, const uint8_t* nonce)
      : mgr_(mgr), round_keys_(round_keys), nonce_(nonce) {}
  ~CtrBurst() { sodium_memzero(ivs_, sizeof(ivs_)); }
  CtrBurst(const CtrBurst&) = delete;
  CtrBurst& operator=(const CtrBurst&) = delete;

  // data[0, size) ^= the keystream from counter block `block`, now or at Submit.
  absl::Status Add(uint64_t block, uint8_t* data, size_t size) {
    if (data == nullptr || size == 0) return absl::InternalError("AES-256-CTR: empty run");
    if (count_ == kJobs) KMS_RETURN_IF_ERROR(Submit());
    uint8_t* iv = ivs_[count_];
    std::memcpy(iv, nonce_, 8);
    internal::StoreBigEndian64(block, iv + 8);
    // Every field the burst's CTR path reads is set (src, dst, cipher_start_src_offset_in_bytes,
    // msg_len_to_cipher_in_bytes, enc_keys, iv, iv_len_in_bytes; it writes status), so the
    // 200-byte job is not zeroed first: that `rep stos` cost ~15 ns a job.
    IMB_JOB& job = jobs_[count_++];
    job.cipher_direction = IMB_DIR_ENCRYPT;
    job.chain_order = IMB_ORDER_CIPHER_HASH;
    job.cipher_mode = IMB_CIPHER_CNTR;
    job.hash_alg = IMB_AUTH_NULL;
    job.enc_keys = round_keys_;
    job.dec_keys = round_keys_ + kRoundKeysSize;
    job.key_len_in_bytes = IMB_KEY_256_BYTES;
    job.src = data;
    job.dst = data;
    job.cipher_start_src_offset_in_bytes = 0;
    job.msg_len_to_cipher_in_bytes = size;
    job.iv = iv;
    job.iv_len_in_bytes = kAesBlock;
    return absl::OkStatus();
  }

  absl::Status Submit() {
    const uint32_t n = static_cast<uint32_t>(count_);
    count_ = 0;
    if (n == 0) return absl::OkStatus();
    const uint32_t completed = IMB_SUBMIT_CIPHER_BURST_NOCHECK(
        mgr_, jobs_, n, IMB_CIPHER_CNTR, IMB_DIR_ENCRYPT, IMB_KEY_256_BYTES);
    bool ok = completed == n;
    for (uint32_t i = 0; i < n; ++i) ok = ok && jobs_[i].status == IMB_STATUS_COMPLETED;
    return ok ? absl::OkStatus() : absl::InternalError("intel-ipsec-mb AES-256-CTR failed");
  }

 private:
  // A partial first block and the rest. More runs (a cut at a 64 GiB counter wrap) submit early;
  // the existing test of that cut goes through this path.
  static constexpr size_t kJobs = 2;
  IMB_MGR* mgr_;
  const uint8_t* round_keys_;
  const uint8_t* nonce_;
  size_t count_ = 0;
  IMB_JOB jobs_[kJobs];
  alignas(16) uint8_t ivs_[kJobs][kAesBlock];
};

const EVP_CIPHER* Aes256Ctr() {
  // Fetch once: an implicit fetch on every init is slow in OpenSSL 3.
  static const EVP_CIPHER* cipher = [] {
    const EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
    return c != nullptr ? c : EVP_aes_256_ctr();
  }();
  return cipher;
}

}  // namespace

struct FileStreamCipher::EvpPool {
  std::mutex mu;
  std::vector<EVP_CIPHER_CTX*> free;
  ~EvpPool() {
    for (EVP_CIPHER_CTX* ctx : free) EVP_CIPHER_CTX_free(ctx);  // cleanses the key schedule
  }
};

FileStreamCipher::FileStreamCipher(FileCipherId cipher, SecretBytes key,
                                   absl::Span<const uint8_t> salt)
    : cipher_(cipher), key_(std::move(key)) {
  if (cipher_ == FileCipherId::kAes256Ctr) {
    std::memcpy(nonce_, salt.data(), 8);
    pool_ = std::make_unique<EvpPool>();
  } else {
    std::memcpy(nonce_, salt.data() + 8, 24);
  }
}

FileStreamCipher::~FileStreamCipher() { sodium_memzero(nonce_, sizeof(nonce_)); }

absl::StatusOr<std::unique_ptr<FileStreamCipher>> FileStreamCipher::New(
    FileCipherId cipher, SecretBytes stream_key, absl::Span<const uint8_t> file_salt) {
  if (stream_key.size() != 32) return absl::InvalidArgumentError("stream key must be 32 bytes");
  if (file_salt.size() != kFileSaltSize) {
    return absl::InvalidArgumentError("file salt must be 32 bytes");
  }
  if (cipher != FileCipherId::kAes256Ctr && cipher != FileCipherId::kXChaCha20) {
    return absl::InvalidArgumentError("unknown file cipher");
  }
  std::unique_ptr<FileStreamCipher> result(
      new FileStreamCipher(cipher, std::move(stream_key), file_salt));
  if (cipher == FileCipherId::kAes256Ctr && UseIpsecMbCtr()) {
    KMS_ASSIGN_OR_RETURN(result->ipsec_mb_schedule_, SecretBytes::New(kIpsecMbScheduleAlloc));
    uint8_t* enc = Align16(result->ipsec_mb_schedule_.data());
    IMB_AES_KEYEXP_256(internal::IpsecMbManager(internal::IpsecMbArch::kAuto),
                       result->key_.data(), enc, enc + kRoundKeysSize);
  }
  return result;
}

size_t FileStreamCipher::block_size() const {
  return cipher_ == FileCipherId::kAes256Ctr ? kAesBlock : kChaChaBlock;
}

absl::Status FileStreamCipher::Apply(uint64_t offset, absl::Span<uint8_t> data) const {
  if (offset > kMaxFileStreamOffset || data.size() > kMaxFileStreamOffset - offset) {
    return absl::InvalidArgumentError("file offset beyond the stream cipher's range");
  }
  if (data.empty()) return absl::OkStatus();
  return cipher_ == FileCipherId::kAes256Ctr ? ApplyAesCtr(offset, data)
                                             : ApplyXChaCha20(offset, data);
}

absl::Status FileStreamCipher::ApplyAesCtrIpsecMb(uint64_t offset, absl::Span<uint8_t> data) const {
  IMB_MGR* mgr = internal::IpsecMbThreadJobManager();
  if (mgr == nullptr) return absl::InternalError("intel-ipsec-mb manager unavailable");
  CtrBurst burst(mgr, Align16(ipsec_mb_schedule_.data()), nonce_);
  uint64_t block = offset / kAesBlock;
  const size_t skip = offset % kAesBlock;
  // A first partial block goes through a wiped scratch block, the rest in place.
  alignas(16) uint8_t head[kAesBlock] = {};
  const size_t head_size = skip == 0 ? 0 : std::min(data.size(), kAesBlock - skip);
  absl::Status status;
  if (head_size != 0) {
    std::memcpy(head + skip, data.data(), head_size);
    status = burst.Add(block++, head, kAesBlock);
  }
  for (size_t done = head_size; status.ok() && done < data.size();) {
    // The library's counter arithmetic is only guaranteed within the low 32 bits of the block
    // index: cut the run where they wrap (every 64 GiB of stream), OpenSSL carries across it.
    const uint64_t blocks_to_wrap = (uint64_t{1} << 32) - (block & 0xFFFFFFFFu);
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(data.size() - done, blocks_to_wrap * kAesBlock));
    status = burst.Add(block, data.data() + done, n);
    done += n;
    block += n / kAesBlock;
  }
  if (status.ok()) status = burst.Submit();
  if (status.ok()) std::memcpy(data.data(), head + skip, head_size);
  sodium_memzero(head, sizeof(head));
  return status;
}

absl::Status FileStreamCipher::ApplyAesCtr(uint64_t offset, absl::Span<uint8_t> data) const {
  if (!ipsec_mb_schedule_.empty()) return ApplyAesCtrIpsecMb(offset, data);
  EVP_CIPHER_CTX* ctx = nullptr;
  {
    std::lock_guard<std::mutex> lock(pool_->mu);
    if (!pool_->free.empty()) {
      ctx = pool_->free.back();
      pool_->free.pop_back();
    }
  }
  if (ctx == nullptr) {
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr ||
        EVP_EncryptInit_ex(ctx, Aes256Ctr(), nullptr, key_.data(), nullptr) != 1) {
      EVP_CIPHER_CTX_free(ctx);
      return absl::InternalError("OpenSSL AES-256-CTR initialisation failed");
    }
  }
  uint8_t iv[kAesBlock];
  std::memcpy(iv, nonce_, 8);
  internal::StoreBigEndian64(offset / kAesBlock, iv + 8);
  bool ok = EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv) == 1;
  const size_t skip = offset % kAesBlock;
  if (ok && skip != 0) {
    uint8_t discard[kAesBlock] = {};
    int outl = 0;
    ok = EVP_EncryptUpdate(ctx, discard, &outl, discard, static_cast<int>(skip)) == 1;
    sodium_memzero(discard, sizeof(discard));
  }
  size_t done = 0;
  while (ok && done < data.size()) {
    const int chunk = static_cast<int>(std::min<size_t>(data.size() - done, INT_MAX / 2));
    int outl = 0;
    ok = EVP_EncryptUpdate(ctx, data.data() + done, &outl, data.data() + done, chunk) == 1 &&
         outl == chunk;
    done += static_cast<size_t>(chunk);
  }
  if (!ok) {
    EVP_CIPHER_CTX_free(ctx);
    return absl::InternalError("OpenSSL AES-256-CTR failed");
  }
  {
    std::lock_guard<std::mutex> lock(pool_->mu);
    if (pool_->free.size() < kMaxPooledContexts) {
      pool_->free.push_back(ctx);
      ctx = nullptr;
    }
  }
  EVP_CIPHER_CTX_free(ctx);
  return absl::OkStatus();
}

absl::Status FileStreamCipher::ApplyXChaCha20(uint64_t offset, absl::Span<uint8_t> data) const {
  return ApplyFromOffset<kChaChaBlock>(offset, data, [this](uint64_t block, uint8_t* p, size_t n) {
    crypto_stream_xchacha20_xor_ic(p, p, n, nonce_, block, key_.data());
    return absl::OkStatus();
  });
}

}  // namespace rocksdb_encryption
}  // namespace kms_envelope
