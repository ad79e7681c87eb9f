// Proves that SecretBytes wipes every buffer it releases, on every path, for pooled and
// sodium_malloc'd sizes, and that its type cannot leak secrets by copy or comparison.
#include "kms_envelope/secret_bytes.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "kms_envelope/internal/encoding.h"
#include "kms_envelope/internal/random.h"

namespace kms_envelope {
namespace {

// --- Compile-time properties -------------------------------------------------------------------
template <typename T, typename = void>
struct HasEquality : std::false_type {};
template <typename T>
struct HasEquality<T, std::void_t<decltype(std::declval<const T&>() == std::declval<const T&>())>>
    : std::true_type {};
template <typename T, typename = void>
struct HasInequality : std::false_type {};
template <typename T>
struct HasInequality<T, std::void_t<decltype(std::declval<const T&>() != std::declval<const T&>())>>
    : std::true_type {};

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);
static_assert(!std::is_convertible_v<SecretBytes, std::string>);
static_assert(!std::is_convertible_v<const SecretBytes&, std::string>);
static_assert(!std::is_convertible_v<SecretBytes, std::string_view>);
static_assert(!std::is_constructible_v<std::string, const SecretBytes&>);
static_assert(!std::is_convertible_v<SecretBytes, std::vector<uint8_t>>);
static_assert(!HasEquality<SecretBytes>::value);
static_assert(!HasInequality<SecretBytes>::value);
// The detector itself works (so the asserts above are not vacuous).
static_assert(HasEquality<std::string>::value);

// --- Release observer --------------------------------------------------------------------------
struct Release {
  const uint8_t* data;
  size_t size;
  bool all_zero;
};
std::vector<Release>* g_releases = nullptr;

void RecordRelease(const uint8_t* data, size_t size) {
  bool zero = true;
  for (size_t i = 0; i < size; ++i) zero = zero && data[i] == 0;
  g_releases->push_back({data, size, zero});
}

class SecretBytesWipe : public ::testing::Test {
 protected:
  void SetUp() override {
    g_releases = &releases_;
    SecretBytes::SetReleaseObserverForTesting(&RecordRelease);
  }
  void TearDown() override {
    SecretBytes::SetReleaseObserverForTesting(nullptr);
    for (const Release& r : releases_) EXPECT_TRUE(r.all_zero) << "a released buffer held data";
    g_releases = nullptr;
  }

  static SecretBytes Filled(size_t size) {
    absl::StatusOr<SecretBytes> s = SecretBytes::New(size);
    EXPECT_TRUE(s.ok()) << s.status();
    std::memset(s->mutable_data(), 0x5A, s->size());
    return *std::move(s);
  }

  std::vector<Release> releases_;
};

// Sizes on both sides of both pool limits.
const size_t kSizes[] = {1, 32, SecretBytes::kPooledSlotSize, SecretBytes::kPooledSlotSize + 1,
                         SecretBytes::kLargePooledSlotSize, SecretBytes::kLargePooledSlotSize + 1,
                         4096};

size_t WipedSize(size_t size) {
  if (size <= SecretBytes::kPooledSlotSize) return SecretBytes::kPooledSlotSize;
  if (size <= SecretBytes::kLargePooledSlotSize) return SecretBytes::kLargePooledSlotSize;
  return size;
}

TEST_F(SecretBytesWipe, WipesOnDestruction) {
  for (size_t size : kSizes) {
    const uint8_t* where = nullptr;
    {
      SecretBytes s = Filled(size);
      where = s.data();
      releases_.clear();
    }
    ASSERT_EQ(releases_.size(), 1u) << size;
    EXPECT_EQ(releases_[0].data, where);
    // Pooled secrets wipe their whole slot, not only the used prefix.
    EXPECT_EQ(releases_[0].size, WipedSize(size));
    EXPECT_TRUE(releases_[0].all_zero) << size;
  }
}

TEST_F(SecretBytesWipe, WipesTheOverwrittenSecretOnMoveAssignment) {
  for (size_t size : kSizes) {
    SecretBytes target = Filled(size);
    const uint8_t* old = target.data();
    SecretBytes source = Filled(size);
    const uint8_t* moved = source.data();
    releases_.clear();
    target = std::move(source);
    ASSERT_EQ(releases_.size(), 1u);
    EXPECT_EQ(releases_[0].data, old);
    EXPECT_TRUE(releases_[0].all_zero);
    EXPECT_EQ(target.data(), moved);
    EXPECT_EQ(target.size(), size);
    EXPECT_EQ(target.data()[size - 1], 0x5A);
    EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move): testing moved-from state
    EXPECT_EQ(source.data(), nullptr);
  }
}

TEST_F(SecretBytesWipe, MovedFromObjectsAreEmptyAndReleaseNothing) {
  SecretBytes a = Filled(48);
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_TRUE(a.span().empty());
  releases_.clear();
  a.Clear();  // nothing to release
  EXPECT_TRUE(releases_.empty());
  EXPECT_EQ(b.size(), 48u);
}

TEST_F(SecretBytesWipe, WipesOnClearAndClearIsIdempotent) {
  for (size_t size : kSizes) {
    SecretBytes s = Filled(size);
    releases_.clear();
    s.Clear();
    ASSERT_EQ(releases_.size(), 1u);
    EXPECT_TRUE(releases_[0].all_zero);
    EXPECT_TRUE(s.empty());
    s.Clear();
    EXPECT_EQ(releases_.size(), 1u);
  }
}

absl::Status DeriveThenFail(size_t size) {
  absl::StatusOr<SecretBytes> key = SecretBytes::New(size);
  if (!key.ok()) return key.status();
  internal::FillRandom(key->mutable_span());
  return absl::DataLossError("simulated failure after the secret was filled");
}

TEST_F(SecretBytesWipe, WipesSecretsOfAFunctionThatFails) {
  for (size_t size : kSizes) {
    releases_.clear();
    EXPECT_EQ(DeriveThenFail(size).code(), absl::StatusCode::kDataLoss);
    ASSERT_EQ(releases_.size(), 1u);
    EXPECT_TRUE(releases_[0].all_zero);
  }
}

TEST_F(SecretBytesWipe, WipesTheScratchBufferOfAFailedSecretDecode) {
  // 100 valid base64 bytes then a bad character: the decoder's secret scratch must be wiped.
  std::string text = internal::Base64Encode(std::string(96, 'k'));
  text[text.size() - 1] = '*';
  releases_.clear();
  absl::StatusOr<SecretBytes> s = internal::Base64DecodeSecret(internal::Bytes(text), 1000);
  EXPECT_FALSE(s.ok());
  ASSERT_GE(releases_.size(), 1u);
  for (const Release& r : releases_) EXPECT_TRUE(r.all_zero);
}

TEST_F(SecretBytesWipe, PooledSlotsComeBackZeroed) {
  // A reused pool slot must not carry the previous owner's bytes.
  for (int i = 0; i < 100; ++i) {
    SecretBytes s = Filled(64);
  }
  absl::StatusOr<SecretBytes> fresh = SecretBytes::New(64);
  ASSERT_TRUE(fresh.ok());
  for (uint8_t b : fresh->span()) ASSERT_EQ(b, 0);
}

TEST(SecretBytes, NewZeroFillsAndCopyFromCopies) {
  for (size_t size : kSizes) {
    absl::StatusOr<SecretBytes> s = SecretBytes::New(size);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->size(), size);
    for (uint8_t b : s->span()) ASSERT_EQ(b, 0);
    std::vector<uint8_t> src(size, 0x33);
    absl::StatusOr<SecretBytes> c = SecretBytes::CopyFrom(src);
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->ConstantTimeEquals(src));
  }
}

TEST(SecretBytes, NewRejectsMoreThanMaxSize) {
  EXPECT_TRUE(SecretBytes::New(SecretBytes::kMaxSize).ok());
  absl::StatusOr<SecretBytes> over = SecretBytes::New(SecretBytes::kMaxSize + 1);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SecretBytes::New(~size_t{0}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SecretBytes, ZeroSizeIsEmptyWithoutStorage) {
  absl::StatusOr<SecretBytes> s = SecretBytes::New(0);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->empty());
  EXPECT_EQ(s->data(), nullptr);
}

TEST(SecretBytes, ConstantTimeEqualsComparesContentAndSize) {
  std::vector<uint8_t> bytes = {1, 2, 3, 4};
  absl::StatusOr<SecretBytes> a = SecretBytes::CopyFrom(bytes);
  absl::StatusOr<SecretBytes> b = SecretBytes::CopyFrom(bytes);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->ConstantTimeEquals(*b));
  EXPECT_TRUE(a->ConstantTimeEquals(bytes));
  b->mutable_data()[3] ^= 0x80;
  EXPECT_FALSE(a->ConstantTimeEquals(*b));
  EXPECT_FALSE(a->ConstantTimeEquals(absl::MakeConstSpan(bytes).subspan(0, 3)));  // prefix
  bytes.push_back(0);
  EXPECT_FALSE(a->ConstantTimeEquals(bytes));  // longer
  SecretBytes empty1, empty2;
  EXPECT_TRUE(empty1.ConstantTimeEquals(empty2));
  EXPECT_FALSE(empty1.ConstantTimeEquals(*a));
}

TEST(SecretBytes, LargePooledSlotsAre64ByteAlignedAndDistinct) {
  std::vector<SecretBytes> live;
  for (int i = 0; i < 130; ++i) {  // crosses a large-pool chunk boundary (64 slots per chunk)
    absl::StatusOr<SecretBytes> s = SecretBytes::New(SecretBytes::kLargePooledSlotSize);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(s->data()) % 64, 0u);
    std::memset(s->mutable_data(), i, s->size());
    live.push_back(*std::move(s));
  }
  for (int i = 0; i < 130; ++i) {
    for (size_t j = 0; j < live[i].size(); ++j) ASSERT_EQ(live[i].data()[j], i);
  }
}

TEST(SecretBytes, DistinctLiveSecretsNeverShareStorage) {
  std::vector<SecretBytes> live;
  for (int i = 0; i < 2100; ++i) {  // crosses a pool chunk boundary (1024 slots per chunk)
    absl::StatusOr<SecretBytes> s = SecretBytes::New(32);
    ASSERT_TRUE(s.ok());
    std::memcpy(s->mutable_data(), &i, sizeof(i));
    live.push_back(*std::move(s));
  }
  for (int i = 0; i < 2100; ++i) {
    int v;
    std::memcpy(&v, live[i].data(), sizeof(v));
    ASSERT_EQ(v, i);
  }
}

// Each thread keeps a few free slots of its own (no lock on the hot path); slots freed on one
// thread are reused on another, and a thread's slots return to the shared list when it exits.
// Secrets live on many threads at once must never share storage, and come back zeroed.
TEST(SecretBytes, SecretsMadeAndDroppedOnManyThreadsNeverShareStorage) {
  std::vector<SecretBytes> handed_over;  // freed later on the main thread
  std::mutex mu;
  std::atomic<int> failures{0};
  auto work = [&](uint8_t tag) {
    for (int round = 0; round < 2000; ++round) {
      std::vector<SecretBytes> live;
      for (size_t size : {size_t{32}, SecretBytes::kLargePooledSlotSize, size_t{64}}) {
        absl::StatusOr<SecretBytes> s = SecretBytes::New(size);
        if (!s.ok()) { ++failures; return; }
        for (size_t i = 0; i < s->size(); ++i) {
          if (s->data()[i] != 0) ++failures;  // a reused slot must come back zeroed
        }
        std::memset(s->mutable_data(), tag, s->size());
        live.push_back(*std::move(s));
      }
      std::this_thread::yield();
      for (const SecretBytes& s : live) {
        for (size_t i = 0; i < s.size(); ++i) {
          if (s.data()[i] != tag) ++failures;
        }
      }
      if (round % 100 == 0) {
        std::lock_guard<std::mutex> lock(mu);
        handed_over.push_back(std::move(live.back()));
      }
    }
  };
  std::vector<std::thread> threads;
  for (uint8_t t = 1; t <= 4; ++t) threads.emplace_back(work, t);
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  handed_over.clear();
  // After the threads exited, their cached slots serve new secrets again (zeroed).
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<SecretBytes> s = SecretBytes::New(SecretBytes::kLargePooledSlotSize);
    ASSERT_TRUE(s.ok());
    for (size_t j = 0; j < s->size(); ++j) ASSERT_EQ(s->data()[j], 0);
  }
}

}  // namespace
}  // namespace kms_envelope
