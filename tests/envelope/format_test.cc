// The header codec on its own: round trips, limits, hostile length fields, geometry.
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/envelope/message_keys.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "gtest/gtest.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/kms_error.h"

// Allocation probe: while armed, records the largest single allocation in this binary, so tests
// can show that a hostile length field never makes the parser allocate what it announces.
namespace {
std::atomic<bool> g_probe_armed{false};
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

void* operator new(size_t size) {
  if (g_probe_armed.load(std::memory_order_relaxed)) {
    size_t prev = g_largest_allocation.load();
    while (size > prev && !g_largest_allocation.compare_exchange_weak(prev, size)) {
    }
  }
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace kms_envelope {
namespace envelope {
namespace {

using kms_envelope::testing::StoreBigEndian32;

MessageHeader SampleHeader() {
  MessageHeader h;
  h.suite = Suite::kXChaCha20Poly1305HkdfSha256Committing;
  h.frame_size = 4096;
  for (size_t i = 0; i < kMessageIdSize; ++i) h.message_id[i] = static_cast<uint8_t>(i);
  h.wrapped_keys.push_back({"local", "key-a", "ver-1", std::string(96, 'b')});
  h.wrapped_keys.push_back({"local", "key-b", "", std::string(100, 'c')});
  h.context = *EncryptionContext::FromPairs({{"tenant", "t1"}, {"purpose", "test"}});
  for (size_t i = 0; i < kCommitmentSize; ++i) h.commitment[i] = static_cast<uint8_t>(0xc0 + i);
  for (size_t i = 0; i < kHeaderTagSize; ++i) h.header_tag[i] = static_cast<uint8_t>(0xa0 + i);
  return h;
}

absl::Span<const uint8_t> B(const std::string& s) { return kms_envelope::testing::Bytes(s); }

TEST(EnvelopeFormat, SerializedHeaderParsesBackToTheSameFields) {
  MessageHeader h = SampleHeader();
  ASSERT_TRUE(ValidateHeader(h).ok());
  std::string bytes = SerializeHeader(h);
  EXPECT_EQ(bytes.size(), SerializedHeaderSize(h));
  EXPECT_EQ(bytes.substr(0, 4), "KMSE");
  auto parsed = ParseHeader(B(bytes + "payload"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->header_size, bytes.size());
  EXPECT_EQ(parsed->body_size, bytes.size() - kHeaderTagSize);
  const MessageHeader& p = parsed->header;
  EXPECT_EQ(p.suite, h.suite);
  EXPECT_EQ(p.frame_size, h.frame_size);
  EXPECT_EQ(p.message_id, h.message_id);
  ASSERT_EQ(p.wrapped_keys.size(), 2u);
  EXPECT_EQ(p.wrapped_keys[0].provider_id, "local");
  EXPECT_EQ(p.wrapped_keys[0].key_id, "key-a");
  EXPECT_EQ(p.wrapped_keys[0].key_version_id, "ver-1");
  EXPECT_EQ(p.wrapped_keys[1].ciphertext_blob, std::string(100, 'c'));
  EXPECT_EQ(p.context, h.context);
  EXPECT_EQ(p.commitment, h.commitment);
  EXPECT_EQ(p.header_tag, h.header_tag);
}

TEST(EnvelopeFormat, ParsingWithTheExpectedContextSharesItOnlyWhenTheBytesMatch) {
  const MessageHeader h = SampleHeader();
  const std::string bytes = SerializeHeader(h);
  const EncryptionContext same = *EncryptionContext::FromJson(R"({"purpose":"test","tenant":"t1"})");
  auto shared = ParseHeader(B(bytes), &same);
  ASSERT_TRUE(shared.ok()) << shared.status();
  EXPECT_EQ(shared->header.context, h.context);
  EXPECT_EQ(shared->header.context.Canonical().data(), same.Canonical().data());

  const EncryptionContext other = *EncryptionContext::FromJson(R"({"tenant":"t1"})");
  auto parsed = ParseHeader(B(bytes), &other);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->header.context, h.context);  // the header's own context, decoded
  EXPECT_NE(parsed->header.context, other);
  // Every other field parses the same either way.
  auto plain = ParseHeader(B(bytes));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(SerializeHeader(shared->header), SerializeHeader(plain->header));
  EXPECT_EQ(SerializeHeader(parsed->header), SerializeHeader(plain->header));
}

TEST(EnvelopeFormat, FixedFieldsSitAtTheDocumentedOffsets) {
  MessageHeader h = SampleHeader();
  std::string b = SerializeHeader(h);
  EXPECT_EQ(static_cast<uint8_t>(b[4]), 2);   // version
  EXPECT_EQ(static_cast<uint8_t>(b[5]), 2);   // suite
  EXPECT_EQ(kms_envelope::testing::LoadBigEndian32(B(b).data() + 6), 4096u);
  EXPECT_EQ(std::memcmp(b.data() + 10, h.message_id.data(), 32), 0);
  EXPECT_EQ(kms_envelope::testing::LoadBigEndian32(B(b).data() + 42), 2u);
  EXPECT_EQ(kms_envelope::testing::LoadBigEndian32(B(b).data() + 46), 5u);  // len("local")
  EXPECT_EQ(b.substr(50, 5), "local");
  // The header ends with commitment || tag.
  EXPECT_EQ(std::memcmp(b.data() + b.size() - 48, h.commitment.data(), 32), 0);
  EXPECT_EQ(std::memcmp(b.data() + b.size() - 16, h.header_tag.data(), 16), 0);
}

TEST(EnvelopeFormat, EveryProperPrefixIsTruncatedNotMalformed) {
  std::string b = SerializeHeader(SampleHeader());
  for (size_t n = 0; n < b.size(); ++n) {
    auto parsed = ParseHeader(B(b.substr(0, n)));
    ASSERT_FALSE(parsed.ok()) << n;
    EXPECT_TRUE(absl::IsOutOfRange(parsed.status())) << n << " " << parsed.status();
  }
}

TEST(EnvelopeFormat, RejectsBadMagicVersionSuiteAndFrameSize) {
  const std::string good = SerializeHeader(SampleHeader());
  auto expect_malformed = [](std::string b, const char* what) {
    auto parsed = ParseHeader(kms_envelope::testing::Bytes(b));
    ASSERT_FALSE(parsed.ok()) << what;
    EXPECT_EQ(GetKmsErrorCode(parsed.status()), kms_code::kInvalidCiphertext) << what;
  };
  std::string b = good;
  b[0] = 'X';
  expect_malformed(b, "magic");
  expect_malformed("KX", "magic prefix");
  for (uint8_t version : {0, 3, 255}) {
    b = good;
    b[4] = static_cast<char>(version);
    expect_malformed(b, "version");
  }
  for (uint8_t suite : {0, 3, 255}) {
    b = good;
    b[5] = static_cast<char>(suite);
    expect_malformed(b, "suite");
  }
  for (uint32_t f : {0u, kMinFrameSize - 1, kMaxFrameSize + 1, 0xffffffffu}) {
    b = good;
    StoreBigEndian32(f, reinterpret_cast<uint8_t*>(b.data()) + 6);
    expect_malformed(b, "frame size");
  }
}

// Offsets of every u32 length field in the sample header, with its [min, max].
struct LengthField {
  const char* name;
  size_t offset;
  uint32_t min;
  uint32_t max;
};

std::vector<LengthField> LengthFields(const std::string& b) {
  std::vector<LengthField> out;
  out.push_back({"wrapped key count", 42, 1, kMaxWrappedKeys});
  size_t pos = 46;
  const uint8_t* p = kms_envelope::testing::Bytes(b).data();
  for (int k = 0; k < 2; ++k) {
    const char* names[4] = {"provider id", "key id", "key version id", "blob"};
    const uint32_t mins[4] = {1, 1, 0, 1};
    const uint32_t maxs[4] = {kMaxProviderIdSize, kMaxKeyIdSize, kMaxKeyVersionIdSize,
                              kMaxWrappedBlobSize};
    for (int f = 0; f < 4; ++f) {
      out.push_back({names[f], pos, mins[f], maxs[f]});
      pos += 4 + kms_envelope::testing::LoadBigEndian32(p + pos);
    }
  }
  out.push_back({"context", pos, 2, kMaxContextSize});
  return out;
}

TEST(EnvelopeFormat, HostileLengthFieldsAreRejectedWithoutLargeAllocations) {
  const std::string good = SerializeHeader(SampleHeader());
  ASSERT_TRUE(ParseHeader(B(good)).ok());
  for (const LengthField& field : LengthFields(good)) {
    for (uint64_t value : {uint64_t{0}, uint64_t{field.max}, uint64_t{field.max} + 1,
                           uint64_t{0xffffffff}}) {
      if (value >= field.min && value <= field.max &&
          value == kms_envelope::testing::LoadBigEndian32(B(good).data() + field.offset)) {
        continue;  // the sample's own value
      }
      std::string b = good;
      StoreBigEndian32(static_cast<uint32_t>(value), reinterpret_cast<uint8_t*>(b.data()) + field.offset);
      g_largest_allocation = 0;
      g_probe_armed = true;
      auto parsed = ParseHeader(B(b));
      g_probe_armed = false;
      // Within bounds but longer than the input -> truncated; otherwise malformed. A value that
      // happens to still parse (e.g. a smaller count) must not be mistaken for the original.
      if (parsed.ok()) {
        EXPECT_NE(SerializeHeader(parsed->header), good) << field.name << "=" << value;
      } else {
        EXPECT_TRUE(absl::IsOutOfRange(parsed.status()) ||
                    GetKmsErrorCode(parsed.status()) == kms_code::kInvalidCiphertext)
            << field.name << "=" << value << ": " << parsed.status();
      }
      // The parser allocates at most what the input holds (strings copied from it) plus
      // small bookkeeping; never the announced length.
      EXPECT_LE(g_largest_allocation.load(), 4096u) << field.name << "=" << value;
    }
  }
}

TEST(EnvelopeFormat, MaximalFieldsAreAcceptedWhenTheBytesArePresent) {
  MessageHeader h = SampleHeader();
  h.wrapped_keys.clear();
  for (uint32_t i = 0; i < kMaxWrappedKeys; ++i) {
    h.wrapped_keys.push_back({std::string(kMaxProviderIdSize, 'p'), std::string(kMaxKeyIdSize, 'k'),
                              std::string(kMaxKeyVersionIdSize, 'v'),
                              std::string(kMaxWrappedBlobSize, 'b')});
  }
  ASSERT_TRUE(ValidateHeader(h).ok());
  std::string b = SerializeHeader(h);
  EXPECT_LE(b.size(), kMaxHeaderSize);
  g_largest_allocation = 0;
  g_probe_armed = true;
  auto parsed = ParseHeader(B(b));
  g_probe_armed = false;
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  // The probe sees the parser's allocations (so the bound in the hostile test is meaningful):
  // here it copied 8 KiB blobs that really are in the input.
  EXPECT_GE(g_largest_allocation.load(), size_t{kMaxWrappedBlobSize});
  EXPECT_EQ(parsed->header.wrapped_keys.size(), kMaxWrappedKeys);
  h.wrapped_keys.push_back(h.wrapped_keys[0]);
  EXPECT_FALSE(ValidateHeader(h).ok());
}

// docs/format.md §1.1: kMaxHeaderSize = 157 026; a header of exactly that size is valid and
// one more byte puts a field over its maximum.
TEST(EnvelopeFormat, AHeaderOfExactlyTheMaximumSizeParsesAndOneByteMoreIsRefused) {
  static_assert(kMaxHeaderSize == 157026, "docs/format.md states 157 026 bytes");
  MessageHeader h = SampleHeader();
  h.wrapped_keys.assign(kMaxWrappedKeys,
                        {std::string(kMaxProviderIdSize, 'p'), std::string(kMaxKeyIdSize, 'k'),
                         std::string(kMaxKeyVersionIdSize, 'v'), std::string(kMaxWrappedBlobSize, 'b')});
  // 2 + (4 + 1 + 4090) * 3 + (4 + 2 + 4091) = 16 384 canonical bytes.
  h.context = *EncryptionContext::FromPairs({{"a", std::string(4090, 'x')},
                                             {"b", std::string(4090, 'x')},
                                             {"c", std::string(4090, 'x')},
                                             {"dd", std::string(4091, 'x')}});
  ASSERT_EQ(h.context.Canonical().size(), kMaxContextSize);
  const std::string b = SerializeHeader(h);
  ASSERT_EQ(b.size(), kMaxHeaderSize);
  auto parsed = ParseHeader(B(b));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->header_size, kMaxHeaderSize);
  // One byte more in the context or in the first CiphertextBlob (length field + 1, one byte
  // inserted): refused as malformed, not as truncated.
  const size_t context_length_at = kMaxHeaderSize - kHeaderTagSize - kCommitmentSize -
                                   kMaxContextSize - 4;
  const size_t blob_length_at = 46 + 4 + kMaxProviderIdSize + 4 + kMaxKeyIdSize + 4 +
                                kMaxKeyVersionIdSize;
  for (size_t at : {context_length_at, blob_length_at}) {
    std::string longer = b;
    uint8_t* field = reinterpret_cast<uint8_t*>(&longer[at]);
    StoreBigEndian32(kms_envelope::testing::LoadBigEndian32(field) + 1, field);
    longer.insert(at + 4, 1, 'x');
    ASSERT_EQ(longer.size(), kMaxHeaderSize + 1);
    auto refused = ParseHeader(B(longer));
    ASSERT_FALSE(refused.ok()) << at;
    EXPECT_EQ(GetKmsErrorCode(refused.status()), kms_code::kInvalidCiphertext) << at;
  }
}

TEST(EnvelopeFormat, RejectsANonCanonicalContext) {
  MessageHeader h = SampleHeader();
  std::string b = SerializeHeader(h);
  // Swap the two context pairs' order by editing the canonical bytes: find "purpose" then
  // corrupt the pair count to 3 (announces a pair that is not there).
  const std::string canon(reinterpret_cast<const char*>(h.context.Canonical().data()),
                          h.context.Canonical().size());
  size_t at = b.find(canon);
  ASSERT_NE(at, std::string::npos);
  b[at + 1] = 3;
  auto parsed = ParseHeader(B(b));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(GetKmsErrorCode(parsed.status()), kms_code::kInvalidCiphertext);
}

TEST(EnvelopeFormat, PayloadGeometryRoundTrips) {
  for (uint32_t f : {64u, 4096u, 65536u}) {
    for (uint64_t p : {uint64_t{0}, uint64_t{1}, uint64_t{f} - 1, uint64_t{f}, uint64_t{f} + 1,
                       uint64_t{5} * f, uint64_t{1} << 20}) {
      const uint64_t payload = PayloadSize(p, f);
      EXPECT_EQ(payload, p + FrameCount(p, f) * kFrameTagSize);
      auto back = PlaintextSizeForPayload(payload, f);
      ASSERT_TRUE(back.ok()) << p;
      EXPECT_EQ(*back, p);
    }
    // Impossible lengths (docs/format.md §6 step 1): R mod (F + 16) < 16, including 0 - the
    // input ends after a full frame and the final frame (at least a tag) is missing.
    for (uint64_t bad : {uint64_t{0}, uint64_t{15}, uint64_t{f} + 16, uint64_t{f} + 16 + 15,
                         2 * (uint64_t{f} + 16)}) {
      EXPECT_FALSE(PlaintextSizeForPayload(bad, f).ok()) << bad;
    }
  }
  EXPECT_EQ(FrameCount(4096, 4096), 2u);  // a full final frame is never written
  EXPECT_EQ(FrameCount(4095, 4096), 1u);
}

TEST(EnvelopeFormat, KeyScheduleSeparatesPayloadKeyCommitmentSuitesAndVersions) {
  uint8_t dk[32], id[32], id2[32];
  for (int i = 0; i < 32; ++i) {
    dk[i] = static_cast<uint8_t>(i);
    id[i] = static_cast<uint8_t>(100 + i);
    id2[i] = static_cast<uint8_t>(200 + i);
  }
  constexpr Suite kAes = Suite::kAes256GcmHkdfSha256Committing;
  for (uint8_t version : {uint8_t{1}, uint8_t{2}}) {
    SCOPED_TRACE(version);
    auto a = DeriveMessageKeys(version, kAes, dk, id);
    auto a2 = DeriveMessageKeys(version, kAes, dk, id);
    auto x = DeriveMessageKeys(version, Suite::kXChaCha20Poly1305HkdfSha256Committing, dk, id);
    auto other_id = DeriveMessageKeys(version, kAes, dk, id2);
    auto other_version = DeriveMessageKeys(3 - version, kAes, dk, id);
    ASSERT_TRUE(a.ok() && a2.ok() && x.ok() && other_id.ok() && other_version.ok());
    EXPECT_EQ(a->commitment, a2->commitment);
    EXPECT_NE(a->commitment, x->commitment);
    EXPECT_NE(a->commitment, other_id->commitment);
    EXPECT_NE(a->commitment, other_version->commitment);
    EXPECT_EQ(a->nonce_size, 12u);
    EXPECT_EQ(x->nonce_size, 24u);
    // Header nonce (counter 0) differs from every frame nonce (counter >= 1).
    uint8_t n0[12], n1[12];
    MakeNonce(*a, 0, absl::MakeSpan(n0));
    MakeNonce(*a, 1, absl::MakeSpan(n1));
    EXPECT_NE(std::memcmp(n0, n1, 12), 0);
    EXPECT_EQ(std::memcmp(n0, id, 4), 0);
    EXPECT_FALSE(DeriveMessageKeys(version, kAes, absl::MakeConstSpan(dk, 16), id).ok());
  }
  EXPECT_FALSE(DeriveMessageKeys(0, kAes, dk, id).ok());
  EXPECT_FALSE(DeriveMessageKeys(kFormatVersion + 1, kAes, dk, id).ok());
}

std::string Hex(absl::Span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes) out += "0123456789abcdef"[b >> 4], out += "0123456789abcdef"[b & 15];
  return out;
}

TEST(EnvelopeFormat, CommitmentsOfBothVersionsMatchPythonsHmacAndHashlib) {
  // dk = 00..1f, message id = 64..83, suite 1. v1: hmac.new(hmac.new(id, dk, sha256).digest(),
  // b"kms-envelope/v1/key-commitment" + b"\x01\x01", sha256); v2: sha256(u32be(2) || dk ||
  // b"kms-envelope/v2/keys" || b"\x01" || id).
  uint8_t dk[32], id[32];
  for (int i = 0; i < 32; ++i) {
    dk[i] = static_cast<uint8_t>(i);
    id[i] = static_cast<uint8_t>(100 + i);
  }
  auto v1 = DeriveMessageKeys(1, Suite::kAes256GcmHkdfSha256Committing, dk, id);
  auto v2 = DeriveMessageKeys(2, Suite::kAes256GcmHkdfSha256Committing, dk, id);
  ASSERT_TRUE(v1.ok() && v2.ok());
  EXPECT_EQ(Hex(v1->commitment),
            "303326991beb50738d05dd53cab81f93e815ce7c1ca2335733ce92ebd8a689a0");
  EXPECT_EQ(Hex(v2->commitment),
            "98edfda332cf8d290cd683223de6efa43e81507ec5727fbbfc78826f32d494c3");
}

}  // namespace
}  // namespace envelope
}  // namespace kms_envelope
