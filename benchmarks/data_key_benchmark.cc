// GenerateDataKey and Decrypt on the local provider, cache off and on, against the bare chain;
// the data-key cache on a realistic workload (fraction of KMS calls saved).
//
//   bazel run -c opt //benchmarks:data_key_benchmark -- --benchmark_format=json
#include <sodium.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/bench_fixture.h"
#include "benchmarks/bench_util.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope {
namespace bench {
namespace {

std::unique_ptr<cache::CachingKeyProvider> NewCache(KeyProvider* provider, uint64_t max_messages) {
  cache::CachingKeyProvider::Options options;
  options.limits.max_messages = max_messages;
  options.limits.max_age = std::chrono::hours(1);
  options.limits.decrypt_max_age = std::chrono::hours(1);
  auto c = cache::CachingKeyProvider::NewBorrowing(provider, options);
  if (!c.ok()) Die("cache");
  return *std::move(c);
}

// Bare chain: random key + random nonce from the per-thread generator, one AES-256-GCM encrypt
// of the key (AAD = the canonical context, as the provider binds it) under a precomputed key
// schedule; the faster of the two AES-GCM implementations for this size.
struct BareDataKeyChain {
  explicit BareDataKeyChain(size_t n) : n(n) {
    uint8_t raw[32];
    internal::FillRandom(absl::MakeSpan(raw));
    auto k1 = internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(raw),
                                     internal::AeadBackend::kLibsodium);
    auto k2 = internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(raw),
                                     internal::AeadBackend::kOpenSsl);
    sodium_memzero(raw, sizeof(raw));
    if (!k1.ok() || !k2.ok()) Die("bare key");
    sodium_ = std::make_unique<internal::AeadKey>(*std::move(k1));
    evp_ = std::make_unique<internal::AeadKey>(*std::move(k2));
  }
  void Run(const internal::AeadKey& key) {
    internal::FillRandom(absl::MakeSpan(plain, n));
    internal::FillRandom(absl::MakeSpan(nonce));
    if (!key.Seal(absl::MakeConstSpan(nonce), BenchContext().Canonical(), absl::MakeConstSpan(plain, n),
                  absl::MakeSpan(out, n + 16))
             .ok()) {
      Die("bare seal");
    }
    benchmark::DoNotOptimize(out);
  }
  // The same chain in the service's CiphertextBlob layout, which the local provider must write:
  // the key is base64-encoded first and the AES-GCM input is that text (44 B for a 32-byte key,
  // one more AES block than the bare chain's 32 B). Informative: it separates what the format
  // costs from what our code adds.
  void RunBlobLayout(const internal::AeadKey& key) {
    internal::FillRandom(absl::MakeSpan(plain, n));
    internal::FillRandom(absl::MakeSpan(nonce));
    const size_t text_size = internal::Base64EncodedSize(n);
    internal::Base64EncodeTo(absl::MakeConstSpan(plain, n), absl::MakeSpan(text, text_size));
    if (!key.Seal(absl::MakeConstSpan(nonce), BenchContext().Canonical(),
                  absl::MakeConstSpan(text, text_size), absl::MakeSpan(out, text_size + 16))
             .ok()) {
      Die("bare blob seal");
    }
    benchmark::DoNotOptimize(out);
  }
  // The faster of both backends, each measured for `iterations`.
  double NsPerOp(int64_t iterations) {
    double a = MeasureBareNsPerOp(iterations, [&] { Run(*sodium_); });
    double b = MeasureBareNsPerOp(iterations, [&] { Run(*evp_); });
    return std::min(a, b);
  }
  double BlobLayoutNsPerOp(int64_t iterations) {
    double a = MeasureBareNsPerOp(iterations, [&] { RunBlobLayout(*sodium_); });
    double b = MeasureBareNsPerOp(iterations, [&] { RunBlobLayout(*evp_); });
    return std::min(a, b);
  }
  ~BareDataKeyChain() {
    sodium_memzero(plain, sizeof(plain));
    sodium_memzero(text, sizeof(text));
  }

  size_t n;
  uint8_t plain[64];
  uint8_t text[internal::Base64EncodedSize(64)];
  uint8_t nonce[12];
  uint8_t out[internal::Base64EncodedSize(64) + 16];
  std::unique_ptr<internal::AeadKey> sodium_, evp_;
};

void BM_GenerateDataKey(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  const bool cached = state.range(1) != 0;
  static std::unique_ptr<cache::CachingKeyProvider> shared_cache;
  if (state.thread_index() == 0 && cached) shared_cache = NewCache(SharedLocal().provider(), 1u << 30);
  // Other threads wait for thread 0's setup at the loop start (Google Benchmark barrier).
  GenerateDataKeyRequest req;
  req.key_id = SharedLocal().key_a();
  req.number_of_bytes = bytes;
  req.encryption_context = &BenchContext();
  req.message_bytes = 64;  // each call stands for one 64-byte message (the cache counts it)
  GenerateDataKeyResponse response;
  LoopTimer timer;
  bool first = true;
  for (auto _ : state) {
    if (first) {
      timer.Start();
      first = false;
    }
    KeyProvider* p = cached ? static_cast<KeyProvider*>(shared_cache.get()) : SharedLocal().provider();
    if (!p->GenerateDataKeyInto(req, &response).ok()) {
      state.SkipWithError("GenerateDataKey failed");
      break;
    }
    benchmark::DoNotOptimize(response.plaintext.data());
  }
  timer.Stop();
  BareDataKeyChain bare(static_cast<size_t>(bytes));
  const double ours = timer.NsPerOp(state.iterations());
  ReportRatio(state, ours, bare.NsPerOp(state.iterations()), false);
  const double blob_chain = bare.BlobLayoutNsPerOp(state.iterations());
  state.counters["blob_chain_ns"] = benchmark::Counter(blob_chain, benchmark::Counter::kAvgThreads);
  state.counters["ratio_vs_blob_chain"] =
      benchmark::Counter(ours / blob_chain, benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_GenerateDataKey)
    ->ArgsProduct({{16, 32, 64}, {0, 1}})
    ->ArgNames({"bytes", "cache"})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void BM_Decrypt(benchmark::State& state) {
  const bool cached = state.range(0) != 0;
  static std::unique_ptr<cache::CachingKeyProvider> shared_cache;
  if (state.thread_index() == 0 && cached) shared_cache = NewCache(SharedLocal().provider(), 1u << 30);
  GenerateDataKeyRequest req;
  req.key_id = SharedLocal().key_a();
  req.encryption_context = &BenchContext();
  auto dk = SharedLocal().provider()->GenerateDataKey(req);
  if (!dk.ok()) Die("GenerateDataKey");
  DecryptRequest dreq;
  dreq.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(dk->ciphertext_blob.data()), dk->ciphertext_blob.size());
  dreq.encryption_context = &BenchContext();
  DecryptResponse response;
  LoopTimer timer;
  bool first = true;
  for (auto _ : state) {
    if (first) {
      timer.Start();
      first = false;
    }
    KeyProvider* p = cached ? static_cast<KeyProvider*>(shared_cache.get()) : SharedLocal().provider();
    if (!p->DecryptInto(dreq, &response).ok()) {
      state.SkipWithError("Decrypt failed");
      break;
    }
    benchmark::DoNotOptimize(response.plaintext.data());
  }
  timer.Stop();
  // Bare: one AES-256-GCM open of a 32-byte wrapped key (context as AAD), precomputed key.
  uint8_t raw[32], nonce[12] = {0}, plain[32], sealed[48];
  internal::FillRandom(absl::MakeSpan(raw));
  internal::FillRandom(absl::MakeSpan(plain));
  auto k1 = internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(raw),
                                   internal::AeadBackend::kLibsodium);
  auto k2 = internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(raw),
                                   internal::AeadBackend::kOpenSsl);
  if (!k1.ok() || !k2.ok() ||
      !k1->Seal(absl::MakeConstSpan(nonce), BenchContext().Canonical(), absl::MakeConstSpan(plain),
                absl::MakeSpan(sealed))
           .ok()) {
    Die("bare");
  }
  auto open_with = [&](const internal::AeadKey& k) {
    return MeasureBareNsPerOp(state.iterations(), [&] {
      if (!k.Open(absl::MakeConstSpan(nonce), BenchContext().Canonical(), absl::MakeConstSpan(sealed),
                  absl::MakeSpan(plain))
               .ok()) {
        Die("bare open");
      }
      benchmark::DoNotOptimize(plain);
    });
  };
  double bare_ns = std::min(open_with(*k1), open_with(*k2));
  sodium_memzero(raw, sizeof(raw));
  sodium_memzero(plain, sizeof(plain));
  ReportRatio(state, timer.NsPerOp(state.iterations()), bare_ns, false);
}
BENCHMARK(BM_Decrypt)->Arg(0)->Arg(1)->ArgName("cache")->Threads(1)->Threads(2)->UseRealTime();

// Cache hits on one entry from 1 thread, then from 2 threads at once, in the same run: the
// aggregate throughput of 2 threads over 1 (2.0 = perfect scaling). Each thread makes
// kOpsPerThread GenerateDataKeyInto calls of a 64-byte message.
void BM_CacheHitScaling(benchmark::State& state) {
  constexpr int kOpsPerThread = 1000000;
  auto cache = NewCache(SharedLocal().provider(), 1u << 30);
  auto run = [&](int threads) {
    auto hits = [&](int n) {
      GenerateDataKeyRequest req;
      req.key_id = SharedLocal().key_a();
      req.encryption_context = &BenchContext();
      req.message_bytes = 64;
      GenerateDataKeyResponse response;
      for (int i = 0; i < n; ++i) {
        if (!cache->GenerateDataKeyInto(req, &response).ok()) Die("GenerateDataKey");
        benchmark::DoNotOptimize(response.plaintext.data());
      }
    };
    hits(1);  // the entry exists before the clock starts
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) workers.emplace_back(hits, kOpsPerThread);
    for (auto& w : workers) w.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return threads * kOpsPerThread / seconds;
  };
  double one = 0, two = 0;
  for (auto _ : state) {
    one = run(1);
    two = run(2);
  }
  state.counters["hits_per_s_1_thread"] = one;
  state.counters["hits_per_s_2_threads"] = two;
  state.counters["aggregate_2_over_1"] = two / one;
}
BENCHMARK(BM_CacheHitScaling)->Iterations(1)->Repetitions(5)->Unit(benchmark::kMillisecond)->UseRealTime();

// A clock the workload moves: `rate` messages per simulated second.
class SimulatedClock : public cache::Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now_; }
  void Advance(std::chrono::nanoseconds d) { now_ += d; }

 private:
  std::chrono::steady_clock::time_point now_{};
};

// 100k messages of 64 B sealed through an Envelope whose primary provider is the cache
// (limits: 60 s, 10k messages per key). Reports how many KMS calls were saved.
void BM_CacheWorkload(benchmark::State& state) {
  const int tenants = static_cast<int>(state.range(0));
  const int64_t rate = state.range(1);  // messages per second; 0 = back to back, real clock
  constexpr int kMessages = 100000;
  std::vector<EncryptionContext> contexts;
  for (int t = 0; t < tenants; ++t) {
    auto c = EncryptionContext::FromPairs({{"tenant", "t" + std::to_string(t)}});
    if (!c.ok()) Die("context");
    contexts.push_back(*std::move(c));
  }
  std::vector<uint8_t> msg = RandomBuffer(64);
  uint64_t calls = 0, messages = 0;
  double total_ns = 0;
  for (auto _ : state) {
    SimulatedClock clock;
    cache::CachingKeyProvider::Options options;
    options.limits.max_age = std::chrono::seconds(60);
    options.limits.max_messages = 10000;
    options.limits.max_bytes = uint64_t{1} << 30;
    options.limits.capacity = 1000;
    if (rate > 0) options.clock = &clock;
    auto c = cache::CachingKeyProvider::NewBorrowing(SharedLocal().provider(), options);
    if (!c.ok()) Die("cache");
    std::shared_ptr<KeyProvider> cache_provider(std::move(*c));
    envelope::EnvelopeOptions eo;
    eo.primary = {cache_provider, SharedLocal().key_a()};
    auto env = envelope::Envelope::New(std::move(eo));
    if (!env.ok()) Die("envelope");
    std::vector<uint8_t> out((*env)->SealedSize(64, contexts[0]) + 1024);
    const auto step = rate > 0 ? std::chrono::nanoseconds(1000000000 / rate) : std::chrono::nanoseconds(0);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kMessages; ++i) {
      if (!(*env)->SealInto(absl::MakeConstSpan(msg), contexts[i % tenants], absl::MakeSpan(out)).ok()) {
        Die("seal");
      }
      if (rate > 0) clock.Advance(step);
    }
    total_ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    auto* cp = static_cast<cache::CachingKeyProvider*>(cache_provider.get());
    calls += cp->stats().provider_generate_calls;
    messages += kMessages;
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["messages"] = static_cast<double>(messages) / iters;
  state.counters["kms_calls"] = static_cast<double>(calls) / iters;
  state.counters["calls_saved_fraction"] = 1.0 - static_cast<double>(calls) / static_cast<double>(messages);
  state.counters["ns_per_message"] = total_ns / static_cast<double>(messages);
}
BENCHMARK(BM_CacheWorkload)
    ->ArgsProduct({{1, 100}, {0, 500}})
    ->ArgNames({"tenants", "rate"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace bench
}  // namespace kms_envelope

BENCHMARK_MAIN();
