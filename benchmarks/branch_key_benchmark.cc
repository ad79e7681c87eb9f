// Seal of a 64 B message three ways, all over the local provider: a KMS call (GenerateDataKey)
// per message, the data-key cache, and branch keys (docs/branch-keys.md). Each row also counts
// the calls that reached the KMS (a counting wrapper over the real local provider) and reports
// them per 100k messages; BM_KmsCallsPer100k seals exactly 100,000 messages per mode.
//
//   bazel run -c opt //benchmarks:branch_key_benchmark -- --benchmark_repetitions=5
//
// The ratio counter is ns/op over the KMS-per-message row measured in the same run
// (ratio_vs_kms_per_message < 1 = faster).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/bench_fixture.h"
#include "benchmarks/bench_util.h"
#include "kms_envelope/branch/branch_key_admin.h"
#include "kms_envelope/branch/branch_key_provider.h"
#include "kms_envelope/branch/file_branch_key_store.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"
#include "tests/cache/counting_provider.h"

namespace kms_envelope {
namespace bench {
namespace {

enum Mode { kKmsPerMessage = 0, kDataKeyCache = 1, kBranchKeys = 2 };

std::shared_ptr<branch::BranchKeyStore> BranchStore() {
  static std::shared_ptr<branch::BranchKeyStore> store = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/kmse-branch-bench-" +
                      std::to_string(::getpid());
    auto s = branch::FileBranchKeyStore::Open(dir);
    if (!s.ok()) Die("branch store");
    std::shared_ptr<branch::BranchKeyStore> shared = std::move(*s);
    if (!branch::CreateBranchKey(*SharedLocal().provider(), SharedLocal().key_a(), *shared, "tenant-acme").ok()) {
      Die("branch key");
    }
    return shared;
  }();
  return store;
}

// The envelope of one mode, with the counting wrapper the KMS calls go through.
struct Setup {
  std::shared_ptr<cache_testing::CountingProvider> counting;
  std::unique_ptr<envelope::Envelope> envelope;
};

Setup NewSetup(Mode mode) {
  Setup s;
  s.counting = std::make_shared<cache_testing::CountingProvider>(SharedLocal().provider());
  envelope::EnvelopeOptions o;
  if (mode == kKmsPerMessage) {
    o.primary = {s.counting, SharedLocal().key_a()};
  } else if (mode == kDataKeyCache) {
    cache::CachingKeyProvider::Options options;  // the cache's defaults
    auto c = cache::CachingKeyProvider::NewBorrowing(s.counting.get(), options);
    if (!c.ok()) Die("cache");
    o.primary = {std::shared_ptr<KeyProvider>(std::move(*c)), SharedLocal().key_a()};
  } else {
    branch::BranchKeyProviderOptions b;
    b.kms = s.counting;
    b.store = BranchStore();
    b.supplier = branch::ContextFieldSupplier::New("tenant", "tenant-").value();
    auto p = branch::BranchKeyProvider::New(std::move(b));
    if (!p.ok()) Die("branch provider");
    o.primary = {std::shared_ptr<KeyProvider>(std::move(*p)),
                 std::string(branch::kBranchKeyFromContext)};
  }
  auto env = envelope::Envelope::New(std::move(o));
  if (!env.ok()) Die("envelope");
  s.envelope = std::move(*env);
  return s;
}

// ns per Seal of 64 B in `setup` over `iterations` messages.
double SealLoop(Setup& setup, int64_t iterations, std::vector<uint8_t>& out) {
  static const std::vector<uint8_t> message(64, 0x5a);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; ++i) {
    auto n = setup.envelope->SealInto(message, BenchContext(), absl::MakeSpan(out));
    if (!n.ok()) Die("seal");
    benchmark::DoNotOptimize(out.data());
  }
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
             .count() / static_cast<double>(iterations);
}

void BM_Seal64(benchmark::State& state) {
  const Mode mode = static_cast<Mode>(state.range(0));
  Setup setup = NewSetup(mode);
  std::vector<uint8_t> out(setup.envelope->SealedSize(64, BenchContext()));
  static const std::vector<uint8_t> message(64, 0x5a);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto n = setup.envelope->SealInto(message, BenchContext(), absl::MakeSpan(out));
    if (!n.ok()) Die("seal");
    benchmark::DoNotOptimize(out.data());
  }
  const double ours = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() -
                                                               start).count() /
                      static_cast<double>(state.iterations());
  const int calls = setup.counting->generate_calls() + setup.counting->decrypt_calls();
  Setup reference = NewSetup(kKmsPerMessage);
  double per_message = SealLoop(reference, state.iterations(), out);
  for (int round = 0; round < 2; ++round) {
    per_message = std::min(per_message, SealLoop(reference, state.iterations(), out));
  }
  state.counters["kms_calls_per_100k"] = 1e5 * calls / static_cast<double>(state.iterations());
  state.counters["ratio_vs_kms_per_message"] = ours / per_message;
  state.counters["kms_per_message_ns"] = per_message;
  state.SetLabel(mode == kKmsPerMessage ? "kms-per-message"
                 : mode == kDataKeyCache ? "data-key-cache"
                                         : "branch-keys");
}
BENCHMARK(BM_Seal64)->Arg(kKmsPerMessage)->Arg(kDataKeyCache)->Arg(kBranchKeys);

void BM_KmsCallsPer100k(benchmark::State& state) {
  const Mode mode = static_cast<Mode>(state.range(0));
  for (auto _ : state) {
    Setup setup = NewSetup(mode);
    std::vector<uint8_t> out(setup.envelope->SealedSize(64, BenchContext()));
    SealLoop(setup, 100000, out);
    state.counters["kms_calls"] =
        setup.counting->generate_calls() + setup.counting->decrypt_calls();
  }
  state.SetLabel(mode == kKmsPerMessage ? "kms-per-message"
                 : mode == kDataKeyCache ? "data-key-cache"
                                         : "branch-keys");
}
BENCHMARK(BM_KmsCallsPer100k)
    ->Arg(kKmsPerMessage)->Arg(kDataKeyCache)->Arg(kBranchKeys)
    ->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bench
}  // namespace kms_envelope

BENCHMARK_MAIN();
