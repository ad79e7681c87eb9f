// Envelope Seal/Open by message size and suite, cache off and on, 1 and 2 threads, and
// streaming a file; each against the bare primitives measured in the same run.
//
//   bazel run -c opt //benchmarks:envelope_benchmark -- --benchmark_format=json
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/bench_fixture.h"
#include "benchmarks/bench_util.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/internal/hkdf.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope {
namespace bench {
namespace {

using envelope::Envelope;
using envelope::Suite;

const std::vector<int64_t> kSizes = {0, 64, 1 << 10, 64 << 10, 1 << 20, 64 << 20};

// Envelopes per (suite, cache): built once, shared by the threads of a benchmark.
std::shared_ptr<Envelope> MakeEnvelope(Suite suite, bool cached) {
  std::shared_ptr<KeyProvider> provider = SharedLocal().shared();
  if (cached) {
    cache::CachingKeyProvider::Options options;
    options.limits.max_age = std::chrono::hours(1);
    options.limits.max_messages = 1u << 30;
    options.limits.max_bytes = uint64_t{1} << 46;
    options.limits.decrypt_max_age = std::chrono::hours(1);
    auto c = cache::CachingKeyProvider::NewBorrowing(SharedLocal().provider(), options);
    if (!c.ok()) Die("cache");
    provider = std::shared_ptr<KeyProvider>(std::move(*c));
  }
  envelope::EnvelopeOptions eo;
  eo.suite = suite;
  eo.primary = {provider, SharedLocal().key_a()};
  eo.max_blob_size_for_sizing = 512;
  auto env = Envelope::New(std::move(eo));
  if (!env.ok()) Die("envelope");
  return std::shared_ptr<Envelope>(std::move(*env));
}

// ---- bare components, measured in the same run ----

// One AEAD seal/open of n bytes with the suite's primitive under a precomputed key.
struct BareAead {
  explicit BareAead(Suite suite) : suite(suite) {}
  double SealNs(int64_t iterations, const std::vector<uint8_t>& in, std::vector<uint8_t>& out) {
    uint8_t nonce[24] = {0};
    return MeasureBareNsPerOp(iterations, [&] {
      ++nonce[0];
      if (suite == Suite::kAes256GcmHkdfSha256Committing) {
        aes.Seal(nonce, nullptr, 0, in.data(), in.size(), out.data());
      } else {
        xchacha.Seal(nonce, nullptr, 0, in.data(), in.size(), out.data());
      }
      benchmark::DoNotOptimize(out.data());
    });
  }
  double OpenNs(int64_t iterations, const std::vector<uint8_t>& in, std::vector<uint8_t>& sealed,
                std::vector<uint8_t>& out) {
    uint8_t nonce[24] = {7};
    if (suite == Suite::kAes256GcmHkdfSha256Committing) {
      aes.Seal(nonce, nullptr, 0, in.data(), in.size(), sealed.data());
    } else {
      xchacha.Seal(nonce, nullptr, 0, in.data(), in.size(), sealed.data());
    }
    return MeasureBareNsPerOp(iterations, [&] {
      bool ok = suite == Suite::kAes256GcmHkdfSha256Committing
                    ? aes.Open(nonce, nullptr, 0, sealed.data(), in.size() + 16, out.data())
                    : xchacha.Open(nonce, nullptr, 0, sealed.data(), in.size() + 16, out.data());
      if (!ok) Die("bare open");
      benchmark::DoNotOptimize(out.data());
    });
  }
  // The same, as one raw intel-ipsec-mb call (AES suite only).
  double IpsecMbSealNs(int64_t iterations, const std::vector<uint8_t>& in,
                       std::vector<uint8_t>& out) {
    uint8_t nonce[12] = {0};
    return MeasureBareNsPerOp(iterations, [&] {
      ++nonce[0];
      imb.Seal(nonce, nullptr, 0, in.data(), in.size(), out.data());
      benchmark::DoNotOptimize(out.data());
    });
  }
  double IpsecMbOpenNs(int64_t iterations, const std::vector<uint8_t>& in,
                       std::vector<uint8_t>& sealed, std::vector<uint8_t>& out) {
    uint8_t nonce[12] = {7};
    imb.Seal(nonce, nullptr, 0, in.data(), in.size(), sealed.data());
    return MeasureBareNsPerOp(iterations, [&] {
      if (!imb.Open(nonce, nullptr, 0, sealed.data(), in.size() + 16, out.data())) {
        Die("bare ipsec-mb open");
      }
      benchmark::DoNotOptimize(out.data());
    });
  }
  Suite suite;
  BareAesGcm aes;
  BareXChaCha xchacha;
  BareIpsecMbGcm imb;
};

// The fixed per-message part of the chain: data key (random + AES-GCM wrap of 32 B) or unwrap,
// message id, the format v2 key schedule (one-step KDF, 64 bytes: 4 SHA-256 compressions), and
// the header tag (AEAD over ~200 B of AAD).
double BareFixedChainNs(int64_t iterations, bool sealing) {
  iterations = std::max<int64_t>(1, std::min<int64_t>(iterations, 200000));
  BareAesGcm cmk, payload;
  uint8_t key[32], nonce[12] = {0}, wrapped[48], id[32], fixed_info[53] = {0}, okm[64], tag[16];
  uint8_t header[200] = {0};
  internal::FillRandom(absl::MakeSpan(key));
  cmk.Seal(nonce, BenchContext().Canonical().data(), BenchContext().Canonical().size(), key, 32, wrapped);
  double ns = MeasureBareNsPerOp(iterations, [&] {
    if (sealing) {
      internal::FillRandom(absl::MakeSpan(key));
      internal::FillRandom(absl::MakeSpan(nonce));
      cmk.Seal(nonce, BenchContext().Canonical().data(), BenchContext().Canonical().size(), key, 32, wrapped);
      internal::FillRandom(absl::MakeSpan(id));
    } else if (!cmk.Open(nonce, BenchContext().Canonical().data(), BenchContext().Canonical().size(), wrapped,
                         48, key)) {
      Die("bare unwrap");
    }
    std::memcpy(fixed_info + 21, id, sizeof(id));
    (void)internal::OneStepKdfSha256(absl::MakeConstSpan(key), absl::MakeConstSpan(fixed_info),
                                     absl::MakeSpan(okm));
    payload.Seal(nonce, header, sizeof(header), nullptr, 0, tag);
    benchmark::DoNotOptimize(tag);
  });
  sodium_memzero(key, sizeof(key));
  sodium_memzero(okm, sizeof(okm));
  return ns;
}

void BM_Seal(benchmark::State& state) {
  const Suite suite = static_cast<Suite>(state.range(0));
  const size_t n = static_cast<size_t>(state.range(1));
  const bool cached = state.range(2) != 0;
  static std::shared_ptr<Envelope> shared;
  if (state.thread_index() == 0) shared = MakeEnvelope(suite, cached);
  std::vector<uint8_t> in = RandomBuffer(n);
  std::vector<uint8_t> out;
  LoopTimer timer;
  bool first = true;
  for (auto _ : state) {
    if (first) {  // after the start barrier (thread 0 built `shared`); not timed
      state.PauseTiming();
      out.resize(shared->SealedSize(n, BenchContext()));
      state.ResumeTiming();
      timer.Start();
      first = false;
    }
    auto written = shared->SealInto(absl::MakeConstSpan(in), BenchContext(), absl::MakeSpan(out));
    if (!written.ok()) {
      state.SkipWithError("Seal failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  timer.Stop();
  const double ours = timer.NsPerOp(state.iterations());
  BareAead bare(suite);
  std::vector<uint8_t> sealed(n + 16);
  const double aead_ns = bare.SealNs(state.iterations(), in, sealed);
  ReportRatio(state, ours, aead_ns, /*throughput=*/true);
  if (suite == Suite::kAes256GcmHkdfSha256Committing) {
    ReportAesLimits(state, ours, bare.IpsecMbSealNs(state.iterations(), in, sealed), aead_ns);
  }
  if (!cached) {
    const double chain = aead_ns + BareFixedChainNs(state.iterations(), /*sealing=*/true);
    state.counters["ratio_vs_chain"] = benchmark::Counter(ours / chain, benchmark::Counter::kAvgThreads);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}

void BM_Open(benchmark::State& state) {
  const Suite suite = static_cast<Suite>(state.range(0));
  const size_t n = static_cast<size_t>(state.range(1));
  const bool cached = state.range(2) != 0;
  static std::shared_ptr<Envelope> shared;
  if (state.thread_index() == 0) shared = MakeEnvelope(suite, cached);
  std::vector<uint8_t> in = RandomBuffer(n);
  std::vector<uint8_t> sealed, out(n);
  LoopTimer timer;
  bool first = true;
  for (auto _ : state) {
    if (first) {  // after the start barrier (thread 0 built `shared`); not timed
      state.PauseTiming();
      sealed.resize(shared->SealedSize(n, BenchContext()));
      auto w = shared->SealInto(absl::MakeConstSpan(in), BenchContext(), absl::MakeSpan(sealed));
      if (!w.ok()) Die("seal for open");
      sealed.resize(*w);
      state.ResumeTiming();
      timer.Start();
      first = false;
    }
    auto got = shared->OpenInto(absl::MakeConstSpan(sealed), BenchContext(), absl::MakeSpan(out));
    if (!got.ok() || *got != n) {
      state.SkipWithError("Open failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  timer.Stop();
  const double ours = timer.NsPerOp(state.iterations());
  BareAead bare(suite);
  std::vector<uint8_t> bare_sealed(n + 16);
  const double aead_ns = bare.OpenNs(state.iterations(), in, bare_sealed, out);
  ReportRatio(state, ours, aead_ns, /*throughput=*/true);
  if (suite == Suite::kAes256GcmHkdfSha256Committing) {
    ReportAesLimits(state, ours, bare.IpsecMbOpenNs(state.iterations(), in, bare_sealed, out),
                    aead_ns);
  }
  if (!cached) {
    const double chain = aead_ns + BareFixedChainNs(state.iterations(), /*sealing=*/false);
    state.counters["ratio_vs_chain"] = benchmark::Counter(ours / chain, benchmark::Counter::kAvgThreads);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}

void SealOpenArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"suite", "bytes", "cache"});
  for (int64_t suite : {1, 2}) {
    for (int64_t size : kSizes) {
      for (int64_t cache : {0, 1}) b->Args({suite, size, cache});
    }
  }
  b->Threads(1)->Threads(2)->UseRealTime();
}
BENCHMARK(BM_Seal)->Apply(SealOpenArgs);
BENCHMARK(BM_Open)->Apply(SealOpenArgs);

// ---- streaming a file ----

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  if (dir == nullptr) dir = std::getenv("TMPDIR");
  if (dir == nullptr) dir = "/tmp";
  return std::string(dir) + "/kms_envelope_bench_" + std::to_string(getpid()) + "_" + name;
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) Die("open for write");
  envelope::FdSink sink(fd);
  if (!sink.Write(absl::MakeConstSpan(data)).ok()) Die("write");
  close(fd);
}

void BM_SealStream(benchmark::State& state) {
  const Suite suite = static_cast<Suite>(state.range(0));
  const size_t n = static_cast<size_t>(state.range(1));
  const bool cached = state.range(2) != 0;
  static std::shared_ptr<Envelope> shared;
  if (state.thread_index() == 0) shared = MakeEnvelope(suite, cached);
  std::vector<uint8_t> data = RandomBuffer(n);
  const std::string in_path = TempPath("in" + std::to_string(state.thread_index()));
  const std::string out_path = TempPath("out" + std::to_string(state.thread_index()));
  WriteFile(in_path, data);
  LoopTimer timer;
  bool first = true;
  for (auto _ : state) {
    if (first) {
      timer.Start();
      first = false;
    }
    int in_fd = open(in_path.c_str(), O_RDONLY);
    int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in_fd < 0 || out_fd < 0) Die("open");
    envelope::FdSource source(in_fd);
    envelope::FdSink sink(out_fd);
    auto r = shared->SealStream(source, sink, BenchContext());
    close(in_fd);
    close(out_fd);
    if (!r.ok()) {
      state.SkipWithError("SealStream failed");
      break;
    }
  }
  timer.Stop();
  const double ours = timer.NsPerOp(state.iterations());
  BareAead bare(suite);
  std::vector<uint8_t> sealed(n + 16);
  ReportRatio(state, ours, bare.SealNs(state.iterations(), data, sealed), true);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
  unlink(in_path.c_str());
  unlink(out_path.c_str());
}

void BM_OpenStream(benchmark::State& state) {
  const Suite suite = static_cast<Suite>(state.range(0));
  const size_t n = static_cast<size_t>(state.range(1));
  const bool cached = state.range(2) != 0;
  static std::shared_ptr<Envelope> shared;
  if (state.thread_index() == 0) shared = MakeEnvelope(suite, cached);
  std::vector<uint8_t> data = RandomBuffer(n);
  const std::string in_path = TempPath("sealed" + std::to_string(state.thread_index()));
  const std::string out_path = TempPath("opened" + std::to_string(state.thread_index()));
  LoopTimer timer;
  bool first = true;
  for (auto _ : state) {
    if (first) {  // after the start barrier (thread 0 built `shared`); not timed
      state.PauseTiming();
      std::vector<uint8_t> sealed(shared->SealedSize(n, BenchContext()));
      auto w = shared->SealInto(absl::MakeConstSpan(data), BenchContext(), absl::MakeSpan(sealed));
      if (!w.ok()) Die("seal for stream");
      sealed.resize(*w);
      WriteFile(in_path, sealed);
      state.ResumeTiming();
      timer.Start();
      first = false;
    }
    int in_fd = open(in_path.c_str(), O_RDONLY);
    int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in_fd < 0 || out_fd < 0) Die("open");
    envelope::FdSource source(in_fd);
    envelope::FdSink sink(out_fd);
    auto r = shared->OpenStream(source, sink, &BenchContext());
    close(in_fd);
    close(out_fd);
    if (!r.ok()) {
      state.SkipWithError("OpenStream failed");
      break;
    }
  }
  timer.Stop();
  const double ours = timer.NsPerOp(state.iterations());
  BareAead bare(suite);
  std::vector<uint8_t> bare_sealed(n + 16), out(n);
  ReportRatio(state, ours, bare.OpenNs(state.iterations(), data, bare_sealed, out), true);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
  unlink(in_path.c_str());
  unlink(out_path.c_str());
}

void StreamArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"suite", "bytes", "cache"});
  for (int64_t suite : {1, 2}) {
    for (int64_t size : {int64_t{1} << 20, int64_t{64} << 20}) {
      for (int64_t cache : {0, 1}) b->Args({suite, size, cache});
    }
  }
  b->Threads(1)->Threads(2)->UseRealTime();
}
BENCHMARK(BM_SealStream)->Apply(StreamArgs);
BENCHMARK(BM_OpenStream)->Apply(StreamArgs);

}  // namespace
}  // namespace bench
}  // namespace kms_envelope

BENCHMARK_MAIN();
