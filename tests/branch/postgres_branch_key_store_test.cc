// Against a real PostgreSQL server (tests/branch/postgres_server.h), started once for the file.
#include "kms_envelope/branch/postgres_branch_key_store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/branch/branch_key_admin.h"
#include "kms_envelope/branch/branch_key_provider.h"
#include "kms_envelope/kms_error.h"
#include "tests/branch/branch_test_util.h"
#include "tests/branch/postgres_server.h"
#include "tests/branch/rotation_kill.h"

namespace kms_envelope {
namespace branch {
namespace {

using branch_testing::B;
using branch_testing::LocalKms;
using branch_testing::PostgresServer;
using local::testing::TestDir;

PostgresServer* server = nullptr;

class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { server_ = PostgresServer::Start(); server = server_.get(); }
  void TearDown() override { server = nullptr; server_.reset(); }
  std::unique_ptr<PostgresServer> server_;
};

std::unique_ptr<PostgresBranchKeyStore> OpenStore(std::chrono::milliseconds retry_for =
                                                      std::chrono::milliseconds(5000)) {
  PostgresBranchKeyStoreOptions o;
  o.conninfo = server->conninfo();
  o.retry_for = retry_for;
  auto store = PostgresBranchKeyStore::Open(o);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

std::unique_ptr<BranchKeyProvider> NewProvider(const LocalKms& kms,
                                               std::shared_ptr<BranchKeyStore> store,
                                               std::chrono::nanoseconds ttl) {
  BranchKeyProviderOptions o;
  o.kms = kms.counting;
  o.store = std::move(store);
  o.cache.ttl = ttl;
  return BranchKeyProvider::New(std::move(o)).value();
}

BranchKeyVersion Version(const std::string& id, uint32_t n) {
  BranchKeyVersion v;
  v.branch_key_id = id;
  v.version = n;
  v.cmk_key_id = "cmk";
  v.wrapped_key = std::string("\0\x01wrapped\xff", 10) + std::to_string(n);
  return v;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(server, nullptr) << "PostgreSQL did not start";
    kms_ = branch_testing::OpenLocalKms(TestDir("kms"));
  }
  LocalKms kms_;
};

TEST_F(PostgresStoreTest, VersionsAreAddedInOrderAndTheNewestIsActive) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->PutActiveVersion(Version("pg-a", 1)).ok());
  ASSERT_TRUE(store->PutActiveVersion(Version("pg-a", 2)).ok());
  EXPECT_KMS_CODE(store->PutActiveVersion(Version("pg-a", 2)), kms_code::kStateModifiedFailed);
  EXPECT_KMS_CODE(store->PutActiveVersion(Version("pg-a", 4)), kms_code::kStateModifiedFailed);
  EXPECT_KMS_CODE(store->PutActiveVersion(Version("pg-a", 1)), kms_code::kStateModifiedFailed);
  EXPECT_KMS_CODE(store->PutActiveVersion(Version("pg-none", 2)), kms_code::kStateModifiedFailed);
  auto active = store->GetActiveVersion("pg-a");
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_EQ(active->version, 2u);
  EXPECT_EQ(active->wrapped_key, Version("pg-a", 2).wrapped_key);  // bytea round trip
  EXPECT_TRUE(active->active);
  auto v1 = store->GetVersion("pg-a", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE(v1->active);
  EXPECT_EQ(store->ListVersions("pg-a")->size(), 2u);
  EXPECT_KMS_CODE(store->GetVersion("pg-a", 3).status(), kms_code::kKeyNotFound);
  EXPECT_KMS_CODE(store->GetActiveVersion("pg-nobody").status(), kms_code::kKeyNotFound);
  auto ids = store->ListBranchKeyIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_NE(std::find(ids->begin(), ids->end(), "pg-a"), ids->end());
}

TEST_F(PostgresStoreTest, ThousandsOfDataKeysCostOneKmsCall) {
  std::shared_ptr<BranchKeyStore> store = OpenStore();
  ASSERT_TRUE(CreateBranchKey(*kms_.real, kms_.cmk, *store, "pg-many").ok());
  auto provider = NewProvider(kms_, store, std::chrono::minutes(5));
  GenerateDataKeyRequest req;
  req.key_id = "pg-many";
  for (int i = 0; i < 3000; ++i) {
    auto dk = provider->GenerateDataKey(req);
    ASSERT_TRUE(dk.ok());
    DecryptRequest dreq;
    dreq.ciphertext_blob = B(dk->ciphertext_blob);
    ASSERT_TRUE(provider->Decrypt(dreq).ok());
  }
  EXPECT_EQ(kms_.counting->decrypt_calls() + kms_.counting->generate_calls(), 1);
}

TEST_F(PostgresStoreTest, ConcurrentRotationsOverManyConnectionsLoseNoVersion) {
  auto store = OpenStore();
  ASSERT_TRUE(CreateBranchKey(*kms_.real, kms_.cmk, *store, "pg-race").ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto own = OpenStore();
      for (int i = 0; i < 5 && own != nullptr; ++i) {
        absl::Status s = RotateBranchKey(*kms_.real, "", *own, "pg-race").status();
        EXPECT_TRUE(s.ok()) << s;
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto versions = store->ListVersions("pg-race");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 21u);
  for (size_t i = 0; i < versions->size(); ++i) EXPECT_EQ((*versions)[i].version, i + 1);
  EXPECT_TRUE(versions->back().active);
}

bool WriteBlob(int fd, const std::string& blob) {
  const uint32_t n = static_cast<uint32_t>(blob.size());
  return ::write(fd, &n, 4) == 4 && ::write(fd, blob.data(), n) == static_cast<ssize_t>(n);
}

std::string ReadBlob(int fd) {
  uint32_t n = 0;
  if (::read(fd, &n, 4) != 4 || n > 4096) return "";
  std::string blob(n, '\0');
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::read(fd, blob.data() + done, n - done);
    if (r <= 0) return "";
    done += static_cast<size_t>(r);
  }
  return blob;
}

// The child: its own KMS client, store connection and cache. Sends one data key blob at once,
// then one as soon as it sees version 2.
[[noreturn]] void SecondHost(const LocalKms& kms, int out) {
  LocalKms own = branch_testing::OpenLocalKms(kms.directory, kms.cmk);
  std::shared_ptr<BranchKeyStore> store = OpenStore();
  if (own.counting == nullptr || store == nullptr) ::_exit(2);
  auto provider = NewProvider(own, store, std::chrono::milliseconds(100));
  GenerateDataKeyRequest req;
  req.key_id = "pg-shared";
  auto first = provider->GenerateDataKey(req);
  if (!first.ok() || !WriteBlob(out, first->ciphertext_blob)) ::_exit(3);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto dk = provider->GenerateDataKey(req);
    if (dk.ok() && dk->key_version_id == "2") ::_exit(WriteBlob(out, dk->ciphertext_blob) ? 0 : 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::_exit(5);
}

TEST_F(PostgresStoreTest, TwoProcessesSharingTheStoreSeeARotation) {
  std::shared_ptr<BranchKeyStore> store = OpenStore();
  ASSERT_TRUE(CreateBranchKey(*kms_.real, kms_.cmk, *store, "pg-shared").ok());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    SecondHost(kms_, fds[1]);
  }
  ::close(fds[1]);
  auto provider = NewProvider(kms_, store, std::chrono::milliseconds(100));
  auto decrypt = [&](const std::string& blob) {
    DecryptRequest dreq;
    dreq.ciphertext_blob = B(blob);
    return provider->Decrypt(dreq);
  };
  const std::string before = ReadBlob(fds[0]);
  auto opened = decrypt(before);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->key_version_id, "1");
  const auto rotated_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(RotateBranchKey(*kms_.real, "", *store, "pg-shared").ok());
  const std::string after = ReadBlob(fds[0]);
  const auto seen_after = std::chrono::steady_clock::now() - rotated_at;
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto opened_after = decrypt(after);
  ASSERT_TRUE(opened_after.ok()) << opened_after.status();
  EXPECT_EQ(opened_after->key_version_id, "2");
  EXPECT_LT(seen_after, std::chrono::seconds(5));  // the other host's TTL is 100 ms
}

TEST_F(PostgresStoreTest, ARestartDuringALoadLoopCostsRetriesNeverAWrongAnswerOrALostVersion) {
  std::shared_ptr<PostgresBranchKeyStore> store = OpenStore(std::chrono::milliseconds(300));
  ASSERT_TRUE(CreateBranchKey(*kms_.real, kms_.cmk, *store, "pg-load").ok());
  // A 1 ms TTL sends nearly every operation to the store, so the restart is felt.
  auto provider = NewProvider(kms_, store, std::chrono::milliseconds(1));
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, unavailable{0}, other{0}, rounds{0};
  std::vector<std::pair<std::string, SecretBytes>> sealed;
  std::thread load([&] {
    GenerateDataKeyRequest req;
    req.key_id = "pg-load";
    while (!stop) {
      auto dk = provider->GenerateDataKey(req);
      if (!dk.ok()) {
        (absl::IsUnavailable(dk.status()) ? unavailable : other)++;
        continue;
      }
      DecryptRequest dreq;
      dreq.ciphertext_blob = B(dk->ciphertext_blob);
      auto back = provider->Decrypt(dreq);
      if (back.ok() && !back->plaintext.ConstantTimeEquals(dk->plaintext)) ++wrong;
      if (!back.ok()) (absl::IsUnavailable(back.status()) ? unavailable : other)++;
      ++rounds;
      sealed.emplace_back(dk->ciphertext_blob, std::move(dk->plaintext));
    }
  });
  std::vector<uint32_t> rotated;
  std::thread rotator([&] {
    auto own = OpenStore(std::chrono::milliseconds(300));
    while (!stop && own != nullptr) {
      auto v = RotateBranchKey(*kms_.real, "", *own, "pg-load");
      if (v.ok()) rotated.push_back(v->version);
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_TRUE(server->Stop());
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  ASSERT_TRUE(server->StartAgain());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  stop = true;
  load.join();
  rotator.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(store->stats().reconnects + unavailable.load(), 1u);  // the restart was felt
  EXPECT_GT(rounds.load(), 10);
  auto versions = store->ListVersions("pg-load");
  ASSERT_TRUE(versions.ok()) << versions.status();
  for (size_t i = 0; i < versions->size(); ++i) EXPECT_EQ((*versions)[i].version, i + 1);
  EXPECT_TRUE(versions->back().active);
  for (uint32_t v : rotated) EXPECT_LE(v, versions->size()) << "lost version " << v;
  auto fresh = NewProvider(kms_, store, std::chrono::minutes(1));
  for (const auto& [blob, key] : sealed) {
    DecryptRequest dreq;
    dreq.ciphertext_blob = B(blob);
    auto back = fresh->Decrypt(dreq);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->plaintext.ConstantTimeEquals(key));
  }
}

TEST_F(PostgresStoreTest, KillsDuringVersionCreationLeaveTheOldOrTheNewActiveVersion) {
  const uint32_t versions = branch_testing::KillRotatorsAndCheck(
      [] { return std::unique_ptr<BranchKeyStore>(OpenStore()); }, kms_, "pg-killed", 15);
  EXPECT_GT(versions, 5u);  // the children did rotate before most kills
}

}  // namespace
}  // namespace branch
}  // namespace kms_envelope

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kms_envelope::branch::PostgresEnvironment());
  return RUN_ALL_TESTS();
}
