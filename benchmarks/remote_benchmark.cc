// The remote provider over loopback: RemoteKeyProvider -> KmsServer (HTTP on 127.0.0.1, signed
// V1 requests, JSON) over a LocalKeyStore, cache off and on, 1 and 2 threads. The "bare" figure
// of each benchmark is the same operation on a LocalKeyProvider over the same store, measured in
// the same run (so the ratio is the cost of the RPC).
//
//   bazel run -c opt //benchmarks:remote_benchmark -- --benchmark_format=json
#include <stdlib.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/bench_fixture.h"
#include "benchmarks/bench_util.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/remote/credentials.h"
#include "kms_envelope/remote/remote_key_provider.h"
#include "kms_envelope/server/access_policy.h"
#include "kms_envelope/server/kms_server.h"

namespace kms_envelope {
namespace bench {
namespace {

struct Loopback {
  std::shared_ptr<local::LocalKeyStore> store;
  std::shared_ptr<KeyProvider> local;
  std::unique_ptr<server::KmsServer> server;
  std::shared_ptr<KeyProvider> remote;
  std::string key_id;
};

Loopback& Kms() {
  static Loopback* kms = [] {
    auto* l = new Loopback();
    const char* base = std::getenv("TMPDIR");
    std::string dir = std::string(base != nullptr ? base : "/tmp") + "/kms_remote_bench_XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) Die("mkdtemp");
    local::LocalKeyStoreOptions so;
    so.directory = dir;
    auto store = local::LocalKeyStore::Open(so);
    if (!store.ok()) Die("store");
    l->store = std::shared_ptr<local::LocalKeyStore>(std::move(*store));
    auto key = l->store->CreateKey("remote benchmark");
    if (!key.ok()) Die("CreateKey");
    l->key_id = key->key_id;
    auto lp = local::LocalKeyProvider::New(l->store);
    if (!lp.ok()) Die("local provider");
    l->local = std::shared_ptr<KeyProvider>(std::move(*lp));

    server::KmsServerOptions o;
    o.store = l->store;
    if (!o.policy.Add("bench", "bench-secret-0123456789", {"*"}, {"*"}).ok()) Die("policy");
    o.port = 0;
    o.threads = 4;
    auto srv = server::KmsServer::New(std::move(o));
    if (!srv.ok() || !(*srv)->Start().ok()) Die("server");
    l->server = std::move(*srv);

    remote::RemoteKeyProviderOptions ro;
    ro.endpoint = "http://127.0.0.1:" + std::to_string(l->server->port());
    auto creds = remote::Credentials::New("bench", "bench-secret-0123456789");
    if (!creds.ok()) Die("credentials");
    auto rp = remote::RemoteKeyProvider::New(std::move(ro), *std::move(creds));
    if (!rp.ok()) Die("remote provider");
    l->remote = std::shared_ptr<KeyProvider>(std::move(*rp));
    return l;
  }();
  return *kms;
}

// A cache over `inner` (which the static Loopback keeps alive).
std::shared_ptr<KeyProvider> Cached(KeyProvider* inner) {
  cache::CachingKeyProvider::Options options;
  options.limits.max_age = std::chrono::hours(1);
  options.limits.max_messages = 1u << 30;
  options.limits.decrypt_max_age = std::chrono::hours(1);
  auto c = cache::CachingKeyProvider::NewBorrowing(inner, options);
  if (!c.ok()) Die("cache");
  return std::shared_ptr<KeyProvider>(std::move(*c));
}

// Runs `op(provider)` in the benchmark loop on the remote provider (cache off/on), then the same
// op on the local provider for as many iterations, and reports the ratio.
template <typename Op>
void RunAgainstLocal(benchmark::State& state, bool cached, Op op) {
  static std::shared_ptr<KeyProvider> shared_cache;
  if (state.thread_index() == 0) shared_cache = cached ? Cached(Kms().remote.get()) : nullptr;
  LoopTimer timer;
  bool first = true;
  for (auto _ : state) {
    if (first) {
      timer.Start();
      first = false;
    }
    KeyProvider* p = cached ? shared_cache.get() : Kms().remote.get();
    if (!op(p)) {
      state.SkipWithError("remote operation failed");
      return;
    }
  }
  timer.Stop();
  const int64_t bare_iterations = std::min<int64_t>(state.iterations(), 20000);
  double bare_ns = MeasureBareNsPerOp(bare_iterations, [&] {
    if (!op(Kms().local.get())) Die("local operation");
  });
  ReportRatio(state, timer.NsPerOp(state.iterations()), bare_ns, false);
}

void BM_RemoteGenerateDataKey(benchmark::State& state) {
  GenerateDataKeyRequest req;
  req.key_id = Kms().key_id;
  req.encryption_context = &BenchContext();
  req.message_bytes = 64;  // each call stands for one 64-byte message (the cache counts it)
  GenerateDataKeyResponse response;
  RunAgainstLocal(state, state.range(0) != 0, [&](KeyProvider* p) {
    return p->GenerateDataKeyInto(req, &response).ok();
  });
}
BENCHMARK(BM_RemoteGenerateDataKey)->Arg(0)->Arg(1)->ArgName("cache")->Threads(1)->Threads(2)->UseRealTime();

void BM_RemoteDecrypt(benchmark::State& state) {
  GenerateDataKeyRequest req;
  req.key_id = Kms().key_id;
  req.encryption_context = &BenchContext();
  auto dk = Kms().local->GenerateDataKey(req);
  if (!dk.ok()) Die("GenerateDataKey");
  DecryptRequest dreq;
  dreq.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(dk->ciphertext_blob.data()), dk->ciphertext_blob.size());
  dreq.encryption_context = &BenchContext();
  DecryptResponse response;
  RunAgainstLocal(state, state.range(0) != 0, [&](KeyProvider* p) {
    return p->DecryptInto(dreq, &response).ok();
  });
}
BENCHMARK(BM_RemoteDecrypt)->Arg(0)->Arg(1)->ArgName("cache")->Threads(1)->Threads(2)->UseRealTime();

// Seal through an Envelope whose primary provider is the remote one (cache off/on); bare = the
// same Envelope over the local provider.
void BM_RemoteSeal(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const bool cached = state.range(1) != 0;
  static std::shared_ptr<envelope::Envelope> remote_env, local_env;
  static std::shared_ptr<KeyProvider> shared_cache;
  if (state.thread_index() == 0) {
    shared_cache = cached ? Cached(Kms().remote.get()) : Kms().remote;
    envelope::EnvelopeOptions ro;
    ro.primary = {shared_cache, Kms().key_id};
    ro.max_blob_size_for_sizing = 512;
    auto r = envelope::Envelope::New(std::move(ro));
    envelope::EnvelopeOptions lo;
    lo.primary = {Kms().local, Kms().key_id};
    lo.max_blob_size_for_sizing = 512;
    auto l = envelope::Envelope::New(std::move(lo));
    if (!r.ok() || !l.ok()) Die("envelope");
    remote_env = std::shared_ptr<envelope::Envelope>(std::move(*r));
    local_env = std::shared_ptr<envelope::Envelope>(std::move(*l));
  }
  std::vector<uint8_t> in = RandomBuffer(n);
  std::vector<uint8_t> out;
  LoopTimer timer;
  bool first = true;
  for (auto _ : state) {
    if (first) {
      state.PauseTiming();
      out.resize(remote_env->SealedSize(n, BenchContext()));
      state.ResumeTiming();
      timer.Start();
      first = false;
    }
    if (!remote_env->SealInto(absl::MakeConstSpan(in), BenchContext(), absl::MakeSpan(out)).ok()) {
      state.SkipWithError("remote seal failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  timer.Stop();
  const int64_t bare_iterations = std::min<int64_t>(state.iterations(), 20000);
  double bare_ns = MeasureBareNsPerOp(bare_iterations, [&] {
    if (!local_env->SealInto(absl::MakeConstSpan(in), BenchContext(), absl::MakeSpan(out)).ok()) {
      Die("local seal");
    }
  });
  ReportRatio(state, timer.NsPerOp(state.iterations()), bare_ns, false);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_RemoteSeal)
    ->ArgsProduct({{64, 1 << 20}, {0, 1}})
    ->ArgNames({"bytes", "cache"})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace
}  // namespace bench
}  // namespace kms_envelope

BENCHMARK_MAIN();
