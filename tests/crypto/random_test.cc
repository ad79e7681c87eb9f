// Statistical and structural checks of FillRandom: uniqueness, sizes, fork and thread separation.
#include "kms_envelope/internal/random.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kms_envelope::internal {
namespace {

using Block = std::array<uint8_t, 32>;

Block Draw() {
  Block b;
  FillRandom(absl::MakeSpan(b));
  return b;
}

// Runs `produce` in a forked child and returns the bytes it produced (empty on failure).
std::vector<uint8_t> BytesFromChild(const std::function<std::vector<uint8_t>()>& produce) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid < 0) return {};
  if (pid == 0) {
    close(fds[0]);
    const std::vector<uint8_t> out = produce();
    size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = write(fds[1], out.data() + sent, out.size() - sent);
      if (n <= 0) _exit(1);
      sent += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::vector<uint8_t> got;
  uint8_t buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) got.insert(got.end(), buf, buf + n);
  close(fds[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return got;
}

TEST(Random, HundredThousandDrawsOf32BytesNeverRepeat) {
  std::set<Block> seen;
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(seen.insert(Draw()).second) << "repeat at " << i;
}

TEST(Random, DrawsOfEverySizeFillTheWholeBuffer) {
  // 224 and 225 straddle the small-draw limit (256-byte block minus the 32-byte rekey).
  for (size_t size : {size_t{1}, size_t{31}, size_t{32}, size_t{224}, size_t{225}, size_t{5000}}) {
    // With a sentinel-filled buffer, a byte left untouched in the tail would keep the sentinel in
    // both of two draws (a 2^-8 chance each for a random byte: compare two draws).
    std::vector<uint8_t> a(size, 0xEE), b(size, 0xEE);
    FillRandom(absl::MakeSpan(a));
    FillRandom(absl::MakeSpan(b));
    EXPECT_NE(a, b) << size;
    if (size >= 32) {
      size_t same_tail = 0;
      for (size_t i = size - 32; i < size; ++i) same_tail += (a[i] == 0xEE && b[i] == 0xEE);
      EXPECT_LT(same_tail, 4u) << "tail of a " << size << "-byte draw looks unwritten";
    }
  }
  FillRandom(absl::Span<uint8_t>());  // an empty draw is a no-op
}

TEST(Random, KernelDrawsWork) {
  Block a, b;
  FillRandomFromKernel(absl::MakeSpan(a));
  FillRandomFromKernel(absl::MakeSpan(b));
  EXPECT_NE(a, b);
}

TEST(Random, AForkedChildDoesNotRepeatTheParentsStream) {
  Draw();  // make sure this thread's generator is seeded before the fork
  const std::vector<uint8_t> child_bytes = BytesFromChild([] {
    const Block b = Draw();
    return std::vector<uint8_t>(b.begin(), b.end());
  });
  const Block parent = Draw();
  ASSERT_EQ(child_bytes.size(), parent.size());
  Block child;
  std::copy(child_bytes.begin(), child_bytes.end(), child.begin());
  EXPECT_NE(parent, child);
}

TEST(Random, TwoThreadsDrawDifferentStreams) {
  std::vector<Block> a(100), b(100);
  std::thread t1([&] { for (auto& x : a) x = Draw(); });
  std::thread t2([&] { for (auto& x : b) x = Draw(); });
  t1.join();
  t2.join();
  std::set<Block> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 200u);
}

using Id = std::array<uint8_t, 16>;

Id NextId() {
  Id id;
  NextUniqueId(absl::MakeSpan(id));
  return id;
}

TEST(UniqueId, EightThreadsDrawTwentyThousandIdsEachWithoutARepeat) {
  std::vector<std::vector<Id>> per_thread(8, std::vector<Id>(20000));
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&ids] { for (auto& id : ids) id = NextId(); });
  }
  for (auto& t : threads) t.join();
  std::set<Id> all;
  for (const auto& ids : per_thread) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), 8u * 20000u);
}

TEST(UniqueId, AForkedChildStartsFromAFreshRandomPoint) {
  NextId();  // seeded before the fork
  const std::vector<uint8_t> child_bytes = BytesFromChild([] {
    std::vector<uint8_t> out;
    for (int i = 0; i < 1000; ++i) {
      const Id id = NextId();
      out.insert(out.end(), id.begin(), id.end());
    }
    return out;
  });
  std::vector<Id> parent(1000);
  for (auto& id : parent) id = NextId();
  ASSERT_EQ(child_bytes.size(), 1000u * 16u);
  std::set<Id> all(parent.begin(), parent.end());
  for (size_t i = 0; i < child_bytes.size(); i += 16) {
    Id id;
    std::copy(child_bytes.begin() + i, child_bytes.begin() + i + 16, id.begin());
    all.insert(id);
  }
  EXPECT_EQ(all.size(), 2000u);
}

TEST(Random, ByteFrequenciesAreRoughlyUniform) {
  // Chi-square over 256 byte values with 1 MiB of output: 255 degrees of freedom (mean 255,
  // sd ~22.6). The bound 500 is more than 10 sd out, so it cannot flake, yet a stuck or
  // heavily biased generator (e.g. half the bytes zero) lands in the hundreds of thousands.
  std::vector<uint8_t> bytes(1 << 20);
  for (size_t off = 0; off < bytes.size(); off += 4096) {
    FillRandom(absl::MakeSpan(bytes.data() + off, 4096));
  }
  std::array<double, 256> counts{};
  for (uint8_t b : bytes) counts[b] += 1;
  const double expected = bytes.size() / 256.0;
  double chi2 = 0;
  for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 500.0);
  EXPECT_GT(chi2, 100.0);  // suspiciously perfect uniformity would mean a counter, not a cipher
}

}  // namespace
}  // namespace kms_envelope::internal
