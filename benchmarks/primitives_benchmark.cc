// The bare primitives on this machine: random sources, the "new data key + wrap" chain and the
// AEADs by message size. The other benchmark binaries compare against these (in their own run).
//
//   bazel run -c opt //benchmarks:primitives_benchmark -- --benchmark_format=json
#include <sodium.h>
#include <sys/random.h>

#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/bench_util.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope {
namespace bench {
namespace {

const std::vector<int64_t> kSizes = {0, 64, 1 << 10, 64 << 10, 1 << 20, 64 << 20};

void BM_Random32_UserspaceChaCha(benchmark::State& state) {
  uint8_t out[32];
  for (auto _ : state) {
    internal::FillRandom(absl::MakeSpan(out));
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Random32_UserspaceChaCha)->Threads(1)->Threads(2);

void BM_Random32_LibsodiumRandombytes(benchmark::State& state) {
  if (sodium_init() < 0) Die("sodium_init");
  uint8_t out[32];
  for (auto _ : state) {
    randombytes_buf(out, sizeof(out));
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Random32_LibsodiumRandombytes)->Threads(1)->Threads(2);

void BM_Random32_Getrandom(benchmark::State& state) {
  uint8_t out[32];
  for (auto _ : state) {
    internal::FillRandomFromKernel(absl::MakeSpan(out));
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Random32_Getrandom)->Threads(1)->Threads(2);

// The bare chain under GenerateDataKey: random key bytes + random nonce + one AES-GCM encrypt
// of the key under a precomputed key schedule (EVP).
void BM_BareDataKeyChain(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  BareAesGcm cmk;
  uint8_t key[64], nonce[12], out[64 + 16];
  for (auto _ : state) {
    internal::FillRandom(absl::MakeSpan(key, n));
    internal::FillRandom(absl::MakeSpan(nonce));
    cmk.Seal(nonce, nullptr, 0, key, n, out);
    benchmark::DoNotOptimize(out);
  }
  sodium_memzero(key, sizeof(key));
}
BENCHMARK(BM_BareDataKeyChain)->Arg(16)->Arg(32)->Arg(64)->Threads(1)->Threads(2);

void BM_BareAesGcmSeal(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  BareAesGcm key;
  std::vector<uint8_t> in = RandomBuffer(n), out(n + 16);
  uint8_t nonce[12] = {0};
  for (auto _ : state) {
    ++nonce[0];
    key.Seal(nonce, nullptr, 0, in.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_BareAesGcmSeal)->ArgsProduct({kSizes})->Threads(1)->Threads(2);

void BM_BareAesGcmOpen(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  BareAesGcm key;
  std::vector<uint8_t> in = RandomBuffer(n), sealed(n + 16), out(n);
  uint8_t nonce[12] = {1};
  key.Seal(nonce, nullptr, 0, in.data(), n, sealed.data());
  for (auto _ : state) {
    if (!key.Open(nonce, nullptr, 0, sealed.data(), sealed.size(), out.data())) Die("open");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_BareAesGcmOpen)->ArgsProduct({kSizes})->Threads(1)->Threads(2);

// One raw intel-ipsec-mb call with a precomputed key (the limit for our AES-GCM paths).
void BM_BareIpsecMbGcmSeal(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  BareIpsecMbGcm key;
  std::vector<uint8_t> in = RandomBuffer(n), out(n + 16);
  uint8_t nonce[12] = {0};
  for (auto _ : state) {
    ++nonce[0];
    key.Seal(nonce, nullptr, 0, in.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
  state.SetLabel(std::string("arch ") + std::to_string(static_cast<int>(key.arch())));
}
BENCHMARK(BM_BareIpsecMbGcmSeal)->ArgsProduct({kSizes})->Threads(1)->Threads(2);

void BM_BareIpsecMbGcmOpen(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  BareIpsecMbGcm key;
  std::vector<uint8_t> in = RandomBuffer(n), sealed(n + 16), out(n);
  uint8_t nonce[12] = {1};
  key.Seal(nonce, nullptr, 0, in.data(), n, sealed.data());
  for (auto _ : state) {
    if (!key.Open(nonce, nullptr, 0, sealed.data(), sealed.size(), out.data())) Die("open");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_BareIpsecMbGcmOpen)->ArgsProduct({kSizes})->Threads(1)->Threads(2);

// A fresh key per message: key schedule + GHASH table, then one 64-byte seal, per arch
// (the small-message floor of the format's payload key).
void BM_IpsecMbFreshKeySeal64(benchmark::State& state) {
  const auto backend = static_cast<internal::AeadBackend>(state.range(0));
  if (!internal::IpsecMbBackendAvailable(backend)) {
    state.SkipWithError("arch unavailable");
    return;
  }
  uint8_t raw[32], nonce[12] = {0}, in[64] = {0}, out[64 + 16];
  internal::FillRandom(absl::MakeSpan(raw));
  for (auto _ : state) {
    ++raw[0];
    auto key = internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm,
                                      absl::MakeConstSpan(raw), backend);
    if (!key.ok() || !key->Seal(nonce, {}, in, absl::MakeSpan(out)).ok()) Die("fresh seal");
    benchmark::DoNotOptimize(out);
  }
  sodium_memzero(raw, sizeof(raw));
}
BENCHMARK(BM_IpsecMbFreshKeySeal64)
    ->Arg(static_cast<int64_t>(internal::AeadBackend::kIpsecMbSse))
    ->Arg(static_cast<int64_t>(internal::AeadBackend::kIpsecMbAvx2))
    ->Arg(static_cast<int64_t>(internal::AeadBackend::kIpsecMbAvx512))
    ->Arg(static_cast<int64_t>(internal::AeadBackend::kOpenSsl))
    ->ArgName("backend")
    ->Threads(1);

void BM_BareXChaChaSeal(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  BareXChaCha key;
  std::vector<uint8_t> in = RandomBuffer(n), out(n + 16);
  uint8_t nonce[24] = {0};
  for (auto _ : state) {
    ++nonce[0];
    key.Seal(nonce, nullptr, 0, in.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_BareXChaChaSeal)->ArgsProduct({kSizes})->Threads(1)->Threads(2);

void BM_BareXChaChaOpen(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  BareXChaCha key;
  std::vector<uint8_t> in = RandomBuffer(n), sealed(n + 16), out(n);
  uint8_t nonce[24] = {1};
  key.Seal(nonce, nullptr, 0, in.data(), n, sealed.data());
  for (auto _ : state) {
    if (!key.Open(nonce, nullptr, 0, sealed.data(), sealed.size(), out.data())) Die("open");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_BareXChaChaOpen)->ArgsProduct({kSizes})->Threads(1)->Threads(2);

// Our AEAD wrapper (internal/aead) against the bare EVP calls, per backend.
void BM_AeadKeySeal(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const auto backend = static_cast<internal::AeadBackend>(state.range(1));
  uint8_t raw[32];
  internal::FillRandom(absl::MakeSpan(raw));
  auto key = internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(raw),
                                    backend);
  if (!key.ok()) Die("AeadKey");
  std::vector<uint8_t> in = RandomBuffer(n), out(n + 16);
  uint8_t nonce[12] = {0};
  LoopTimer timer;
  timer.Start();
  for (auto _ : state) {
    ++nonce[0];
    if (!key->Seal(absl::MakeConstSpan(nonce), {}, absl::MakeConstSpan(in), absl::MakeSpan(out)).ok()) {
      Die("seal");
    }
    benchmark::DoNotOptimize(out.data());
  }
  timer.Stop();
  BareAesGcm bare;
  double bare_ns = MeasureBareNsPerOp(state.iterations(), [&] {
    ++nonce[0];
    bare.Seal(nonce, nullptr, 0, in.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  });
  ReportRatio(state, timer.NsPerOp(state.iterations()), bare_ns, /*throughput=*/true);
  BareIpsecMbGcm imb;
  const double imb_ns = MeasureBareNsPerOp(state.iterations(), [&] {
    ++nonce[0];
    imb.Seal(nonce, nullptr, 0, in.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  });
  ReportAesLimits(state, timer.NsPerOp(state.iterations()), imb_ns, bare_ns);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_AeadKeySeal)
    ->ArgsProduct({kSizes, {static_cast<int64_t>(internal::AeadBackend::kOpenSsl),
                            static_cast<int64_t>(internal::AeadBackend::kLibsodium),
                            static_cast<int64_t>(internal::AeadBackend::kIpsecMb),
                            static_cast<int64_t>(internal::AeadBackend::kIpsecMbSse),
                            static_cast<int64_t>(internal::AeadBackend::kIpsecMbAvx),
                            static_cast<int64_t>(internal::AeadBackend::kIpsecMbAvx2),
                            static_cast<int64_t>(internal::AeadBackend::kIpsecMbAvx512)}})
    ->ArgNames({"bytes", "backend"});

}  // namespace
}  // namespace bench
}  // namespace kms_envelope

BENCHMARK_MAIN();
