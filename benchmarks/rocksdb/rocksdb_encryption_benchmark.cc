// RocksDB fillrandom / readrandom throughput on the KMS-encrypted Env versus the plain Env, in
// one run (db_bench-like shapes: 16-byte keys, 100-byte values, no compression).
//
//   bazel run -c opt //benchmarks/rocksdb:rocksdb_encryption_benchmark
//
// Arguments of each benchmark: /0 = plain Env, /1 = encrypted (AES-256-CTR), /2 = encrypted
// (XChaCha20). The data keys come from a real local key store; the unwrap cache keeps the KMS out
// of the steady state, so the difference is the cipher plus the 4 KiB prefix per file.
// readrandom uses a small block cache (1 MiB) so most reads decrypt a block from the page cache.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

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

std::unique_ptr<Db> OpenDb(int mode, const std::string& name) {
  auto out = std::make_unique<Db>();
  out->dir = BenchDir(name + "_" + std::to_string(mode));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compression = rocksdb::kNoCompression;
  // Small memtables: fillrandom flushes (encrypts SSTs) in the background while it is timed.
  options.write_buffer_size = 8 << 20;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(1 << 20);
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

void BM_ReadRandom(benchmark::State& state) {
  auto db = OpenDb(static_cast<int>(state.range(0)), "read");
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
BENCHMARK(BM_ReadRandom)->Arg(0)->Arg(1)->Arg(2)->MinTime(2.0)->UseRealTime();

}  // namespace
}  // namespace rocksdb_encryption
}  // namespace kms_envelope

BENCHMARK_MAIN();
