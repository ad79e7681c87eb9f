#include "kms_envelope/branch/file_branch_key_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/branch/branch_key_admin.h"
#include "kms_envelope/kms_error.h"
#include "tests/branch/branch_test_util.h"
#include "tests/branch/rotation_kill.h"

namespace kms_envelope {
namespace branch {
namespace {

using local::testing::TestDir;

BranchKeyVersion Version(const std::string& id, uint32_t n) {
  BranchKeyVersion v;
  v.branch_key_id = id;
  v.version = n;
  v.cmk_key_id = "cmk";
  v.wrapped_key = "wrapped-" + std::to_string(n);
  return v;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST(FileBranchKeyStoreTest, VersionsAreAddedInOrderAndTheNewestIsActive) {
  auto store = FileBranchKeyStore::Open(TestDir("store")).value();
  ASSERT_TRUE(store->PutActiveVersion(Version("a", 1)).ok());
  ASSERT_TRUE(store->PutActiveVersion(Version("a", 2)).ok());
  ASSERT_TRUE(store->PutActiveVersion(Version("b", 1)).ok());
  auto active = store->GetActiveVersion("a");
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->version, 2u);
  EXPECT_EQ(active->wrapped_key, "wrapped-2");
  EXPECT_TRUE(active->active);
  EXPECT_FALSE(active->create_time.empty());
  auto v1 = store->GetVersion("a", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE(v1->active);
  EXPECT_EQ(store->ListVersions("a")->size(), 2u);
  EXPECT_EQ(*store->ListBranchKeyIds(), (std::vector<std::string>{"a", "b"}));
  EXPECT_KMS_CODE(store->GetVersion("a", 3).status(), kms_code::kKeyNotFound);
  EXPECT_KMS_CODE(store->GetActiveVersion("zzz").status(), kms_code::kKeyNotFound);
}

TEST(FileBranchKeyStoreTest, AVersionThatIsNotTheNextOneIsAConflict) {
  auto store = FileBranchKeyStore::Open(TestDir("store")).value();
  EXPECT_KMS_CODE(store->PutActiveVersion(Version("a", 2)), kms_code::kStateModifiedFailed);
  ASSERT_TRUE(store->PutActiveVersion(Version("a", 1)).ok());
  EXPECT_KMS_CODE(store->PutActiveVersion(Version("a", 1)), kms_code::kStateModifiedFailed);
  EXPECT_KMS_CODE(store->PutActiveVersion(Version("a", 3)), kms_code::kStateModifiedFailed);
  BranchKeyVersion bad = Version("bad id", 1);
  EXPECT_KMS_CODE(store->PutActiveVersion(bad), kms_code::kInvalidParameter);
}

TEST(FileBranchKeyStoreTest, ACorruptOrForeignFileIsRefusedAndLeftAlone) {
  const std::string dir = TestDir("store");
  auto store = FileBranchKeyStore::Open(dir).value();
  ASSERT_TRUE(store->PutActiveVersion(Version("a", 1)).ok());
  const std::string good = Slurp(store->file_path());
  const std::vector<std::string> bad = {
      good.substr(0, good.size() / 2),
      "[]",
      std::string(good).replace(good.find("\"format_version\": 1"), 19, "\"format_version\": 2"),
      std::string(good).replace(good.find("\"active_version\": 1"), 19, "\"active_version\": 5"),
      std::string(good).replace(good.find("\"version\": 1"), 12, "\"version\": 2"),
      std::string(good).replace(good.find("\"cmk_key_id\""), 12, "\"unknown\": 1, \"cmk_key_id\""),
  };
  for (const std::string& text : bad) {
    Spit(store->file_path(), text);
    EXPECT_EQ(store->GetActiveVersion("a").status().code(), absl::StatusCode::kDataLoss) << text;
    EXPECT_FALSE(store->PutActiveVersion(Version("a", 2)).ok());
    EXPECT_EQ(Slurp(store->file_path()), text);
    EXPECT_FALSE(FileBranchKeyStore::Open(dir).ok());
  }
}

TEST(FileBranchKeyStoreTest, ConcurrentRotationsLoseNoVersion) {
  const std::string dir = TestDir("store");
  auto kms = branch_testing::OpenLocalKms(TestDir("kms"));
  auto store = FileBranchKeyStore::Open(dir).value();
  ASSERT_TRUE(CreateBranchKey(*kms.real, kms.cmk, *store, "a").ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto own = FileBranchKeyStore::Open(dir).value();  // as another process would
      for (int i = 0; i < 5; ++i) {
        if (!RotateBranchKey(*kms.real, "", *own, "a").ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto versions = store->ListVersions("a");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 21u);
  EXPECT_TRUE(versions->back().active);
}

TEST(FileBranchKeyStoreTest, KillsDuringVersionCreationLeaveTheOldOrTheNewActiveVersion) {
  const std::string dir = TestDir("store");
  auto kms = branch_testing::OpenLocalKms(TestDir("kms"));
  const uint32_t versions = branch_testing::KillRotatorsAndCheck(
      [&] { return std::unique_ptr<BranchKeyStore>(FileBranchKeyStore::Open(dir).value()); },
      kms, "killed", 25);
  EXPECT_GT(versions, 8u);  // the children did rotate before most kills
  // A kill mid-write leaves no partial file; a hidden complete copy left by a kill during the
  // final rename is removed by the next write.
  auto store = FileBranchKeyStore::Open(dir).value();
  ASSERT_TRUE(RotateBranchKey(*kms.real, "", *store, "killed").ok());
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ++entries;
    EXPECT_TRUE(e.path().filename() == kBranchKeyFileName ||
                e.path().filename() == kBranchKeyLockName)
        << e.path();
  }
  EXPECT_EQ(entries, 2);
}

}  // namespace
}  // namespace branch
}  // namespace kms_envelope
