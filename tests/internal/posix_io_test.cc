// posix_io (kms_envelope/internal/posix_io.h): Fd closes exactly once and moves ownership, full
// reads stop only at end of file and report how much they got, full writes survive a pipe that
// takes a few bytes at a time, and every errno becomes the status the header documents.
#include "kms_envelope/internal/posix_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace kms_envelope {
namespace internal {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : ".") + "/" + name;
}

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

std::vector<uint8_t> Bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 1);
  return v;
}

TEST(PosixIoTest, ErrnoStatusMapsEachErrnoToTheDocumentedCode) {
  struct Case {
    int err;
    absl::StatusCode code;
  } cases[] = {
      {EEXIST, absl::StatusCode::kAlreadyExists},   {ENOENT, absl::StatusCode::kNotFound},
      {ENOTDIR, absl::StatusCode::kNotFound},       {EACCES, absl::StatusCode::kPermissionDenied},
      {EPERM, absl::StatusCode::kPermissionDenied}, {EIO, absl::StatusCode::kDataLoss},
      {ENOSPC, absl::StatusCode::kDataLoss},        {EBADF, absl::StatusCode::kDataLoss},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ErrnoStatus(c.err, "cannot read", "/x").code(), c.code) << c.err;
  }
}

TEST(PosixIoTest, ErrnoStatusNamesTheOperationThePathAndTheSystemReason) {
  EXPECT_EQ(ErrnoStatus(ENOENT, "cannot open", "/a/b").message(),
            std::string("cannot open /a/b: ") + std::strerror(ENOENT));
  EXPECT_EQ(ErrnoStatus(EIO, "cannot read", "").message(),
            std::string("cannot read: ") + std::strerror(EIO));
}

TEST(PosixIoTest, FdClosesItsDescriptorWhenDestroyed) {
  int raw = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  { Fd fd(raw); EXPECT_TRUE(IsOpen(raw)); }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(PosixIoTest, MovingAnFdTransfersOwnershipAndClosesOnlyOnce) {
  int a = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int b = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  Fd target(b);
  {
    Fd source(a);
    target = std::move(source);
    EXPECT_FALSE(source.valid());
    EXPECT_FALSE(IsOpen(b)) << "assignment closes the descriptor it replaces";
  }
  EXPECT_TRUE(IsOpen(a)) << "the moved-from Fd must not close what it gave away";
  EXPECT_EQ(target.get(), a);
  Fd constructed(std::move(target));
  EXPECT_EQ(constructed.get(), a);
  const int released = constructed.Release();
  EXPECT_EQ(released, a);
  EXPECT_TRUE(IsOpen(a));
  ::close(a);
}

TEST(PosixIoTest, OpenFdOfAMissingFileIsNotFound) {
  absl::StatusOr<Fd> fd = OpenFd(TempPath("no-such-file"), O_RDONLY | O_CLOEXEC);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kNotFound) << fd.status();
}

TEST(PosixIoTest, WriteFullThenReadFullRoundTripsAndReadStopsShortOnlyAtEndOfFile) {
  const std::string path = TempPath("roundtrip");
  const std::vector<uint8_t> data = Bytes(100000);
  {
    absl::StatusOr<Fd> fd = OpenFd(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
    ASSERT_TRUE(fd.ok()) << fd.status();
    ASSERT_TRUE(WriteFull(fd->get(), data, path).ok());
  }
  absl::StatusOr<Fd> fd = OpenFd(path, O_RDONLY | O_CLOEXEC);
  ASSERT_TRUE(fd.ok()) << fd.status();
  std::vector<uint8_t> back(data.size() + 10, 0);
  absl::StatusOr<size_t> n = ReadFull(fd->get(), absl::MakeSpan(back), path);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, data.size());
  back.resize(*n);
  EXPECT_EQ(back, data);
}

TEST(PosixIoTest, PreadAndPwriteWorkAtAnOffsetAndPreadPastTheEndReturnsWhatExists) {
  const std::string path = TempPath("pread");
  absl::StatusOr<Fd> fd = OpenFd(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC);
  ASSERT_TRUE(fd.ok()) << fd.status();
  const std::vector<uint8_t> data = Bytes(64);
  ASSERT_TRUE(PwriteFull(fd->get(), 16, data, path).ok());
  std::vector<uint8_t> back(100, 0xee);
  absl::StatusOr<size_t> n = PreadFull(fd->get(), 40, absl::MakeSpan(back), path);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 40u);  // the file is 80 bytes long
  EXPECT_EQ(std::vector<uint8_t>(back.begin(), back.begin() + 40),
            std::vector<uint8_t>(data.begin() + 24, data.end()));
  n = PreadFull(fd->get(), 500, absl::MakeSpan(back), path);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
}

TEST(PosixIoTest, ReadFullCollectsAPipeThatDeliversInSmallPieces) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Fd read_end(p[0]);
  const std::vector<uint8_t> data = Bytes(4096);
  std::thread writer([&] {
    Fd write_end(p[1]);
    for (size_t i = 0; i < data.size(); i += 100) {
      const size_t n = std::min<size_t>(100, data.size() - i);
      ASSERT_TRUE(WriteFull(write_end.get(), absl::MakeConstSpan(data).subspan(i, n), "").ok());
      std::this_thread::yield();
    }
  });
  std::vector<uint8_t> back(data.size());
  absl::StatusOr<size_t> n = ReadFull(read_end.get(), absl::MakeSpan(back), "pipe");
  writer.join();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, data.size());
  EXPECT_EQ(back, data);
}

TEST(PosixIoTest, ReadAndWriteFailuresCarryTheMappedCodeAndThePath) {
  const std::string dir = TempPath("");
  absl::StatusOr<Fd> d = OpenFd(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_TRUE(d.ok()) << d.status();
  uint8_t buf[8];
  absl::StatusOr<size_t> r = ReadFull(d->get(), absl::MakeSpan(buf), dir);  // EISDIR
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_NE(r.status().message().find(dir), absl::string_view::npos) << r.status();
  absl::Status w = WriteFull(d->get(), absl::MakeConstSpan(buf), dir);  // EBADF
  EXPECT_EQ(w.code(), absl::StatusCode::kDataLoss) << w;
  EXPECT_EQ(PwriteFull(d->get(), 0, absl::MakeConstSpan(buf), dir).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace internal
}  // namespace kms_envelope
