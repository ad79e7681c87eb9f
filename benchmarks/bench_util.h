// Shared pieces of the benchmark binaries: the bare primitive chains our operations are built
// on, and the in-run ratio measurement.
//
// Ratio method: each "ours" benchmark times its own loop (steady_clock around the
// `for (auto _ : state)` loop), then, still in the same run and right after, runs the bare chain
// for the same number of iterations (best of three rounds) and reports
//   ratio_vs_bare = ours ns/op / bare ns/op     (time ratio: 1.0 = as fast, 1.5 = 50% slower)
//   bare_ns       = the bare chain's ns/op measured then
// both as thread-averaged counters. Throughput benchmarks also report
//   throughput_vs_bare = bare ns/op / ours ns/op (1.0 = same throughput, 0.9 = 90% of it).
#ifndef KMS_ENVELOPE_BENCHMARKS_BENCH_UTIL_H_
#define KMS_ENVELOPE_BENCHMARKS_BENCH_UTIL_H_

#include <intel-ipsec-mb.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope {
namespace bench {

inline void Die(const char* what) {
  std::fprintf(stderr, "benchmark setup failed: %s\n", what);
  std::abort();
}

// AES-256-GCM straight from OpenSSL EVP with the key schedule expanded once (the context is
// reused; each operation only sets the IV).
class BareAesGcm {
 public:
  BareAesGcm() {
    uint8_t key[32];
    internal::FillRandomFromKernel(absl::MakeSpan(key));
    enc_ = EVP_CIPHER_CTX_new();
    dec_ = EVP_CIPHER_CTX_new();
    if (EVP_EncryptInit_ex(enc_, EVP_aes_256_gcm(), nullptr, key, nullptr) != 1 ||
        EVP_DecryptInit_ex(dec_, EVP_aes_256_gcm(), nullptr, key, nullptr) != 1) {
      Die("EVP init");
    }
    sodium_memzero(key, sizeof(key));
  }
  ~BareAesGcm() {
    EVP_CIPHER_CTX_free(enc_);
    EVP_CIPHER_CTX_free(dec_);
  }
  BareAesGcm(const BareAesGcm&) = delete;
  BareAesGcm& operator=(const BareAesGcm&) = delete;

  // out: n bytes of ciphertext then 16 bytes of tag.
  void Seal(const uint8_t nonce[12], const uint8_t* aad, size_t aad_len, const uint8_t* in,
            size_t n, uint8_t* out) {
    int len = 0;
    bool ok = EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, nonce) == 1;
    if (aad_len > 0) ok = ok && EVP_EncryptUpdate(enc_, nullptr, &len, aad, (int)aad_len) == 1;
    for (size_t off = 0; ok && off < n; off += kChunk) {
      int c = static_cast<int>(std::min(kChunk, n - off));
      ok = EVP_EncryptUpdate(enc_, out + off, &len, in + off, c) == 1;
    }
    ok = ok && EVP_EncryptFinal_ex(enc_, out + n, &len) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, 16, out + n) == 1;
    if (!ok) Die("EVP seal");
  }
  bool Open(const uint8_t nonce[12], const uint8_t* aad, size_t aad_len, const uint8_t* in,
            size_t n_with_tag, uint8_t* out) {
    size_t n = n_with_tag - 16;
    int len = 0;
    bool ok = EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, nonce) == 1;
    if (aad_len > 0) ok = ok && EVP_DecryptUpdate(dec_, nullptr, &len, aad, (int)aad_len) == 1;
    for (size_t off = 0; ok && off < n; off += kChunk) {
      int c = static_cast<int>(std::min(kChunk, n - off));
      ok = EVP_DecryptUpdate(dec_, out + off, &len, in + off, c) == 1;
    }
    ok = ok && EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(in + n)) == 1;
    ok = ok && EVP_DecryptFinal_ex(dec_, out + n, &len) == 1;
    return ok;
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 30;
  EVP_CIPHER_CTX* enc_;
  EVP_CIPHER_CTX* dec_;
};

// AES-256-GCM as one raw intel-ipsec-mb call (the arch init_mb_mgr_auto picks) with the key
// schedule and GHASH table precomputed once: the hardware limit our AES-GCM paths are held to.
class BareIpsecMbGcm {
 public:
  BareIpsecMbGcm() {
    mgr_ = alloc_mb_mgr(0);
    if (mgr_ == nullptr) Die("alloc_mb_mgr");
    init_mb_mgr_auto(mgr_, &arch_);
    uint8_t key[32];
    internal::FillRandomFromKernel(absl::MakeSpan(key));
    IMB_AES256_GCM_PRE(mgr_, key, &key_data_);
    sodium_memzero(key, sizeof(key));
  }
  ~BareIpsecMbGcm() {
    sodium_memzero(&key_data_, sizeof(key_data_));
    free_mb_mgr(mgr_);
  }
  BareIpsecMbGcm(const BareIpsecMbGcm&) = delete;
  BareIpsecMbGcm& operator=(const BareIpsecMbGcm&) = delete;

  // out: n bytes of ciphertext then 16 bytes of tag.
  void Seal(const uint8_t nonce[12], const uint8_t* aad, size_t aad_len, const uint8_t* in,
            size_t n, uint8_t* out) {
    static const uint8_t kEmpty[1] = {0};
    IMB_AES256_GCM_ENC(mgr_, &key_data_, &ctx_, out, n ? in : kEmpty, n, nonce,
                       aad ? aad : kEmpty, aad_len, out + n, 16);
  }
  bool Open(const uint8_t nonce[12], const uint8_t* aad, size_t aad_len, const uint8_t* in,
            size_t n_with_tag, uint8_t* out) {
    static const uint8_t kEmpty[1] = {0};
    uint8_t none[1], tag[16];
    const size_t n = n_with_tag - 16;
    IMB_AES256_GCM_DEC(mgr_, &key_data_, &ctx_, n ? out : none, n ? in : kEmpty, n, nonce,
                       aad ? aad : kEmpty, aad_len, tag, 16);
    return sodium_memcmp(tag, in + n, 16) == 0;
  }
  IMB_ARCH arch() const { return arch_; }

 private:
  IMB_MGR* mgr_ = nullptr;
  IMB_ARCH arch_ = IMB_ARCH_NONE;
  alignas(64) struct gcm_key_data key_data_;  // the header aligns it only when LINUX is defined
  alignas(64) struct gcm_context_data ctx_;
};

// XChaCha20-Poly1305 straight from libsodium.
class BareXChaCha {
 public:
  BareXChaCha() {
    if (sodium_init() < 0) Die("sodium_init");
    crypto_aead_xchacha20poly1305_ietf_keygen(key_);
  }
  ~BareXChaCha() { sodium_memzero(key_, sizeof(key_)); }
  void Seal(const uint8_t nonce[24], const uint8_t* aad, size_t aad_len, const uint8_t* in,
            size_t n, uint8_t* out) {
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out, out + n, nullptr, in, n, aad, aad_len,
                                                        nullptr, nonce, key_);
  }
  bool Open(const uint8_t nonce[24], const uint8_t* aad, size_t aad_len, const uint8_t* in,
            size_t n_with_tag, uint8_t* out) {
    size_t n = n_with_tag - 16;
    return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(out, nullptr, in, n, in + n, aad,
                                                               aad_len, nonce, key_) == 0;
  }

 private:
  uint8_t key_[32];
};

// Times a loop body of ours; Start() before the benchmark loop, Stop() right after it.
class LoopTimer {
 public:
  void Start() { start_ = std::chrono::steady_clock::now(); }
  void Stop() { stop_ = std::chrono::steady_clock::now(); }
  double NsPerOp(int64_t iterations) const {
    if (iterations <= 0) return 0;
    return std::chrono::duration<double, std::nano>(stop_ - start_).count() /
           static_cast<double>(iterations);
  }

 private:
  std::chrono::steady_clock::time_point start_, stop_;
};

// Runs `bare` `iterations` times in three rounds (at least one call each) and returns the best
// round's ns/op. Taking the best of three makes the baseline robust against a neighbour's burst
// on this shared VM; it biases every ratio against us (ours is Google Benchmark's mean), never
// in our favour.
template <typename F>
double MeasureBareNsPerOp(int64_t iterations, F&& bare) {
  const int64_t per_round = std::max<int64_t>(1, iterations / 3);
  for (int i = 0; i < 3; ++i) bare();  // warm up
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < per_round; ++i) bare();
    auto stop = std::chrono::steady_clock::now();
    const double ns = std::chrono::duration<double, std::nano>(stop - start).count() /
                      static_cast<double>(per_round);
    if (round == 0 || ns < best) best = ns;
  }
  return best;
}

// Reports the in-run ratio counters (averaged over threads).
inline void ReportRatio(benchmark::State& state, double ours_ns, double bare_ns,
                        bool throughput) {
  using benchmark::Counter;
  state.counters["ours_ns"] = Counter(ours_ns, Counter::kAvgThreads);
  state.counters["bare_ns"] = Counter(bare_ns, Counter::kAvgThreads);
  if (bare_ns > 0) {
    state.counters["ratio_vs_bare"] = Counter(ours_ns / bare_ns, Counter::kAvgThreads);
  }
  if (throughput && ours_ns > 0) {
    state.counters["throughput_vs_bare"] = Counter(bare_ns / ours_ns, Counter::kAvgThreads);
  }
}

// AES-256-GCM rows: our throughput as a fraction of one raw ipsec-mb call of the same size
// (target >= 0.85) and as a multiple of OpenSSL EVP's (the previous default).
inline void ReportAesLimits(benchmark::State& state, double ours_ns, double ipsec_mb_ns,
                            double evp_ns) {
  using benchmark::Counter;
  state.counters["ipsec_mb_ns"] = Counter(ipsec_mb_ns, Counter::kAvgThreads);
  state.counters["evp_ns"] = Counter(evp_ns, Counter::kAvgThreads);
  if (ours_ns > 0) {
    state.counters["throughput_vs_ipsec_mb"] = Counter(ipsec_mb_ns / ours_ns, Counter::kAvgThreads);
    state.counters["throughput_vs_evp"] = Counter(evp_ns / ours_ns, Counter::kAvgThreads);
  }
}

inline std::vector<uint8_t> RandomBuffer(size_t n) {
  std::vector<uint8_t> v(n);
  if (n > 0) internal::FillRandom(absl::MakeSpan(v));
  return v;
}

}  // namespace bench
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_BENCHMARKS_BENCH_UTIL_H_
