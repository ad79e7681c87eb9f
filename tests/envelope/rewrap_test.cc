// RewrapPaths (envelope/rewrap.h): resume from the headers alone (already current files are not
// rewritten), aliases and rotations, failures counted and left untouched, links never followed,
// FIFOs never opened. Real local KMS stores and real files under $TEST_TMPDIR.
#include "kms_envelope/envelope/rewrap.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/format.h"
#include "kms_envelope/testing/test_bytes.h"
#include "tests/envelope/envelope_test_util.h"

namespace kms_envelope {
namespace envelope {
namespace {

namespace fs = std::filesystem;
using envelope_test::ReadFile;
using envelope_test::WriteFile;
using envelope_test::NewTestKms;
using envelope_test::TempPath;
using envelope_test::TestKms;
using envelope_test::TestPlaintext;

ino_t Inode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

std::string FirstKeyId(const std::string& path) {
  auto parsed = ParseHeader(kms_envelope::testing::Bytes(ReadFile(path)));
  return parsed.ok() ? parsed->header.wrapped_keys[0].key_id : "";
}

class RewrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = NewTestKms("rewrap_store_a");
    auto b = NewTestKms("rewrap_store_b");
    ASSERT_TRUE(a.ok() && b.ok());
    a_ = *std::move(a);
    b_ = *std::move(b);
    root_ = TempPath(::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  // A file sealed under A at `rel` below the test's directory.
  void Seal(const std::string& rel, size_t size) {
    EnvelopeOptions o;
    o.frame_size = 64;
    o.primary = {a_.provider, a_.key_id};
    auto sealed = (*Envelope::New(std::move(o)))->Seal(TestPlaintext(size), ctx_);
    ASSERT_TRUE(sealed.ok());
    fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
    WriteFile(root_ + "/" + rel, *sealed);
  }
  // Rewraps onto B's CMK (`key_id` may be B's alias), unwrapping through A.
  std::unique_ptr<Envelope> ToB(const std::string& key_id = "") {
    EnvelopeOptions o;
    o.primary = {b_.provider, key_id.empty() ? b_.key_id : key_id};
    o.decrypt_providers = {a_.provider};
    return *Envelope::New(std::move(o));
  }
  absl::StatusOr<RewrapReport> Run(const Envelope& env, bool recursive) {
    RewrapOptions options;
    options.recursive = recursive;
    options.expected_context = &ctx_;
    return RewrapPaths(env, {root_}, options);
  }
  void ExpectOpensUnderBOnly(const std::string& rel, size_t size) {
    EnvelopeOptions o;
    o.decrypt_providers = {b_.provider};
    auto opened = (*Envelope::New(std::move(o)))->Open(ReadFile(root_ + "/" + rel), ctx_);
    ASSERT_TRUE(opened.ok()) << rel << ": " << opened.status();
    EXPECT_EQ(*opened, TestPlaintext(size));
  }
  TestKms a_, b_;
  std::string root_;
  EncryptionContext ctx_ = *EncryptionContext::FromPairs({{"file", "x"}});
};

TEST_F(RewrapTest, ARerunCountsFinishedFilesAsAlreadyCurrentWithoutRewritingThem) {
  for (int i = 0; i < 4; ++i) Seal("f" + std::to_string(i), 100 + i);
  WriteFile(root_ + "/notes.txt", "not an envelope");
  WriteFile(root_ + "/.f9.kmse-rewrap.tmp", "stale temporary of an older version");
  WriteFile(root_ + "/" + kRewrapJournalName, "journal of an older version\n");
  auto env = ToB();
  // An interrupted run: f0 was finished, then the process died (no journal, no state at all).
  ASSERT_TRUE(RewrapFile(*env, root_ + "/f0", &ctx_).ok());
  const std::string f0_done = ReadFile(root_ + "/f0");
  const ino_t f0_inode = Inode(root_ + "/f0");

  auto r = Run(*env, false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->already_current, 1u);
  EXPECT_EQ(r->rewrapped, 3u);
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].path, root_ + "/notes.txt");
  EXPECT_TRUE(r->failed.empty());
  EXPECT_EQ(ReadFile(root_ + "/f0"), f0_done);
  EXPECT_EQ(Inode(root_ + "/f0"), f0_inode) << "an already current file must not be rewritten";
  EXPECT_FALSE(fs::exists(root_ + "/.f9.kmse-rewrap.tmp"));
  EXPECT_FALSE(fs::exists(root_ + "/" + kRewrapJournalName));
  EXPECT_EQ(ReadFile(root_ + "/notes.txt"), "not an envelope");
  for (int i = 0; i < 4; ++i) ExpectOpensUnderBOnly("f" + std::to_string(i), 100 + i);
}

TEST_F(RewrapTest, AnAliasTargetIsCurrentUnderItsGuidAndARotationMakesFilesStaleAgain) {
  Seal("f", 50);
  auto by_alias = ToB(b_.alias);
  auto first = Run(*by_alias, false);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->rewrapped, 1u);
  EXPECT_EQ(FirstKeyId(root_ + "/f"), b_.key_id);
  auto again = Run(*by_alias, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->already_current, 1u) << "the alias resolves to the GUID in the header";
  EXPECT_EQ(again->rewrapped, 0u);

  ASSERT_TRUE(b_.rotate_key(b_.key_id).ok());
  auto rotated = Run(*by_alias, false);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->rewrapped, 1u) << "a new primary version is a new target";
  EXPECT_EQ(rotated->already_current, 0u);
  ExpectOpensUnderBOnly("f", 50);
}

TEST_F(RewrapTest, AFailedFileIsCountedNamedAndLeftUntouchedWhileTheOthersGoOn) {
  Seal("a-corrupt", 10);
  Seal("b-good", 10);
  std::string corrupt = ReadFile(root_ + "/a-corrupt");
  corrupt[60] ^= 1;  // inside the first wrapped key's fields or blob
  WriteFile(root_ + "/a-corrupt", corrupt);
  auto env = ToB();
  auto r = Run(*env, false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rewrapped, 1u);
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_EQ(r->failed[0].path, root_ + "/a-corrupt");
  EXPECT_FALSE(r->failed[0].status.ok());
  EXPECT_EQ(ReadFile(root_ + "/a-corrupt"), corrupt) << "a failed file is left as it was";
  ExpectOpensUnderBOnly("b-good", 10);
}

TEST_F(RewrapTest, RecursionNeverFollowsALinkOutOfTheTreeNorOpensAFifo) {
  Seal("top", 20);
  Seal("sub/deeper/inner", 30);
  const std::string outside = root_ + "-outside";
  fs::remove_all(outside);
  fs::create_directories(outside);
  EnvelopeOptions o;
  o.primary = {a_.provider, a_.key_id};
  WriteFile(outside + "/secret", *(*Envelope::New(std::move(o)))->Seal(TestPlaintext(5), ctx_));
  const std::string secret = ReadFile(outside + "/secret");
  fs::create_symlink(outside + "/secret", root_ + "/link-to-file");
  fs::create_directory_symlink(outside, root_ + "/sub/link-to-dir");
  ASSERT_EQ(::mkfifo((root_ + "/sub/fifo").c_str(), 0600), 0);  // opening it would block

  auto env = ToB();
  auto flat = Run(*env, false);
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_EQ(flat->rewrapped, 1u) << "without recursion only the files directly inside";
  EXPECT_EQ(FirstKeyId(root_ + "/sub/deeper/inner"), a_.key_id);

  auto r = Run(*env, true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rewrapped, 1u);
  EXPECT_EQ(r->already_current, 1u);
  std::vector<std::string> skipped;
  for (const RewrapEntry& e : r->skipped) skipped.push_back(e.path + ": " + e.reason);
  EXPECT_EQ(skipped, (std::vector<std::string>{
                         root_ + "/link-to-file: symbolic link (not followed)",
                         root_ + "/sub/fifo: FIFO (not a regular file)",
                         root_ + "/sub/link-to-dir: symbolic link (not followed)"}));
  EXPECT_EQ(ReadFile(outside + "/secret"), secret) << "a file outside the tree was rewritten";
  EXPECT_TRUE(fs::is_symlink(root_ + "/link-to-file"));
  ExpectOpensUnderBOnly("sub/deeper/inner", 30);
}

}  // namespace
}  // namespace envelope
}  // namespace kms_envelope
