// Process-wide fixtures the benchmark binaries share: one local provider over a CMK store in a
// temp dir, and one encryption context, built on first use and kept for the whole process (a
// benchmark's setup must not land inside a timed loop).
//
//   KeyProvider* provider = bench::SharedLocal().provider();
//   req.encryption_context = &bench::BenchContext();
#ifndef KMS_ENVELOPE_BENCHMARKS_BENCH_FIXTURE_H_
#define KMS_ENVELOPE_BENCHMARKS_BENCH_FIXTURE_H_

#include <utility>

#include "benchmarks/bench_util.h"
#include "kms_envelope/encryption_context.h"
#include "tests/cache/local_fixture.h"

namespace kms_envelope {
namespace bench {

inline cache_testing::LocalFixture& SharedLocal() {
  static cache_testing::LocalFixture* fixture = [] {
    auto f = cache_testing::NewLocalFixture();
    if (f == nullptr) Die("local provider");
    return f.release();
  }();
  return *fixture;
}

// Two pairs, as a typical caller's context: its canonical form is part of every AAD.
inline const EncryptionContext& BenchContext() {
  static const EncryptionContext* ctx = [] {
    auto c = EncryptionContext::FromPairs({{"tenant", "acme"}, {"purpose", "benchmark"}});
    if (!c.ok()) Die("context");
    return new EncryptionContext(*std::move(c));
  }();
  return *ctx;
}

}  // namespace bench
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BENCHMARKS_BENCH_FIXTURE_H_
