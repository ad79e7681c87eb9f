// Envelope seal/open in memory: round trips, tampering, policy, multiple CMKs, audit.
#include "kms_envelope/envelope/envelope.h"

#include <sodium.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <functional>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/testing/allocation_counter.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/testing/envelope_fault_provider.h"
#include "tests/envelope/envelope_test_util.h"

namespace kms_envelope {
namespace envelope {
namespace {

using envelope_test::NewTestKms;
using envelope_test::TestKms;
using envelope_test::TestPlaintext;
using testing::EnvelopeFaultProvider;

constexpr Suite kSuites[] = {Suite::kAes256GcmHkdfSha256Committing,
                             Suite::kXChaCha20Poly1305HkdfSha256Committing};

EncryptionContext Ctx(std::vector<std::pair<std::string, std::string>> pairs) {
  return *EncryptionContext::FromPairs(pairs);
}

std::unique_ptr<Envelope> MakeEnvelope(const TestKms& kms, Suite suite = kSuites[0],
                                       uint32_t frame_size = 64) {
  EnvelopeOptions o;
  o.suite = suite;
  o.frame_size = frame_size;
  o.primary = {kms.provider, kms.key_id};
  auto env = Envelope::New(std::move(o));
  EXPECT_TRUE(env.ok()) << env.status();
  return *std::move(env);
}

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kms = NewTestKms();
    ASSERT_TRUE(kms.ok()) << kms.status();
    kms_ = *std::move(kms);
  }
  TestKms kms_;
  EncryptionContext ctx_ = Ctx({{"tenant", "acme"}, {"purpose", "test"}});
};

TEST_F(EnvelopeTest, RoundTripsEverySuiteAndSizeClass) {
  for (Suite suite : kSuites) {
    for (uint32_t f : {64u, 4096u}) {
      auto env = MakeEnvelope(kms_, suite, f);
      for (size_t size : {size_t{0}, size_t{1}, size_t{f} - 1, size_t{f}, size_t{f} + 1,
                          size_t{3} * f + 7, size_t{1} << 20}) {
        const std::string pt = TestPlaintext(size);
        auto sealed = env->Seal(pt, ctx_);
        ASSERT_TRUE(sealed.ok()) << sealed.status();
        if (pt.size() >= 32) {
          EXPECT_EQ(sealed->find(pt.substr(0, 32)), std::string::npos) << "plaintext visible";
        }
        auto opened = env->Open(*sealed, ctx_);
        ASSERT_TRUE(opened.ok()) << SuiteName(suite) << " f=" << f << " size=" << size << " "
                                 << opened.status();
        EXPECT_EQ(*opened, pt);
        auto size_back = Envelope::PlaintextSize(kms_envelope::testing::Bytes(*sealed));
        ASSERT_TRUE(size_back.ok());
        EXPECT_EQ(*size_back, size);
      }
    }
  }
}

TEST_F(EnvelopeTest, SealIntoAndOpenIntoUseCallerBuffers) {
  auto env = MakeEnvelope(kms_, kSuites[1], 64);
  const std::string pt = TestPlaintext(1000);
  std::vector<uint8_t> buf(env->SealedSize(pt.size(), ctx_));
  auto n = env->SealInto(kms_envelope::testing::Bytes(pt), ctx_, absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_LE(*n, buf.size());
  std::vector<uint8_t> out(pt.size());
  auto m = env->OpenInto(absl::MakeConstSpan(buf.data(), *n), ctx_, absl::MakeSpan(out));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(std::string(out.begin(), out.end()), pt);
  // Too small buffers are refused before any provider call.
  std::vector<uint8_t> small(100);
  EXPECT_FALSE(env->SealInto(kms_envelope::testing::Bytes(pt), ctx_, absl::MakeSpan(small)).ok());
  std::vector<uint8_t> small_out(pt.size() - 1);
  EXPECT_FALSE(
      env->OpenInto(absl::MakeConstSpan(buf.data(), *n), ctx_, absl::MakeSpan(small_out)).ok());
}

// Opens `sealed` and checks it fails with no plaintext (OpenInto output stays all zero).
void ExpectOpenFails(const Envelope& env, const std::string& sealed, const EncryptionContext& ctx,
                     const std::string& what) {
  std::vector<uint8_t> out(4096, 0);
  auto n = env.OpenInto(kms_envelope::testing::Bytes(sealed), ctx, absl::MakeSpan(out));
  EXPECT_FALSE(n.ok()) << what;
  for (uint8_t b : out) {
    if (b != 0) {
      ADD_FAILURE() << what << ": plaintext left in the output buffer";
      break;
    }
  }
  EXPECT_FALSE(env.Open(sealed, ctx).ok()) << what;
}

TEST_F(EnvelopeTest, EverySingleBitFlipFailsAndReleasesNothing) {
  for (Suite suite : kSuites) {
    auto env = MakeEnvelope(kms_, suite, 64);
    for (size_t size : {size_t{0}, size_t{1}, size_t{100}}) {
      const std::string pt = TestPlaintext(size);
      auto sealed = env->Seal(pt, ctx_);
      ASSERT_TRUE(sealed.ok());
      for (size_t byte = 0; byte < sealed->size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
          std::string bad = *sealed;
          bad[byte] ^= static_cast<char>(1 << bit);
          ExpectOpenFails(*env, bad, ctx_, "flip byte " + std::to_string(byte));
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST_F(EnvelopeTest, EveryTruncationAndAppendedByteFails) {
  for (Suite suite : kSuites) {
    auto env = MakeEnvelope(kms_, suite, 64);
    for (size_t size : {size_t{0}, size_t{64}, size_t{100}}) {
      auto sealed = env->Seal(TestPlaintext(size), ctx_);
      ASSERT_TRUE(sealed.ok());
      for (size_t n = 0; n < sealed->size(); ++n) {
        ExpectOpenFails(*env, sealed->substr(0, n), ctx_, "truncated to " + std::to_string(n));
        if (HasFailure()) return;
      }
      for (const std::string& tail : {std::string(1, '\0'), std::string(16, 'x'),
                                      std::string(80, '\0')}) {
        ExpectOpenFails(*env, *sealed + tail, ctx_, "appended bytes");
      }
    }
  }
}

TEST_F(EnvelopeTest, WrongContextFails) {
  auto env = MakeEnvelope(kms_);
  auto sealed = env->Seal(TestPlaintext(10), ctx_);
  ASSERT_TRUE(sealed.ok());
  ExpectOpenFails(*env, *sealed, Ctx({{"tenant", "acme"}}), "subset context");
  ExpectOpenFails(*env, *sealed, Ctx({{"tenant", "evil"}, {"purpose", "test"}}), "other value");
  ExpectOpenFails(*env, *sealed, EncryptionContext::Empty(), "empty context");
}

// Splits a sealed message into header and payload.
std::pair<std::string, std::string> Split(const std::string& sealed) {
  auto parsed = ParseHeader(kms_envelope::testing::Bytes(sealed));
  EXPECT_TRUE(parsed.ok());
  return {sealed.substr(0, parsed->header_size), sealed.substr(parsed->header_size)};
}

TEST_F(EnvelopeTest, SwappedHeaderOrCiphertextBlobFails) {
  auto env = MakeEnvelope(kms_);
  auto a = env->Seal(TestPlaintext(100, 1), ctx_);
  auto b = env->Seal(TestPlaintext(100, 2), ctx_);
  ASSERT_TRUE(a.ok() && b.ok());
  auto [ha, pa] = Split(*a);
  auto [hb, pb] = Split(*b);
  ExpectOpenFails(*env, hb + pa, ctx_, "header of b on payload of a");
  // Put b's CiphertextBlob into a's header (same length, same context): the provider unwraps
  // b's data key, and the key commitment of a refuses it before any AEAD call.
  auto parsed_a = ParseHeader(kms_envelope::testing::Bytes(*a));
  auto parsed_b = ParseHeader(kms_envelope::testing::Bytes(*b));
  MessageHeader h = parsed_a->header;
  h.wrapped_keys[0].ciphertext_blob = parsed_b->header.wrapped_keys[0].ciphertext_blob;
  std::string forged = SerializeHeader(h) + pa;
  auto opened = env->Open(forged, ctx_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("commitment"), absl::string_view::npos)
      << opened.status();
}

TEST_F(EnvelopeTest, SubstitutedDataKeyIsCaughtByTheCommitment) {
  auto faulty = std::make_shared<EnvelopeFaultProvider>(kms_.provider);
  EnvelopeOptions o;
  o.frame_size = 64;
  o.primary = {faulty, kms_.key_id};
  auto env = *Envelope::New(std::move(o));
  auto sealed = env->Seal(TestPlaintext(100), ctx_);
  ASSERT_TRUE(sealed.ok());
  faulty->set_substitute_data_key(true);
  auto opened = env->Open(*sealed, ctx_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(GetKmsErrorCode(opened.status()), kms_code::kInvalidCiphertext);
  EXPECT_NE(opened.status().message().find("commitment"), absl::string_view::npos);
}

// Frames of a sealed message with frame size 64: header + list of frames.
struct Framed {
  std::string header;
  std::vector<std::string> frames;
  std::string Join() const {
    std::string s = header;
    for (const auto& f : frames) s += f;
    return s;
  }
};

Framed SplitFrames(const std::string& sealed, uint32_t f) {
  auto [h, payload] = Split(sealed);
  Framed out{h, {}};
  for (size_t pos = 0; pos < payload.size(); pos += f + kFrameTagSize) {
    out.frames.push_back(payload.substr(pos, f + kFrameTagSize));
  }
  return out;
}

TEST_F(EnvelopeTest, ReorderedDuplicatedAndDroppedFramesFail) {
  for (Suite suite : kSuites) {
    auto env = MakeEnvelope(kms_, suite, 64);
    auto sealed = env->Seal(TestPlaintext(64 * 4 + 10), ctx_);
    ASSERT_TRUE(sealed.ok());
    Framed fr = SplitFrames(*sealed, 64);
    ASSERT_EQ(fr.frames.size(), 5u);
    ASSERT_TRUE(env->Open(fr.Join(), ctx_).ok());
    Framed swapped = fr;
    std::swap(swapped.frames[1], swapped.frames[2]);
    ExpectOpenFails(*env, swapped.Join(), ctx_, "reordered");
    Framed dup = fr;
    dup.frames.insert(dup.frames.begin() + 1, fr.frames[1]);
    ExpectOpenFails(*env, dup.Join(), ctx_, "duplicated");
    Framed dropped = fr;
    dropped.frames.erase(dropped.frames.begin() + 2);
    ExpectOpenFails(*env, dropped.Join(), ctx_, "dropped middle");
    Framed no_final = fr;
    no_final.frames.pop_back();
    ExpectOpenFails(*env, no_final.Join(), ctx_, "dropped final (cut at a frame boundary)");
    Framed final_dup = fr;
    final_dup.frames.push_back(fr.frames.back());
    ExpectOpenFails(*env, final_dup.Join(), ctx_, "final frame twice");
    // A frame from another message under the same CMK.
    auto other = env->Seal(TestPlaintext(64 * 4 + 10, 9), ctx_);
    Framed mixed = fr;
    mixed.frames[1] = SplitFrames(*other, 64).frames[1];
    ExpectOpenFails(*env, mixed.Join(), ctx_, "frame from another message");
  }
}

TEST_F(EnvelopeTest, AMessageUnderTwoCmksOpensWithEitherAlone) {
  auto kms_b = NewTestKms();
  ASSERT_TRUE(kms_b.ok());
  EnvelopeOptions o;
  o.frame_size = 64;
  o.primary = {kms_.provider, kms_.key_id};
  o.additional = {{kms_b->provider, kms_b->key_id}};
  auto env = *Envelope::New(std::move(o));
  const std::string pt = TestPlaintext(300);
  auto sealed = env->Seal(pt, ctx_);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  auto parsed = ParseHeader(kms_envelope::testing::Bytes(*sealed));
  ASSERT_EQ(parsed->header.wrapped_keys.size(), 2u);
  EXPECT_EQ(parsed->header.wrapped_keys[0].key_id, kms_.key_id);
  EXPECT_EQ(parsed->header.wrapped_keys[1].key_id, kms_b->key_id);
  for (const TestKms* only : {&kms_, &*kms_b}) {
    EnvelopeOptions oo;
    oo.decrypt_providers = {only->provider};
    auto opener = *Envelope::New(std::move(oo));
    auto opened = opener->Open(*sealed, ctx_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, pt);
  }
}

TEST_F(EnvelopeTest, AllowListRefusesOtherKeysWithoutCallingTheProvider) {
  auto counting = std::make_shared<EnvelopeFaultProvider>(kms_.provider);
  auto env = MakeEnvelope(kms_);
  auto sealed = env->Seal(TestPlaintext(10), ctx_);
  ASSERT_TRUE(sealed.ok());
  EnvelopeOptions o;
  o.decrypt_providers = {counting};
  o.allowed_key_ids = {"00000000-0000-0000-0000-000000000000"};
  auto pinned = *Envelope::New(std::move(o));
  auto opened = pinned->Open(*sealed, ctx_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(GetKmsErrorCode(opened.status()), kms_code::kNoPermission);
  EXPECT_EQ(counting->total_calls(), 0);
  // The same opener with the right key pinned works, with exactly one Decrypt.
  EnvelopeOptions o2;
  o2.decrypt_providers = {counting};
  o2.allowed_key_ids = {kms_.key_id};
  auto ok = (*Envelope::New(std::move(o2)))->Open(*sealed, ctx_);
  EXPECT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(counting->decrypt_calls(), 1);
}

TEST_F(EnvelopeTest, AHeaderNamingAnAllowedKeyOverABlobOfAnotherCmkIsRefused) {
  // Forge: header entry says key A (allowed), blob is from CMK B of the same provider.
  auto other_key = kms_.create_key();
  ASSERT_TRUE(other_key.ok()) << other_key.status();
  EnvelopeOptions ob;
  ob.frame_size = 64;
  ob.primary = {kms_.provider, *other_key};
  auto env_b = *Envelope::New(std::move(ob));
  auto sealed_b = env_b->Seal(TestPlaintext(10), ctx_);
  ASSERT_TRUE(sealed_b.ok());
  auto parsed = ParseHeader(kms_envelope::testing::Bytes(*sealed_b));
  MessageHeader h = parsed->header;
  h.wrapped_keys[0].key_id = kms_.key_id;
  std::string forged = SerializeHeader(h) + sealed_b->substr(parsed->header_size);
  EnvelopeOptions o;
  o.decrypt_providers = {kms_.provider};
  o.allowed_key_ids = {kms_.key_id};
  auto opened = (*Envelope::New(std::move(o)))->Open(forged, ctx_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(GetKmsErrorCode(opened.status()), kms_code::kNoPermission) << opened.status();
}

TEST_F(EnvelopeTest, RequiredContextIsEnforcedOnSealAndOpen) {
  EnvelopeOptions o;
  o.frame_size = 64;
  o.primary = {kms_.provider, kms_.key_id};
  o.required_context = Ctx({{"tenant", "acme"}});
  auto env = *Envelope::New(std::move(o));
  EXPECT_FALSE(env->Seal(TestPlaintext(5), Ctx({{"tenant", "other"}})).ok());
  EXPECT_FALSE(env->Seal(TestPlaintext(5), EncryptionContext::Empty()).ok());
  auto sealed = env->Seal(TestPlaintext(5), ctx_);
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(env->Open(*sealed, ctx_).ok());
  // A message sealed elsewhere without the pair is refused by this envelope.
  auto plain_env = MakeEnvelope(kms_);
  auto other = plain_env->Seal(TestPlaintext(5), Ctx({{"tenant", "zeta"}}));
  ASSERT_TRUE(other.ok());
  auto opened = env->Open(*other, Ctx({{"tenant", "zeta"}}));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(GetKmsErrorCode(opened.status()), kms_code::kNoPermission);
}

TEST_F(EnvelopeTest, AuditHookSeesEveryProviderCallWithoutKeyMaterial) {
  auto counting = std::make_shared<EnvelopeFaultProvider>(kms_.provider);
  counting->set_from_cache(true);
  std::vector<std::string> events;
  EnvelopeOptions o;
  o.frame_size = 64;
  o.primary = {counting, kms_.alias.empty() ? kms_.key_id : kms_.alias};
  o.audit_hook = [&](const AuditEvent& e) {
    EXPECT_TRUE(e.ok);
    EXPECT_EQ(e.key_id, kms_.key_id);  // the GUID even when sealing under an alias
    EXPECT_FALSE(e.key_version_id.empty());
    EXPECT_FALSE(e.request_id.empty());
    EXPECT_TRUE(e.from_cache);
    EXPECT_EQ(e.message_id_hex.size(), 64u);
    events.push_back(std::string(e.operation) + "/" + std::string(e.kms_operation) + "/" +
                     std::string(e.provider_id));
  };
  auto env = *Envelope::New(std::move(o));
  auto sealed = env->Seal(TestPlaintext(5), ctx_);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_TRUE(env->Open(*sealed, ctx_).ok());
  const std::string pid(kms_.provider->provider_id());
  EXPECT_EQ(events, (std::vector<std::string>{"seal/GenerateDataKey/" + pid, "open/Decrypt/" + pid}));
}

TEST_F(EnvelopeTest, AuditHookReportsFailedProviderCalls) {
  auto faulty = std::make_shared<EnvelopeFaultProvider>(kms_.provider);
  std::vector<std::string> events;
  EnvelopeOptions o;
  o.frame_size = 64;
  o.primary = {faulty, kms_.key_id};
  o.audit_hook = [&](const AuditEvent& e) {
    events.push_back(std::string(e.kms_operation) + (e.ok ? "/ok" : "/failed") + "/" +
                     std::string(e.key_id));
  };
  auto env = *Envelope::New(std::move(o));
  auto sealed = env->Seal(TestPlaintext(5), ctx_);
  ASSERT_TRUE(sealed.ok());
  faulty->set_fail_decrypt(true);
  EXPECT_FALSE(env->Open(*sealed, ctx_).ok());
  EXPECT_EQ(events, (std::vector<std::string>{"GenerateDataKey/ok/" + kms_.key_id,
                                              "Decrypt/failed/" + kms_.key_id}));
}

// Seal reuses per-thread buffers for the provider's response: the data key the provider wrote
// must be zero once Seal returns (the buffer stays allocated, so it can be read back here).
TEST_F(EnvelopeTest, SealWipesTheDataKeyBufferTheProviderFilledBeforeReturning) {
  auto observing = std::make_shared<EnvelopeFaultProvider>(kms_.provider);
  const uint8_t* key = nullptr;
  size_t key_size = 0;
  observing->set_after_generate([&](GenerateDataKeyResponse* r) {
    key = r->plaintext.data();
    key_size = r->plaintext.size();
    EXPECT_FALSE(sodium_is_zero(key, key_size));
    return absl::OkStatus();
  });
  EnvelopeOptions o;
  o.frame_size = 64;
  o.primary = {observing, kms_.key_id};
  auto env = *Envelope::New(std::move(o));
  for (int round = 0; round < 3; ++round) {
    auto sealed = env->Seal(TestPlaintext(100), ctx_);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    ASSERT_NE(key, nullptr);
    EXPECT_TRUE(sodium_is_zero(key, key_size)) << "round " << round;
    std::vector<uint8_t> out(env->SealedSize(10, ctx_));
    auto n = env->SealInto(kms_envelope::testing::Bytes(TestPlaintext(10)), ctx_, absl::MakeSpan(out));
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_TRUE(sodium_is_zero(key, key_size)) << "round " << round;
  }
  // A provider that fails after writing the key: the key is wiped all the same.
  observing->set_after_generate([&](GenerateDataKeyResponse* r) {
    key = r->plaintext.data();
    key_size = r->plaintext.size();
    return KmsError(kms_code::kInternalFailure, "fails after writing the key");
  });
  EXPECT_FALSE(env->Seal(TestPlaintext(100), ctx_).ok());
  EXPECT_TRUE(sodium_is_zero(key, key_size));
}

// Runs `op` once to warm the thread's buffers, then 200 times under an allocation counter;
// returns the heap allocations of those 200 calls (every call must succeed).
size_t AllocationsWhenWarm(const std::function<bool()>& op) {
  EXPECT_TRUE(op());
  bool ok = true;
  size_t allocations = 0;
  {
    kms_envelope::testing::AllocationCounter counter;
    for (int i = 0; i < 200; ++i) ok = op() && ok;
    allocations = counter.count();
  }
  EXPECT_TRUE(ok);
  return allocations;
}

// The small-message hot path: once a thread has sealed a message, sealing short messages
// into a caller buffer under the local provider allocates nothing (per-thread response and
// header buffers, pooled locked memory for the payload key, no EVP context for short messages).
TEST_F(EnvelopeTest, SealIntoOfShortMessagesMakesNoHeapAllocationOnceWarm) {
  for (Suite suite : kSuites) {
    auto env = MakeEnvelope(kms_, suite, 4096);
    const std::string pt = TestPlaintext(64);
    std::vector<uint8_t> out(env->SealedSize(pt.size(), ctx_));
    EXPECT_EQ(AllocationsWhenWarm([&] {
                return env->SealInto(kms_envelope::testing::Bytes(pt), ctx_, absl::MakeSpan(out))
                    .ok();
              }),
              0u)
        << SuiteName(suite);
    auto n = env->SealInto(kms_envelope::testing::Bytes(pt), ctx_, absl::MakeSpan(out));
    ASSERT_TRUE(n.ok());
    auto opened = env->Open(absl::MakeConstSpan(out.data(), *n), ctx_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, pt);
  }
}

TEST_F(EnvelopeTest, AProviderThatSealsWhileSealingGetsItsOwnBuffers) {
  auto inner_env = MakeEnvelope(kms_);
  auto observing = std::make_shared<EnvelopeFaultProvider>(kms_.provider);
  std::string inner_sealed;
  observing->set_before_generate([&] {
    auto s = inner_env->Seal(TestPlaintext(77, 9), ctx_);
    ASSERT_TRUE(s.ok()) << s.status();
    inner_sealed = *s;
  });
  EnvelopeOptions o;
  o.frame_size = 64;
  o.primary = {observing, kms_.key_id};
  auto outer_env = *Envelope::New(std::move(o));
  auto outer_sealed = outer_env->Seal(TestPlaintext(300, 3), ctx_);
  ASSERT_TRUE(outer_sealed.ok()) << outer_sealed.status();
  auto outer_opened = inner_env->Open(*outer_sealed, ctx_);
  ASSERT_TRUE(outer_opened.ok()) << outer_opened.status();
  EXPECT_EQ(*outer_opened, TestPlaintext(300, 3));
  auto inner_opened = inner_env->Open(inner_sealed, ctx_);
  ASSERT_TRUE(inner_opened.ok()) << inner_opened.status();
  EXPECT_EQ(*inner_opened, TestPlaintext(77, 9));
}

// Open parses into per-thread buffers; an audit hook that opens another message in the middle of
// an Open (between Decrypt and the key derivation) must get buffers of its own.
TEST_F(EnvelopeTest, AnAuditHookThatOpensWhileOpeningGetsItsOwnBuffers) {
  auto inner_env = MakeEnvelope(kms_, kSuites[1], 4096);
  const std::string inner_sealed = *inner_env->Seal(TestPlaintext(77, 9), Ctx({{"inner", "1"}}));
  int inner_opens = 0;
  EnvelopeOptions o;
  o.frame_size = 64;
  o.primary = {kms_.provider, kms_.key_id};
  o.audit_hook = [&](const AuditEvent& e) {
    if (e.kms_operation != "Decrypt") return;
    auto opened = inner_env->Open(inner_sealed, Ctx({{"inner", "1"}}));
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, TestPlaintext(77, 9));
    ++inner_opens;
  };
  auto outer_env = *Envelope::New(std::move(o));
  const std::string outer_sealed = *outer_env->Seal(TestPlaintext(300, 3), ctx_);
  auto outer_opened = outer_env->Open(outer_sealed, ctx_);
  ASSERT_TRUE(outer_opened.ok()) << outer_opened.status();
  EXPECT_EQ(*outer_opened, TestPlaintext(300, 3));
  std::vector<uint8_t> out(300);
  auto n = outer_env->OpenInto(kms_envelope::testing::Bytes(outer_sealed), ctx_, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(out.begin(), out.end()), TestPlaintext(300, 3));
  EXPECT_EQ(inner_opens, 2);
}

// Once warm, OpenInto of a short message under the local provider allocates nothing: the parsed
// header's strings and the Decrypt response are per-thread buffers reused from call to call.
TEST_F(EnvelopeTest, OpenOfShortMessagesParsesAndUnwrapsWithoutAllocatingOnceWarm) {
  auto env = MakeEnvelope(kms_, kSuites[0], 4096);
  const std::string sealed = *env->Seal(TestPlaintext(64), ctx_);
  std::vector<uint8_t> out(64);
  EXPECT_EQ(AllocationsWhenWarm([&] {
              return env->OpenInto(kms_envelope::testing::Bytes(sealed), ctx_, absl::MakeSpan(out))
                  .ok();
            }),
            0u);
}

TEST_F(EnvelopeTest, AFailedSealReportsNoIdsLeftOverFromAnEarlierSeal) {
  std::vector<std::string> request_ids, version_ids;
  auto hook = [&](const AuditEvent& e) {
    request_ids.push_back(std::string(e.request_id));
    version_ids.push_back(std::string(e.key_version_id));
  };
  // Both envelopes seal on this thread, so the second reuses the buffers the first filled.
  EnvelopeOptions good;
  good.frame_size = 64;
  good.primary = {kms_.provider, kms_.key_id};
  good.audit_hook = hook;
  auto good_env = *Envelope::New(std::move(good));
  ASSERT_TRUE(good_env->Seal(TestPlaintext(5), ctx_).ok());
  EnvelopeOptions bad;
  bad.frame_size = 64;
  bad.primary = {kms_.provider, "no-such-key"};
  bad.audit_hook = hook;
  auto bad_env = *Envelope::New(std::move(bad));
  EXPECT_FALSE(bad_env->Seal(TestPlaintext(5), ctx_).ok());
  ASSERT_EQ(request_ids.size(), 2u);
  EXPECT_FALSE(request_ids[0].empty());
  EXPECT_FALSE(version_ids[0].empty());
  EXPECT_TRUE(request_ids[1].empty()) << request_ids[1];
  EXPECT_TRUE(version_ids[1].empty()) << version_ids[1];
}

TEST_F(EnvelopeTest, OneEnvelopeSealsAndOpensFromManyThreads) {
  auto env = MakeEnvelope(kms_, kSuites[1], 64);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string pt = TestPlaintext(static_cast<size_t>(t * 37 + i), static_cast<uint8_t>(t));
        auto sealed = env->Seal(pt, ctx_);
        if (!sealed.ok()) {
          ++failures;
          continue;
        }
        auto opened = env->Open(*sealed, ctx_);
        if (!opened.ok() || *opened != pt) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(EnvelopeTest, SealedSizeBoundsEveryMessageAndPlaintextSizeIsExact) {
  for (Suite suite : kSuites) {
    auto env = MakeEnvelope(kms_, suite, 64);
    for (size_t size : {0, 1, 63, 64, 65, 640, 641}) {
      const std::string pt = TestPlaintext(size);
      std::vector<uint8_t> buf(env->SealedSize(size, ctx_));
      auto n = env->SealInto(kms_envelope::testing::Bytes(pt), ctx_, absl::MakeSpan(buf));
      ASSERT_TRUE(n.ok()) << n.status();
      auto parsed = ParseHeader(absl::MakeConstSpan(buf.data(), *n));
      ASSERT_TRUE(parsed.ok());
      EXPECT_EQ(*n, parsed->header_size + PayloadSize(size, 64));
      auto back = Envelope::PlaintextSize(absl::MakeConstSpan(buf.data(), *n));
      ASSERT_TRUE(back.ok());
      EXPECT_EQ(*back, size);
    }
  }
}

TEST(EnvelopeOptionsTest, RejectsBadConfiguration) {
  auto kms = NewTestKms();
  ASSERT_TRUE(kms.ok());
  for (uint32_t f : {0u, kMinFrameSize - 1, kMaxFrameSize + 1}) {
    EnvelopeOptions o;
    o.frame_size = f;
    o.primary = {kms->provider, kms->key_id};
    EXPECT_FALSE(Envelope::New(std::move(o)).ok()) << f;
  }
  EXPECT_FALSE(Envelope::New(EnvelopeOptions{}).ok());  // no provider at all
  EnvelopeOptions no_key;
  no_key.primary = {kms->provider, ""};
  EXPECT_FALSE(Envelope::New(std::move(no_key)).ok());
  EnvelopeOptions too_many;
  too_many.primary = {kms->provider, kms->key_id};
  too_many.additional.assign(kMaxWrappedKeys, {kms->provider, kms->key_id});
  EXPECT_FALSE(Envelope::New(std::move(too_many)).ok());
  // An open-only envelope cannot seal.
  EnvelopeOptions open_only;
  open_only.decrypt_providers = {kms->provider};
  auto env = *Envelope::New(std::move(open_only));
  EXPECT_FALSE(env->Seal(std::string("x"), EncryptionContext::Empty()).ok());
}

}  // namespace
}  // namespace envelope
}  // namespace kms_envelope
