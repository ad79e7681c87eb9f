// The per-message chain of a small Seal and Open, one step per benchmark, with the local
// provider: what each step costs, so that docs/performance.md can list them next to the whole
// operation and the floor the format allows. Steps run exactly as Envelope runs them (the same
// private functions), each in isolation with its inputs prepared outside the timed loop.
//
//   bazel run -c opt //benchmarks:seal_steps_benchmark -- --benchmark_repetitions=5
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <sodium.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/bench_fixture.h"
#include "benchmarks/bench_util.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/envelope/message_keys.h"
#include "kms_envelope/internal/aead.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/hkdf.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope {
namespace bench {
namespace {

using envelope::Envelope;
using envelope::MessageKeys;
using envelope::Suite;

constexpr Suite kSuite = Suite::kAes256GcmHkdfSha256Committing;
constexpr size_t kMessage = 64;

Envelope& Env() {
  static Envelope* env = [] {
    envelope::EnvelopeOptions eo;
    eo.suite = kSuite;
    eo.primary = {SharedLocal().shared(), SharedLocal().key_a()};
    auto e = Envelope::New(std::move(eo));
    if (!e.ok()) Die("envelope");
    return e->release();
  }();
  return *env;
}

// A sealed 64-byte message and its pieces, for the Open steps.
struct Sealed {
  std::vector<uint8_t> plaintext = RandomBuffer(kMessage);
  std::string message;
  envelope::ParsedHeader parsed;
  Sealed() {
    auto s = Env().Seal(absl::MakeConstSpan(plaintext), BenchContext());
    if (!s.ok()) Die("seal");
    message = *std::move(s);
    auto p = envelope::ParseHeader(internal::Bytes(message));
    if (!p.ok()) Die("parse");
    parsed = *std::move(p);
  }
};

const Sealed& OneSealed() {
  static const Sealed* s = new Sealed();
  return *s;
}

// ---- whole operations ----

void BM_Seal64(benchmark::State& state) {
  const std::vector<uint8_t> in = RandomBuffer(kMessage);
  for (auto _ : state) {
    auto s = Env().Seal(absl::MakeConstSpan(in), BenchContext());
    if (!s.ok()) Die("seal");
    benchmark::DoNotOptimize(s->data());
  }
}
BENCHMARK(BM_Seal64);

void BM_SealInto64(benchmark::State& state) {
  const std::vector<uint8_t> in = RandomBuffer(kMessage);
  std::vector<uint8_t> out(Env().SealedSize(kMessage, BenchContext()));
  for (auto _ : state) {
    auto n = Env().SealInto(absl::MakeConstSpan(in), BenchContext(), absl::MakeSpan(out));
    if (!n.ok()) Die("seal into");
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_SealInto64);

void BM_Open64(benchmark::State& state) {
  const Sealed& s = OneSealed();
  for (auto _ : state) {
    auto o = Env().Open(s.message, BenchContext());
    if (!o.ok()) Die("open");
    benchmark::DoNotOptimize(o->data());
  }
}
BENCHMARK(BM_Open64);

void BM_OpenInto64(benchmark::State& state) {
  const Sealed& s = OneSealed();
  std::vector<uint8_t> out(kMessage);
  for (auto _ : state) {
    auto n = Env().OpenInto(internal::Bytes(s.message), BenchContext(), absl::MakeSpan(out));
    if (!n.ok()) Die("open into");
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_OpenInto64);

// ---- seal steps, in the order Seal runs them ----

void BM_Step_MessageIdRandom(benchmark::State& state) {
  std::array<uint8_t, envelope::kMessageIdSize> id;
  for (auto _ : state) {
    internal::FillRandom(absl::MakeSpan(id));
    benchmark::DoNotOptimize(id.data());
  }
}
BENCHMARK(BM_Step_MessageIdRandom);

// The local provider's GenerateDataKey: random data key, AES-GCM wrap under the CMK, blob.
void BM_Step_LocalGenerateDataKey(benchmark::State& state) {
  GenerateDataKeyRequest req;
  req.key_id = SharedLocal().key_a();
  req.key_spec = "AES_256";
  req.number_of_bytes = 32;
  req.encryption_context = &BenchContext();
  req.message_bytes = kMessage;
  GenerateDataKeyResponse dk;
  for (auto _ : state) {
    if (!SharedLocal().provider()->GenerateDataKeyInto(req, &dk).ok()) Die("generate");
    benchmark::DoNotOptimize(dk.ciphertext_blob.data());
  }
}
BENCHMARK(BM_Step_LocalGenerateDataKey);

// The bare pieces of that wrap, for comparison: 32 random bytes + 12-byte IV, and one AES-GCM
// seal of 32 bytes under a precomputed key with the context as AAD (raw ipsec-mb).
void BM_Step_BareWrapFloor(benchmark::State& state) {
  BareIpsecMbGcm cmk;
  uint8_t key[32], iv[12], out[48];
  const auto aad = BenchContext().Canonical();
  for (auto _ : state) {
    internal::FillRandom(absl::MakeSpan(key));
    internal::FillRandom(absl::MakeSpan(iv));
    cmk.Seal(iv, aad.data(), aad.size(), key, 32, out);
    benchmark::DoNotOptimize(out);
  }
  sodium_memzero(key, sizeof(key));
}
BENCHMARK(BM_Step_BareWrapFloor);

void BM_Step_HkdfTwoOutputs(benchmark::State& state) {
  uint8_t dk[32], id[32], payload[32], commitment[32];
  internal::FillRandom(absl::MakeSpan(dk));
  internal::FillRandom(absl::MakeSpan(id));
  const uint8_t info1[] = "kms-envelope/v1/payload-key\x01";
  const uint8_t info2[] = "kms-envelope/v1/key-commitment\x01";
  const internal::HkdfOutput outputs[] = {
      {absl::MakeConstSpan(info1, sizeof(info1) - 1), absl::MakeSpan(payload)},
      {absl::MakeConstSpan(info2, sizeof(info2) - 1), absl::MakeSpan(commitment)}};
  for (auto _ : state) {
    if (!internal::HkdfSha256Expand(absl::MakeConstSpan(dk), absl::MakeConstSpan(id), outputs)
             .ok()) {
      Die("hkdf");
    }
    benchmark::DoNotOptimize(payload);
  }
}
BENCHMARK(BM_Step_HkdfTwoOutputs);

// Format v2's key schedule: the one-step KDF, 64 bytes from the data key and 53 bytes of fixed
// info (4 SHA-256 compressions; BM_Floor_Sha256FourCompressions is the same work as raw calls).
void BM_Step_OneStepKdf(benchmark::State& state) {
  uint8_t dk[32], fixed_info[53], okm[64];
  internal::FillRandom(absl::MakeSpan(dk));
  internal::FillRandom(absl::MakeSpan(fixed_info));
  for (auto _ : state) {
    if (!internal::OneStepKdfSha256(dk, fixed_info, absl::MakeSpan(okm)).ok()) Die("kdf");
    benchmark::DoNotOptimize(okm);
  }
}
BENCHMARK(BM_Step_OneStepKdf);

// Payload key setup: locked buffer + AES key schedule + GHASH table (the default backend).
void BM_Step_PayloadKeySetup(benchmark::State& state) {
  uint8_t key[32];
  internal::FillRandom(absl::MakeSpan(key));
  for (auto _ : state) {
    auto k = internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(key));
    if (!k.ok()) Die("aead key");
    benchmark::DoNotOptimize(&*k);
  }
  state.SetLabel(std::string(internal::AesGcmBackendDescription()));
}
BENCHMARK(BM_Step_PayloadKeySetup);

// The same on each forced backend, to see which setup is cheapest for one small message.
void BM_Step_PayloadKeySetupBackend(benchmark::State& state) {
  const auto backend = static_cast<internal::AeadBackend>(state.range(0));
  if (backend != internal::AeadBackend::kOpenSsl && backend != internal::AeadBackend::kLibsodium &&
      !internal::IpsecMbBackendAvailable(backend)) {
    state.SkipWithError("backend unavailable on this CPU");
    return;
  }
  uint8_t key[32];
  internal::FillRandom(absl::MakeSpan(key));
  for (auto _ : state) {
    auto k = internal::AeadKey::New(internal::AeadAlgorithm::kAes256Gcm, absl::MakeConstSpan(key),
                                    backend);
    if (!k.ok()) Die("aead key");
    benchmark::DoNotOptimize(&*k);
  }
  state.SetLabel(std::string(internal::AeadBackendName(backend)));
}
BENCHMARK(BM_Step_PayloadKeySetupBackend)
    ->Arg(static_cast<int>(internal::AeadBackend::kOpenSsl))
    ->Arg(static_cast<int>(internal::AeadBackend::kLibsodium))
    ->Arg(static_cast<int>(internal::AeadBackend::kIpsecMbSse))
    ->Arg(static_cast<int>(internal::AeadBackend::kIpsecMbAvx2))
    ->Arg(static_cast<int>(internal::AeadBackend::kIpsecMbAvx512));

void BM_Step_DeriveMessageKeys(benchmark::State& state) {
  uint8_t dk[32], id[32];
  internal::FillRandom(absl::MakeSpan(dk));
  internal::FillRandom(absl::MakeSpan(id));
  for (auto _ : state) {
    auto keys = envelope::DeriveMessageKeys(envelope::kFormatVersion, kSuite, absl::MakeConstSpan(dk),
                                            absl::MakeConstSpan(id));
    if (!keys.ok()) Die("derive");
    benchmark::DoNotOptimize(&*keys);
  }
}
BENCHMARK(BM_Step_DeriveMessageKeys);

MessageKeys Keys() {
  uint8_t dk[32], id[32];
  internal::FillRandom(absl::MakeSpan(dk));
  internal::FillRandom(absl::MakeSpan(id));
  auto keys = envelope::DeriveMessageKeys(envelope::kFormatVersion, kSuite, absl::MakeConstSpan(dk),
                                          absl::MakeConstSpan(id));
  if (!keys.ok()) Die("derive");
  return *std::move(keys);
}

void BM_Step_HeaderSerialize(benchmark::State& state) {
  const Sealed& s = OneSealed();
  const envelope::WrappedKey& wk = s.parsed.header.wrapped_keys[0];
  envelope::WrappedKeyView view{wk.provider_id, wk.key_id, wk.key_version_id, wk.ciphertext_blob};
  envelope::HeaderFields fields;
  fields.suite = kSuite;
  fields.message_id = absl::MakeConstSpan(s.parsed.header.message_id);
  fields.wrapped_keys = absl::MakeConstSpan(&view, 1);
  fields.context = &BenchContext();
  fields.commitment = absl::MakeConstSpan(s.parsed.header.commitment);
  std::string out;
  for (auto _ : state) {
    if (!envelope::ValidateHeaderFields(fields).ok()) Die("fields");
    envelope::SerializeHeaderBodyInto(fields, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["header_bytes"] = static_cast<double>(s.parsed.header_size);
}
BENCHMARK(BM_Step_HeaderSerialize);

void BM_Step_HeaderTag(benchmark::State& state) {
  const Sealed& s = OneSealed();
  const MessageKeys keys = Keys();
  const auto body = internal::Bytes(s.message).first(s.parsed.body_size);
  uint8_t tag[16];
  for (auto _ : state) {
    if (!envelope::ComputeHeaderTag(keys, body, absl::MakeSpan(tag)).ok()) Die("tag");
    benchmark::DoNotOptimize(tag);
  }
}
BENCHMARK(BM_Step_HeaderTag);

// One 64-byte frame: nonce, AAD, AES-GCM seal under the precomputed payload key.
void BM_Step_Frame64(benchmark::State& state) {
  const MessageKeys keys = Keys();
  const std::vector<uint8_t> in = RandomBuffer(kMessage);
  std::vector<uint8_t> out(kMessage + 16);
  uint8_t nonce[12] = {1};
  for (auto _ : state) {
    if (!keys.payload.Seal(absl::MakeConstSpan(nonce), absl::MakeConstSpan(nonce, 12 - 1),
                           absl::MakeConstSpan(in), absl::MakeSpan(out))
             .ok()) {
      Die("frame");
    }
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Step_Frame64);

// ---- open steps ----

// Into a reused header, as Open does (per-thread buffers).
void BM_Step_ParseHeader(benchmark::State& state) {
  const Sealed& s = OneSealed();
  envelope::ParsedHeader parsed;
  for (auto _ : state) {
    if (!envelope::ParseHeaderInto(internal::Bytes(s.message), &BenchContext(), &parsed).ok()) {
      Die("parse");
    }
    benchmark::DoNotOptimize(&parsed);
  }
}
BENCHMARK(BM_Step_ParseHeader);

void BM_Step_LocalDecrypt(benchmark::State& state) {
  const Sealed& s = OneSealed();
  DecryptRequest req;
  req.ciphertext_blob = internal::Bytes(s.parsed.header.wrapped_keys[0].ciphertext_blob);
  req.encryption_context = &BenchContext();
  DecryptResponse resp;
  for (auto _ : state) {
    if (!SharedLocal().provider()->DecryptInto(req, &resp).ok()) Die("decrypt");
    benchmark::DoNotOptimize(resp.plaintext.data());
  }
}
BENCHMARK(BM_Step_LocalDecrypt);

void BM_Step_VerifyHeader(benchmark::State& state) {
  const Sealed& s = OneSealed();
  DecryptRequest req;
  req.ciphertext_blob = internal::Bytes(s.parsed.header.wrapped_keys[0].ciphertext_blob);
  req.encryption_context = &BenchContext();
  DecryptResponse resp;
  if (!SharedLocal().provider()->DecryptInto(req, &resp).ok()) Die("decrypt");
  auto keys = envelope::DeriveMessageKeys(s.parsed.header.version, kSuite, resp.plaintext.span(),
                                          s.parsed.header.message_id);
  if (!keys.ok()) Die("derive");
  const auto body = internal::Bytes(s.message).first(s.parsed.body_size);
  for (auto _ : state) {
    if (!envelope::VerifyHeader(*keys, s.parsed, body).ok()) Die("verify");
  }
}
BENCHMARK(BM_Step_VerifyHeader);

// ---- the floor: the same cryptographic work in raw library calls ----

// One fresh-key AES-256-GCM seal of 64 bytes on raw intel-ipsec-mb: key schedule + GHASH
// table, then the seal. The format needs two of these per message (header tag, frame) under one
// key, so the payload half of the floor is one setup and two GCM calls.
void BM_Floor_IpsecMbFreshKeyTwoCalls(benchmark::State& state) {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) Die("alloc_mb_mgr");
  IMB_ARCH arch;
  init_mb_mgr_auto(mgr, &arch);
  alignas(64) gcm_key_data key_data;
  alignas(64) gcm_context_data ctx;
  uint8_t key[32], iv[12] = {0}, in[kMessage] = {0}, out[kMessage], tag[16], header[210] = {0};
  internal::FillRandom(absl::MakeSpan(key));
  for (auto _ : state) {
    IMB_AES256_GCM_PRE(mgr, key, &key_data);
    IMB_AES256_GCM_ENC(mgr, &key_data, &ctx, out, in, 0, iv, header, sizeof(header), tag, 16);
    IMB_AES256_GCM_ENC(mgr, &key_data, &ctx, out, in, kMessage, iv, header, 41, tag, 16);
    benchmark::DoNotOptimize(out);
  }
  sodium_memzero(&key_data, sizeof(key_data));
  free_mb_mgr(mgr);
}
BENCHMARK(BM_Floor_IpsecMbFreshKeyTwoCalls);

// The HKDF floor: the format's two-output HKDF-SHA256 needs 10 SHA-256 compressions (Extract:
// 2 for the salt's pads, 2 for the MAC; Expand: 2 for the PRK's pads, 2 per output). One
// SHA-256 of 600 bytes is exactly 10 compressions. The low-level calls HKDF uses (SHA256() goes
// through EVP and measures its dispatch instead), one Update, so almost no per-call overhead.
void BM_Floor_Sha256TenCompressions(benchmark::State& state) {
  uint8_t in[600] = {0}, out[32];
  SHA256_CTX ctx;
  for (auto _ : state) {
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, in, sizeof(in));
    SHA256_Final(out, &ctx);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Floor_Sha256TenCompressions);

// Two SHA-256 calls of 89 bytes (2 compressions each): the floor of format v2's key schedule.
void BM_Floor_Sha256FourCompressions(benchmark::State& state) {
  uint8_t in[89] = {0}, out[64];
  for (auto _ : state) {
    for (int i = 0; i < 2; ++i) {
      SHA256_CTX ctx;
      SHA256_Init(&ctx);
      SHA256_Update(&ctx, in, sizeof(in));
      SHA256_Final(out + 32 * i, &ctx);
    }
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Floor_Sha256FourCompressions);

}  // namespace
}  // namespace bench
}  // namespace kms_envelope

BENCHMARK_MAIN();
