// RocksDB fillrandom / readrandom throughput on the KMS-encrypted Env versus the plain Env, in
// one run (db_bench-like shapes: 16-byte keys, 100-byte values, no compression).
//
//   bazel run -c opt //benchmarks/rocksdb:rocksdb_encryption_benchmark
//
// Arguments of each benchmark: /0 = plain Env, /1 = encrypted (AES-256-CTR), /2 = encrypted
// (XChaCha20). The data keys come from a real local key store; the unwrap cache keeps the KMS out
// of the steady state, so the difference is the cipher plus the 4 KiB prefix per file.
// readrandom uses a small block cache (1 MiB) so most reads decrypt a block from the page cache;
// BM_ReadRandomDefaultCache is the same with RocksDB's default block cache (8 MiB in 7.8).
//
// BM_CipherBlockRead is the stream cipher alone on what one such read decrypts (a 4 KiB data block
// and its 5-byte trailer at an unaligned file offset): /0 = the bare primitive, one
// intel-ipsec-mb AES-256-CTR job over the same bytes from a block boundary; /1 =
// FileStreamCipher::Apply. The difference is our per-call cost. BM_CipherWalRecord: the same for
// what one fillrandom Put appends to the WAL (138 bytes at an unaligned offset).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <intel-ipsec-mb.h>

#include "benchmark/benchmark.h"
#include "kms_envelope/rocksdb/encryption_provider.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "tests/rocksdb/rocksdb_test_util.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

constexpr int kReadKeys = 200000;
constexpr size_t kValueSize = 100;
// A 4 KiB data block plus RocksDB's 5-byte block trailer, at an offset inside a 16-byte block.
constexpr size_t kBlockRead = 4096 + 5;
constexpr uint64_t kBlockReadOffset = 4096 + 12345;
// One fillrandom Put as RocksDB appends it to the WAL (record header, batch header, key, value).
constexpr size_t kWalRecord = 7 + 12 + 1 + 1 + 16 + 1 + kValueSize;
constexpr uint64_t kWalOffset = 4096 + 54321;

std::string KeyOf(uint64_t i) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(i));
  return std::string(buf, 16);
}

std::string BenchDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/kms_rocksdb_bench_" +
                    std::to_string(::getpid()) + "_" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

const rocksdb_test::TestKms& Kms() {
  static const rocksdb_test::TestKms* kms = [] {
    auto made = rocksdb_test::NewTestKms("kms_rocksdb_bench_kms_" + std::to_string(::getpid()));
    if (!made.ok()) {
      std::fprintf(stderr, "cannot create the local KMS: %s\n", made.status().ToString().c_str());
      std::abort();
    }
    return new rocksdb_test::TestKms(std::move(made).value());
  }();
  return *kms;
}

struct Db {
  std::unique_ptr<rocksdb::Env> env;
  std::unique_ptr<rocksdb::DB> db;
  std::string dir;
  ~Db() {
    db.reset();
    env.reset();
    std::filesystem::remove_all(dir);
  }
};

// `block_cache_bytes` 0 = RocksDB's default block cache.
std::unique_ptr<Db> OpenDb(int mode, const std::string& name, size_t block_cache_bytes = 1 << 20) {
  auto out = std::make_unique<Db>();
  out->dir = BenchDir(name + "_" + std::to_string(mode));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compression = rocksdb::kNoCompression;
  // Small memtables: fillrandom flushes (encrypts SSTs) in the background while it is timed.
  options.write_buffer_size = 8 << 20;
  rocksdb::BlockBasedTableOptions table;
  if (block_cache_bytes != 0) table.block_cache = rocksdb::NewLRUCache(block_cache_bytes);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  if (mode != 0) {
    FileKeyManagerOptions key_options;
    key_options.key_id = Kms().key_id;
    key_options.cipher = mode == 1 ? FileCipherId::kAes256Ctr : FileCipherId::kXChaCha20;
    auto env = NewKmsEncryptedEnv(Kms().provider, key_options);
    if (!env.ok()) std::abort();
    out->env = std::move(env).value();
    options.env = out->env.get();
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, out->dir, &db);
  if (!s.ok()) {
    std::fprintf(stderr, "DB::Open: %s\n", s.ToString().c_str());
    std::abort();
  }
  out->db.reset(db);
  return out;
}

void SetLabel(benchmark::State& state) {
  state.SetLabel(state.range(0) == 0 ? "plain" : state.range(0) == 1 ? "AES-256-CTR" : "XChaCha20");
}

void BM_FillRandom(benchmark::State& state) {
  auto db = OpenDb(static_cast<int>(state.range(0)), "fill");
  std::mt19937_64 rng(301);
  const std::string value(kValueSize, 'v');
  rocksdb::WriteOptions write_options;
  for (auto _ : state) {
    rocksdb::Status s = db->db->Put(write_options, KeyOf(rng()), value);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(16 + kValueSize));
  SetLabel(state);
}
BENCHMARK(BM_FillRandom)->Arg(0)->Arg(1)->Arg(2)->MinTime(2.0)->UseRealTime();

void ReadRandom(benchmark::State& state, size_t block_cache_bytes) {
  auto db = OpenDb(static_cast<int>(state.range(0)), "read", block_cache_bytes);
  {
    const std::string value(kValueSize, 'v');
    for (int i = 0; i < kReadKeys; ++i) db->db->Put(rocksdb::WriteOptions(), KeyOf(i), value);
    db->db->Flush(rocksdb::FlushOptions());
    db->db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr);
  }
  std::mt19937_64 rng(7);
  std::string value;
  int64_t found = 0;
  for (auto _ : state) {
    if (db->db->Get(rocksdb::ReadOptions(), KeyOf(rng() % kReadKeys), &value).ok()) ++found;
  }
  if (found != state.iterations()) state.SkipWithError("a key was missing");
  state.SetItemsProcessed(state.iterations());
  SetLabel(state);
}
void BM_ReadRandom(benchmark::State& state) { ReadRandom(state, 1 << 20); }
BENCHMARK(BM_ReadRandom)->Arg(0)->Arg(1)->Arg(2)->MinTime(2.0)->UseRealTime();

void BM_ReadRandomDefaultCache(benchmark::State& state) { ReadRandom(state, 0); }
BENCHMARK(BM_ReadRandomDefaultCache)->Arg(0)->Arg(1)->MinTime(2.0)->UseRealTime();

// The benchmark's own job-API manager (the library's pick for this CPU), nullptr without AES-NI.
IMB_MGR* BareManager() {
  static IMB_MGR* mgr = [] {
    IMB_MGR* m = alloc_mb_mgr(0);
    if (m == nullptr) return m;
    init_mb_mgr_auto(m, nullptr);
    if (imb_get_errno(m) != 0) {
      free_mb_mgr(m);
      return static_cast<IMB_MGR*>(nullptr);
    }
    return m;
  }();
  return mgr;
}

// One intel-ipsec-mb AES-256-CTR job over `size` bytes from counter block 0: the floor.
void BareIpsecMbCtr(const uint8_t* enc_keys, uint8_t* data, size_t size) {
  IMB_MGR* mgr = BareManager();
  alignas(16) uint8_t iv[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7};
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_CIPHER_HASH;
  job->cipher_mode = IMB_CIPHER_CNTR;
  job->hash_alg = IMB_AUTH_NULL;
  job->enc_keys = enc_keys;
  job->dec_keys = enc_keys + 240;
  job->key_len_in_bytes = IMB_KEY_256_BYTES;
  job->src = data;
  job->dst = data;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = size;
  job->iv = iv;
  job->iv_len_in_bytes = 16;
  job = IMB_SUBMIT_JOB_NOCHECK(mgr);
  while (job == nullptr) job = IMB_FLUSH_JOB(mgr);
  if (job->status != IMB_STATUS_COMPLETED) std::abort();
}

void CipherVsBare(benchmark::State& state, size_t size, uint64_t offset) {
  if (BareManager() == nullptr) {
    state.SkipWithError("intel-ipsec-mb unavailable on this CPU");
    return;
  }
  std::vector<uint8_t> key_bytes(32, 0x42);
  alignas(16) uint8_t round_keys[2 * 240];
  IMB_AES_KEYEXP_256(BareManager(), key_bytes.data(), round_keys,
                     round_keys + 240);
  SecretBytes key = SecretBytes::New(32).value();
  std::memcpy(key.mutable_data(), key_bytes.data(), 32);
  std::vector<uint8_t> salt(kFileSaltSize, 0xa0);
  auto cipher = FileStreamCipher::New(FileCipherId::kAes256Ctr, std::move(key), salt).value();
  std::vector<uint8_t> buf(size, 0x5a);
  for (auto _ : state) {
    if (state.range(0) == 0) {
      BareIpsecMbCtr(round_keys, buf.data(), buf.size());
    } else if (!cipher->Apply(offset, absl::MakeSpan(buf)).ok()) {
      state.SkipWithError("Apply failed");
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  state.SetLabel(state.range(0) == 0 ? "bare ipsec-mb CTR job" : "FileStreamCipher::Apply");
}

void BM_CipherBlockRead(benchmark::State& state) { CipherVsBare(state, kBlockRead, kBlockReadOffset); }
BENCHMARK(BM_CipherBlockRead)->Arg(0)->Arg(1);

void BM_CipherWalRecord(benchmark::State& state) { CipherVsBare(state, kWalRecord, kWalOffset); }
BENCHMARK(BM_CipherWalRecord)->Arg(0)->Arg(1);

}  // namespace
}  // namespace rocksdb_encryption
}  // namespace kms_envelope

BENCHMARK_MAIN();
