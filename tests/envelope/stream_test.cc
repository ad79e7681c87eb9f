// Streaming seal/open (fds, iostreams), random access over a sealed file, and rewrap.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/envelope/byte_stream.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/envelope/rewrap.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/testing/envelope_fault_provider.h"
#include "tests/envelope/envelope_test_util.h"

namespace kms_envelope {
namespace envelope {
namespace {

using envelope_test::ReadFile;
using envelope_test::WriteFile;
using envelope_test::NewTestKms;
using envelope_test::TempPath;
using envelope_test::TestKms;
using envelope_test::TestPlaintext;
using testing::EnvelopeFaultProvider;

constexpr Suite kSuites[] = {Suite::kAes256GcmHkdfSha256Committing,
                             Suite::kXChaCha20Poly1305HkdfSha256Committing};

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kms = NewTestKms("stream_store_a");
    ASSERT_TRUE(kms.ok()) << kms.status();
    kms_ = *std::move(kms);
  }
  std::unique_ptr<Envelope> Make(Suite suite, uint32_t frame_size) {
    EnvelopeOptions o;
    o.suite = suite;
    o.frame_size = frame_size;
    o.primary = {kms_.provider, kms_.key_id};
    return *Envelope::New(std::move(o));
  }
  TestKms kms_;
  EncryptionContext ctx_ = *EncryptionContext::FromPairs({{"file", "x"}});
};

TEST_F(StreamTest, IostreamRoundTripMatchesTheInMemoryFormat) {
  for (Suite suite : kSuites) {
    auto env = Make(suite, 64);
    for (size_t size : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{10000}}) {
      const std::string pt = TestPlaintext(size);
      std::istringstream in(pt);
      std::ostringstream sealed;
      IstreamSource src(in);
      OstreamSink dst(sealed);
      auto r = env->SealStream(src, dst, ctx_);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->plaintext_size, size);
      EXPECT_EQ(r->sealed_size, sealed.str().size());
      // Stream output is an ordinary message: the in-memory opener reads it.
      auto opened = env->Open(sealed.str(), ctx_);
      ASSERT_TRUE(opened.ok()) << opened.status();
      EXPECT_EQ(*opened, pt);
      // And in-memory output streams back.
      auto mem = env->Seal(pt, ctx_);
      ASSERT_TRUE(mem.ok());
      std::string out;
      SpanSource s2(kms_envelope::testing::Bytes(*mem));
      StringSink d2(&out);
      auto r2 = env->OpenStream(s2, d2, &ctx_);
      ASSERT_TRUE(r2.ok()) << r2.status();
      EXPECT_EQ(out, pt);
      EXPECT_EQ(r2->frames, FrameCount(size, 64));
    }
  }
}

TEST_F(StreamTest, FileDescriptorRoundTripWithoutAnExpectedContextUsesTheHeaders) {
  auto env = Make(kSuites[0], 4096);
  const std::string pt = TestPlaintext(100000);
  const std::string in_path = TempPath("fd_plain"), sealed_path = TempPath("fd_sealed"),
                    out_path = TempPath("fd_out");
  WriteFile(in_path, pt);
  {
    int in = ::open(in_path.c_str(), O_RDONLY);
    int out = ::open(sealed_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FdSource src(in);
    FdSink dst(out);
    ASSERT_TRUE(env->SealStream(src, dst, ctx_).ok());
    ::close(in);
    ::close(out);
  }
  {
    int in = ::open(sealed_path.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FdSource src(in);
    FdSink dst(out);
    auto r = env->OpenStream(src, dst, nullptr);
    ASSERT_TRUE(r.ok()) << r.status();
    ::close(in);
    ::close(out);
  }
  EXPECT_EQ(ReadFile(out_path), pt);
}

TEST_F(StreamTest, ATamperedFrameStopsTheStreamAfterTheVerifiedPrefix) {
  auto env = Make(kSuites[1], 64);
  const std::string pt = TestPlaintext(64 * 5 + 3);
  auto sealed = env->Seal(pt, ctx_);
  ASSERT_TRUE(sealed.ok());
  auto parsed = ParseHeader(kms_envelope::testing::Bytes(*sealed));
  std::string bad = *sealed;
  bad[parsed->header_size + 2 * (64 + 16) + 5] ^= 1;  // inside frame 2
  std::string out;
  SpanSource src(kms_envelope::testing::Bytes(bad));
  StringSink dst(&out);
  auto r = env->OpenStream(src, dst, &ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetKmsErrorCode(r.status()), kms_code::kInvalidCiphertext);
  EXPECT_EQ(out, pt.substr(0, 128)) << "only frames 0 and 1 (verified) may be released";
  // Truncation at a frame boundary: every frame verifies but the final one is missing.
  out.clear();
  std::string cut = sealed->substr(0, parsed->header_size + 3 * (64 + 16));
  SpanSource src2(kms_envelope::testing::Bytes(cut));
  StringSink dst2(&out);
  EXPECT_FALSE(env->OpenStream(src2, dst2, &ctx_).ok());
  // Wrong expected context: refused before any frame.
  out.clear();
  auto other = *EncryptionContext::FromPairs({{"file", "y"}});
  SpanSource src3(kms_envelope::testing::Bytes(*sealed));
  StringSink dst3(&out);
  EXPECT_FALSE(env->OpenStream(src3, dst3, &other).ok());
  EXPECT_TRUE(out.empty());
}

TEST_F(StreamTest, StreamsAcrossIoBatchBoundariesMatchTheInMemoryFormat) {
  // 4 KiB frames: the stream moves 256 frames (1 MiB) per read and write.
  auto env = Make(kSuites[0], 4096);
  for (size_t size : {size_t{1} << 20, (size_t{1} << 20) - 1, (size_t{1} << 20) + 1,
                      (size_t{2} << 20) + 4096}) {
    const std::string pt = TestPlaintext(size);
    std::string sealed;
    SpanSource src(kms_envelope::testing::Bytes(pt));
    StringSink dst(&sealed);
    auto r = env->SealStream(src, dst, ctx_);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->frames, size / 4096 + 1) << size;
    EXPECT_EQ(sealed.size(), r->sealed_size) << size;
    auto opened_in_memory = env->Open(sealed, ctx_);
    ASSERT_TRUE(opened_in_memory.ok()) << opened_in_memory.status();
    EXPECT_EQ(*opened_in_memory, pt);
    std::string out;
    SpanSource src2(kms_envelope::testing::Bytes(sealed));
    StringSink dst2(&out);
    auto o = env->OpenStream(src2, dst2, &ctx_);
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(out, pt) << size;
    // Cut after the first batch's last frame (a frame boundary): every frame verifies, the
    // final one is missing.
    auto parsed = ParseHeader(kms_envelope::testing::Bytes(sealed));
    ASSERT_TRUE(parsed.ok());
    if (size > (size_t{1} << 20)) {
      std::string cut = sealed.substr(0, parsed->header_size + 256 * (4096 + 16));
      out.clear();
      SpanSource src3(kms_envelope::testing::Bytes(cut));
      StringSink dst3(&out);
      EXPECT_FALSE(env->OpenStream(src3, dst3, &ctx_).ok()) << size;
    }
    if (size > 301 * 4096) {
      // A bad frame in the second batch releases exactly the frames before it.
      std::string bad = sealed;
      bad[parsed->header_size + 300 * (4096 + 16) + 7] ^= 1;
      out.clear();
      SpanSource src4(kms_envelope::testing::Bytes(bad));
      StringSink dst4(&out);
      EXPECT_FALSE(env->OpenStream(src4, dst4, &ctx_).ok());
      EXPECT_EQ(out, pt.substr(0, 300 * 4096)) << size;
    }
  }
}

TEST_F(StreamTest, StreamingMemoryIsBoundedByTheFrameSize) {
  // A source that produces 8 MiB without ever holding it, and a sink that only counts: the
  // envelope's buffers are one frame each, so this runs in constant memory.
  class Zeros : public ByteSource {
   public:
    explicit Zeros(size_t n) : left_(n) {}
    absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) override {
      size_t n = std::min(out.size(), left_);
      std::memset(out.data(), 0, n);
      left_ -= n;
      return n;
    }
    size_t left_;
  };
  class Counter : public ByteSink {
   public:
    absl::Status Write(absl::Span<const uint8_t> d) override {
      total += d.size();
      return absl::OkStatus();
    }
    uint64_t total = 0;
  };
  auto env = Make(kSuites[0], 65536);
  Zeros src(8 << 20);
  Counter sink;
  auto r = env->SealStream(src, sink, ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->plaintext_size, uint64_t{8} << 20);
  EXPECT_EQ(r->frames, 129u);  // 128 full + an empty final frame
}

TEST_F(StreamTest, RandomAccessReadsMatchThePlaintext) {
  for (Suite suite : kSuites) {
    auto env = Make(suite, 256);
    const std::string pt = TestPlaintext(256 * 37 + 11);
    auto sealed = env->Seal(pt, ctx_);
    ASSERT_TRUE(sealed.ok());
    const std::string path = TempPath("random_access");
    WriteFile(path, *sealed);
    int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    auto reader = env->OpenRandomAccess(fd, &ctx_);
    ASSERT_TRUE(reader.ok()) << reader.status();
    EXPECT_EQ((*reader)->plaintext_size(), pt.size());
    std::mt19937_64 rng(42);
    for (int i = 0; i < 300; ++i) {
      uint64_t off = rng() % (pt.size() + 1);
      size_t len = rng() % 1200;
      std::vector<uint8_t> out(len);
      auto n = (*reader)->ReadAt(off, absl::MakeSpan(out));
      ASSERT_TRUE(n.ok()) << n.status();
      ASSERT_EQ(*n, std::min<uint64_t>(len, pt.size() - off));
      ASSERT_EQ(std::string(out.begin(), out.begin() + *n), pt.substr(off, *n)) << off << "+" << len;
    }
    std::vector<uint8_t> one(1);
    EXPECT_FALSE((*reader)->ReadAt(pt.size() + 1, absl::MakeSpan(one)).ok());
    ::close(fd);
  }
}

TEST_F(StreamTest, RandomAccessRefusesTruncatedExtendedAndTamperedFiles) {
  auto env = Make(kSuites[0], 256);
  const std::string pt = TestPlaintext(256 * 4 + 11);
  auto sealed = env->Seal(pt, ctx_);
  ASSERT_TRUE(sealed.ok());
  auto parsed = ParseHeader(kms_envelope::testing::Bytes(*sealed));
  const size_t h = parsed->header_size;
  const std::string path = TempPath("random_access_bad");
  auto open_reader = [&](const std::string& bytes) {
    WriteFile(path, bytes);
    int fd = ::open(path.c_str(), O_RDONLY);
    auto r = env->OpenRandomAccess(fd, &ctx_);
    absl::Status s = r.status();
    ::close(fd);
    return s;
  };
  EXPECT_TRUE(open_reader(*sealed).ok());
  EXPECT_FALSE(open_reader(sealed->substr(0, h + 4 * (256 + 16))).ok()) << "cut at frame boundary";
  EXPECT_FALSE(open_reader(sealed->substr(0, sealed->size() - 1)).ok()) << "one byte short";
  EXPECT_FALSE(open_reader(*sealed + std::string(256 + 16, 'x')).ok()) << "extended by a frame";
  EXPECT_FALSE(open_reader(sealed->substr(0, h - 1)).ok()) << "cut in the header";
  // A tampered middle frame is found when that range is read, and nothing is released.
  std::string bad = *sealed;
  bad[h + (256 + 16) + 3] ^= 1;
  WriteFile(path, bad);
  int fd = ::open(path.c_str(), O_RDONLY);
  auto reader = env->OpenRandomAccess(fd, &ctx_);
  ASSERT_TRUE(reader.ok());
  std::vector<uint8_t> out(600, 0);
  EXPECT_TRUE((*reader)->ReadAt(0, absl::MakeSpan(out.data(), 100)).ok());
  std::fill(out.begin(), out.end(), 0);
  EXPECT_FALSE((*reader)->ReadAt(0, absl::MakeSpan(out)).ok());
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }));
  ::close(fd);
}

// ---------------------------------------------------------------- rewrap

std::string Payload(const std::string& sealed) {
  auto parsed = ParseHeader(kms_envelope::testing::Bytes(sealed));
  return sealed.substr(parsed->header_size);
}

TEST_F(StreamTest, RewrapToAnotherCmkKeepsThePayloadBytesAndOpensWithTheNewCmkOnly) {
  auto kms_b = NewTestKms("stream_store_b");
  ASSERT_TRUE(kms_b.ok());
  auto env = Make(kSuites[1], 64);
  const std::string pt = TestPlaintext(1000);
  auto sealed = env->Seal(pt, ctx_);
  ASSERT_TRUE(sealed.ok());
  const std::string path = TempPath("rewrap_one");
  WriteFile(path, *sealed);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  const auto dir_entries = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(
             std::filesystem::path(path).parent_path())) {
      n += e.path().filename().string().find("rewrap_one") != std::string::npos;
    }
    return n;
  };

  EnvelopeOptions o;
  o.primary = {kms_b->provider, kms_b->key_id};
  o.decrypt_providers = {kms_.provider};
  auto rewrapper = *Envelope::New(std::move(o));
  ASSERT_TRUE(RewrapFile(*rewrapper, path, &ctx_).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u) << "the rewrapped file keeps the original's mode";
  EXPECT_EQ(dir_entries(), 1u) << "only the rewrapped file, no temporary";
  const std::string after = ReadFile(path);
  EXPECT_EQ(Payload(after), Payload(*sealed));
  auto parsed = ParseHeader(kms_envelope::testing::Bytes(after));
  ASSERT_EQ(parsed->header.wrapped_keys.size(), 1u);
  EXPECT_EQ(parsed->header.wrapped_keys[0].key_id, kms_b->key_id);
  EXPECT_FALSE(std::filesystem::exists(TempPath(".rewrap_one.kmse-rewrap.tmp")));

  EnvelopeOptions only_b;
  only_b.decrypt_providers = {kms_b->provider};
  auto opened = (*Envelope::New(std::move(only_b)))->Open(after, ctx_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, pt);
  EnvelopeOptions only_a;
  only_a.decrypt_providers = {kms_.provider};
  EXPECT_FALSE((*Envelope::New(std::move(only_a)))->Open(after, ctx_).ok());
}

TEST_F(StreamTest, RewrapAfterRotationUsesReEncryptOrFallsBackToDecryptEncrypt) {
  for (bool reencrypt_supported : {true, false}) {
    auto counting = std::make_shared<EnvelopeFaultProvider>(kms_.provider);
    counting->set_reencrypt_unsupported(!reencrypt_supported);
    EnvelopeOptions o;
    o.frame_size = 64;
    o.primary = {counting, kms_.key_id};
    auto env = *Envelope::New(std::move(o));
    auto sealed = env->Seal(TestPlaintext(500), ctx_);
    ASSERT_TRUE(sealed.ok());
    const std::string old_version =
        ParseHeader(kms_envelope::testing::Bytes(*sealed))->header.wrapped_keys[0].key_version_id;
    ASSERT_TRUE(kms_.rotate_key(kms_.key_id).ok());
    size_t old_header = 0;
    auto header = env->RewrapHeader(kms_envelope::testing::Bytes(*sealed), &ctx_, &old_header);
    ASSERT_TRUE(header.ok()) << header.status();
    EXPECT_EQ(counting->reencrypt_calls(), 1);
    EXPECT_EQ(counting->encrypt_calls(), reencrypt_supported ? 0 : 1);
    const std::string rewrapped = *header + sealed->substr(old_header);
    auto parsed = ParseHeader(kms_envelope::testing::Bytes(rewrapped));
    EXPECT_NE(parsed->header.wrapped_keys[0].key_version_id, old_version);
    auto opened = env->Open(rewrapped, ctx_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, TestPlaintext(500));
  }
}

TEST_F(StreamTest, RewrapCanAddAndDropCmks) {
  auto kms_b = NewTestKms("stream_store_c");
  ASSERT_TRUE(kms_b.ok());
  auto env = Make(kSuites[0], 64);
  auto sealed = env->Seal(TestPlaintext(70), ctx_);
  ASSERT_TRUE(sealed.ok());
  // Add B.
  EnvelopeOptions add;
  add.primary = {kms_.provider, kms_.key_id};
  add.additional = {{kms_b->provider, kms_b->key_id}};
  auto adder = *Envelope::New(std::move(add));
  size_t h = 0;
  auto both = adder->RewrapHeader(kms_envelope::testing::Bytes(*sealed), &ctx_, &h);
  ASSERT_TRUE(both.ok()) << both.status();
  std::string two = *both + sealed->substr(h);
  EXPECT_EQ(ParseHeader(kms_envelope::testing::Bytes(two))->header.wrapped_keys.size(), 2u);
  // Drop A (keep B only), opening through B.
  EnvelopeOptions drop;
  drop.primary = {kms_b->provider, kms_b->key_id};
  auto dropper = *Envelope::New(std::move(drop));
  auto only_b = dropper->RewrapHeader(kms_envelope::testing::Bytes(two), &ctx_, &h);
  ASSERT_TRUE(only_b.ok()) << only_b.status();
  std::string one = *only_b + two.substr(h);
  EXPECT_EQ(Payload(one), Payload(*sealed));
  auto opened = dropper->Open(one, ctx_);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, TestPlaintext(70));
}

}  // namespace
}  // namespace envelope
}  // namespace kms_envelope
