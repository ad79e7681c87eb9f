// UnnamedFile (kms_envelope/internal/unnamed_file.h): the file has no name until Replace or
// LinkAsNew, a process killed before that leaves nothing in the directory, and both the O_TMPFILE
// path and the named fallback keep those promises.
#include "kms_envelope/internal/unnamed_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kms_envelope {
namespace internal {
namespace {

using Kind = UnnamedFile::Kind;

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(int fd, const std::string& data) {
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
}

class UnnamedFileTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string base = tmp != nullptr ? tmp : "/tmp";
    dir_ = base + "/unnamed-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_.data()), nullptr);
  }
  void TearDown() override {
    for (const std::string& name : ListDir(dir_)) ::unlink((dir_ + "/" + name).c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_P(UnnamedFileTest, ReplaceCreatesTheFileWithItsContentAndMode0600AndNothingElse) {
  auto file = UnnamedFile::Create(dir_, "out.bin", 0600, GetParam());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->anonymous(), GetParam() == Kind::kPreferAnonymous);
  WriteAll(file->fd(), "sealed bytes");
  if (GetParam() == Kind::kPreferAnonymous) {
    EXPECT_TRUE(ListDir(dir_).empty());
  }
  ASSERT_TRUE(file->Replace(dir_ + "/out.bin").ok());
  EXPECT_EQ(file->fd(), -1);
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"out.bin"});
  EXPECT_EQ(ReadFile(dir_ + "/out.bin"), "sealed bytes");
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/out.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_P(UnnamedFileTest, ReplaceSwapsAnExistingFileInOneStep) {
  std::ofstream(dir_ + "/out.bin") << "old";
  auto file = UnnamedFile::Create(dir_, "out.bin", 0600, GetParam());
  ASSERT_TRUE(file.ok());
  WriteAll(file->fd(), "new content");
  EXPECT_EQ(ReadFile(dir_ + "/out.bin"), "old");
  ASSERT_TRUE(file->Replace(dir_ + "/out.bin").ok());
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"out.bin"});
  EXPECT_EQ(ReadFile(dir_ + "/out.bin"), "new content");
}

TEST_P(UnnamedFileTest, LinkAsNewRefusesATakenNameAndLeavesTheExistingFileAlone) {
  std::ofstream(dir_ + "/root.key") << "theirs";
  {
    auto file = UnnamedFile::Create(dir_, "root.key", 0600, GetParam());
    ASSERT_TRUE(file.ok());
    WriteAll(file->fd(), "mine");
    absl::Status s = file->LinkAsNew(dir_ + "/root.key");
    EXPECT_TRUE(absl::IsAlreadyExists(s)) << s;
  }
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"root.key"});
  EXPECT_EQ(ReadFile(dir_ + "/root.key"), "theirs");

  auto fresh = UnnamedFile::Create(dir_, "other.key", 0600, GetParam());
  ASSERT_TRUE(fresh.ok());
  WriteAll(fresh->fd(), "mine");
  ASSERT_TRUE(fresh->LinkAsNew(dir_ + "/other.key").ok());
  EXPECT_EQ(ListDir(dir_), (std::vector<std::string>{"other.key", "root.key"}));
  EXPECT_EQ(ReadFile(dir_ + "/other.key"), "mine");
}

TEST_P(UnnamedFileTest, DroppingAnUnnamedFileLeavesNothingBehind) {
  {
    auto file = UnnamedFile::Create(dir_, "out.bin", 0600, GetParam());
    ASSERT_TRUE(file.ok());
    WriteAll(file->fd(), "partial plaintext");
  }
  EXPECT_TRUE(ListDir(dir_).empty());
}

TEST_P(UnnamedFileTest, AFailedReplaceLeavesTheTargetAndNoTemporaryName) {
  ASSERT_EQ(::mkdir((dir_ + "/sub").c_str(), 0700), 0);
  std::ofstream(dir_ + "/sub/f") << "x";  // a non-empty directory cannot be replaced by a file
  {
    auto file = UnnamedFile::Create(dir_, "out.bin", 0600, GetParam());
    ASSERT_TRUE(file.ok());
    WriteAll(file->fd(), "data");
    EXPECT_FALSE(file->Replace(dir_ + "/sub").ok());
    if (GetParam() == Kind::kPreferAnonymous) {
      EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"sub"});  // no hidden link left
    }
  }
  EXPECT_EQ(ListDir(dir_), std::vector<std::string>{"sub"});
  EXPECT_EQ(ListDir(dir_ + "/sub"), std::vector<std::string>{"f"});
  ::unlink((dir_ + "/sub/f").c_str());
  ::rmdir((dir_ + "/sub").c_str());
}

TEST_P(UnnamedFileTest, ReplaceRefusesAFifoASymlinkAndAnEmptyDirectoryAndLeavesThemInPlace) {
  ASSERT_EQ(::mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  std::ofstream(dir_ + "/target") << "target";
  ASSERT_EQ(::symlink("target", (dir_ + "/link").c_str()), 0);
  ASSERT_EQ(::mkdir((dir_ + "/empty").c_str(), 0700), 0);  // rename(2) would replace this one
  for (const char* name : {"fifo", "link", "empty"}) {
    auto file = UnnamedFile::Create(dir_, name, 0600, GetParam());
    ASSERT_TRUE(file.ok());
    WriteAll(file->fd(), "data");
    absl::Status s = file->Replace(dir_ + "/" + name);
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << name << ": " << s;
  }
  struct stat st;
  ASSERT_EQ(::lstat((dir_ + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(::lstat((dir_ + "/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::lstat((dir_ + "/empty").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(ReadFile(dir_ + "/target"), "target");
  EXPECT_EQ(ListDir(dir_), (std::vector<std::string>{"empty", "fifo", "link", "target"}));
  ::rmdir((dir_ + "/empty").c_str());
}

INSTANTIATE_TEST_SUITE_P(BothKinds, UnnamedFileTest,
                         ::testing::Values(Kind::kPreferAnonymous, Kind::kNamedOnly),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kPreferAnonymous ? "OTmpfile" : "NamedFallback";
                         });

// The point of O_TMPFILE: SIGKILL before naming leaves no file at all.
TEST(UnnamedFileKillTest, AProcessKilledWhileWritingLeavesNoFileInTheDirectory) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/unnamed-kill-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto file = UnnamedFile::Create(dir, "plain.txt");
    if (!file.ok() || !file->anonymous()) ::_exit(3);
    const std::string chunk(4096, 'p');
    if (::write(file->fd(), chunk.data(), chunk.size()) != 4096) ::_exit(4);
    char c = 1;
    if (::write(ready[1], &c, 1) != 1) ::_exit(5);
    for (;;) ::pause();  // killed here, mid-output
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "child could not create an O_TMPFILE file";
  ::close(ready[0]);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(ListDir(dir).empty());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace internal
}  // namespace kms_envelope
