#include "kms_envelope/local/local_key_store.h"

#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/kms_error.h"
#include "tests/local/test_util.h"

namespace kms_envelope {
namespace local {
namespace {

using testing::TestDir;

std::unique_ptr<LocalKeyStore> OpenAt(const std::string& dir, const std::string& passphrase = "") {
  LocalKeyStoreOptions options;
  options.directory = dir;
  options.passphrase = passphrase;
  absl::StatusOr<std::unique_ptr<LocalKeyStore>> store = LocalKeyStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

absl::Status TryOpen(const std::string& dir, const std::string& passphrase = "") {
  LocalKeyStoreOptions options;
  options.directory = dir;
  options.passphrase = passphrase;
  return LocalKeyStore::Open(options).status();
}

std::unique_ptr<LocalKeyStore> InMemory() {
  LocalKeyStoreOptions options;
  options.in_memory = true;
  return *LocalKeyStore::Open(options);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST(LocalKeyStore, CreatesKeysWithMetadataAsTheServiceDescribesThem) {
  auto store = InMemory();
  absl::StatusOr<KeyMetadata> key = store->CreateKey("backups");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(kms_envelope::testing::IsUuid(key->key_id));
  EXPECT_EQ(key->description, "backups");
  EXPECT_EQ(key->key_state, "Enabled");
  EXPECT_EQ(key->key_spec, "Aliyun_AES_256");
  EXPECT_EQ(key->key_usage, "ENCRYPT/DECRYPT");
  EXPECT_EQ(key->arn, "acs:kms:local:0:key/" + key->key_id);
  ASSERT_EQ(key->key_version_ids.size(), 1u);
  EXPECT_EQ(key->primary_key_version, key->key_version_ids[0]);
  ASSERT_EQ(key->creation_date.size(), 20u);
  EXPECT_EQ(key->creation_date[10], 'T');
  EXPECT_EQ(key->creation_date.back(), 'Z');
  absl::StatusOr<KeyMetadata> described = store->DescribeKey(key->key_id);
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->creation_date, key->creation_date);
  auto second = store->CreateKey("");
  auto list = store->ListKeys();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key_id, key->key_id);
  EXPECT_EQ((*list)[1].key_id, second->key_id);
}

TEST(LocalKeyStore, ReportsUnknownKeysAndAliasesWithTheirCodes) {
  auto store = InMemory();
  EXPECT_KMS_CODE(store->DescribeKey("0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5b").status(),
                  kms_code::kKeyNotFound);
  EXPECT_KMS_CODE(store->DescribeKey("alias/none").status(), kms_code::kAliasNotFound);
  EXPECT_KMS_CODE(store->DescribeKey("").status(), kms_code::kInvalidParameter);
  EXPECT_KMS_CODE(store->DisableKey("nope").status(), kms_code::kKeyNotFound);
}

TEST(LocalKeyStore, AliasesResolveAndRefuseDuplicatesAndBadNames) {
  auto store = InMemory();
  auto a = *store->CreateKey("a");
  auto b = *store->CreateKey("b");
  ASSERT_OK(store->CreateAlias("alias/backup", a.key_id));
  EXPECT_KMS_CODE(store->CreateAlias("alias/backup", b.key_id), kms_code::kAliasAlreadyExists);
  EXPECT_EQ(store->DescribeKey("alias/backup")->key_id, a.key_id);
  for (const char* bad : {"backup", "alias/", "alias/a b", "alias/acs/x", "alias/é", "Alias/x"}) {
    SCOPED_TRACE(bad);
    EXPECT_KMS_CODE(store->CreateAlias(bad, a.key_id), kms_code::kInvalidParameter);
  }
  EXPECT_TRUE(IsValidAliasName("alias/a-b_c:d/e9"));
  EXPECT_TRUE(IsValidAliasName("alias/" + std::string(kMaxAliasNameSize - 6, 'x')));
  EXPECT_FALSE(IsValidAliasName("alias/" + std::string(kMaxAliasNameSize - 5, 'x')));
  EXPECT_KMS_CODE(store->CreateAlias("alias/x", "0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
                  kms_code::kKeyNotFound);
  ASSERT_OK(store->CreateAlias("alias/b", b.key_id));
  auto all = *store->ListAliases();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].alias_name, "alias/b");
  EXPECT_EQ(all[0].alias_arn, "acs:kms:local:0:alias/b");
  auto of_a = *store->ListAliasesByKeyId(a.key_id);
  ASSERT_EQ(of_a.size(), 1u);
  EXPECT_EQ(of_a[0].alias_name, "alias/backup");
  ASSERT_OK(store->UpdateAlias("alias/backup", b.key_id));
  EXPECT_EQ(store->DescribeKey("alias/backup")->key_id, b.key_id);
  ASSERT_OK(store->DeleteAlias("alias/backup"));
  EXPECT_KMS_CODE(store->DescribeKey("alias/backup").status(), kms_code::kAliasNotFound);
  EXPECT_KMS_CODE(store->DeleteAlias("alias/backup"), kms_code::kAliasNotFound);
}

TEST(LocalKeyStore, AllowsAndRefusesStateTransitionsAsDocumented) {
  auto store = InMemory();
  auto k = *store->CreateKey("");
  EXPECT_EQ(store->DisableKey(k.key_id)->key_state, "Disabled");
  EXPECT_EQ(store->DisableKey(k.key_id)->key_state, "Disabled");
  EXPECT_EQ(store->EnableKey(k.key_id)->key_state, "Enabled");
  EXPECT_KMS_CODE(store->CancelKeyDeletion(k.key_id).status(), kms_code::kStateModifiedFailed);
  EXPECT_KMS_CODE(store->ScheduleKeyDeletion(k.key_id, 6).status(), kms_code::kInvalidParameter);
  EXPECT_KMS_CODE(store->ScheduleKeyDeletion(k.key_id, 31).status(), kms_code::kInvalidParameter);
  auto pending = store->ScheduleKeyDeletion(k.key_id, 7);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->key_state, "PendingDeletion");
  EXPECT_EQ(pending->delete_date.size(), 20u);
  EXPECT_GT(pending->delete_date, pending->creation_date);
  EXPECT_KMS_CODE(store->EnableKey(k.key_id).status(), kms_code::kStateModifiedFailed);
  EXPECT_KMS_CODE(store->DisableKey(k.key_id).status(), kms_code::kStateModifiedFailed);
  EXPECT_KMS_CODE(store->ScheduleKeyDeletion(k.key_id, 30).status(),
                  kms_code::kStateModifiedFailed);
  EXPECT_KMS_CODE(store->RotateKey(k.key_id).status(), kms_code::kPendingDeletion);
  auto cancelled = store->CancelKeyDeletion(k.key_id);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->key_state, "Enabled");
  EXPECT_EQ(cancelled->delete_date, "");
  ASSERT_TRUE(store->DisableKey(k.key_id).ok());
  EXPECT_EQ(store->ScheduleKeyDeletion(k.key_id, 30)->key_state, "PendingDeletion");
  ASSERT_TRUE(store->CancelKeyDeletion(k.key_id).ok());
  ASSERT_TRUE(store->DisableKey(k.key_id).ok());
  EXPECT_KMS_CODE(store->RotateKey(k.key_id).status(), kms_code::kDisabled);
}

// Leases the primary version of `key` (one wrap) and returns its KeyVersionId.
std::string PrimaryVersionLeased(LocalKeyStore& store, const std::string& key) {
  std::string version;
  EXPECT_OK(store.WithPrimaryVersion(key, [&](const VersionKeyLease& lease) {
    version = std::string(lease.key_version_id);
    return absl::OkStatus();
  }));
  return version;
}

// Whether the store still lends `version` (what Decrypt of a blob under it needs).
absl::Status LeaseVersion(LocalKeyStore& store, const std::string& version) {
  return store.WithVersion(version, [](const VersionKeyLease&) { return absl::OkStatus(); });
}

// Opens a store whose clock reads `*clock` (tests move it forward).
std::unique_ptr<LocalKeyStore> OpenWithClock(LocalKeyStoreOptions options,
                                             std::shared_ptr<absl::Time> clock) {
  options.now = [clock] { return *clock; };
  auto store = LocalKeyStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

TEST(LocalKeyStore, PurgeDestroysOnlyThePendingDeletionKeysWhoseDeleteDateHasPassed) {
  const std::string dir = TestDir("purge");
  auto clock = std::make_shared<absl::Time>(absl::FromUnixSeconds(1'800'000'000));
  LocalKeyStoreOptions options;
  options.directory = dir;
  auto store = OpenWithClock(options, clock);
  const std::string doomed = store->CreateKey("doomed")->key_id;
  const std::string later = store->CreateKey("later")->key_id;
  const std::string kept = store->CreateKey("kept")->key_id;
  ASSERT_OK(store->CreateAlias("alias/doomed", doomed));
  ASSERT_OK(store->CreateAlias("alias/kept", kept));
  ASSERT_TRUE(store->RotateKey(doomed).ok());
  const std::string doomed_version = PrimaryVersionLeased(*store, doomed);
  const std::string kept_version = PrimaryVersionLeased(*store, kept);
  ASSERT_TRUE(store->ScheduleKeyDeletion(doomed, 7).ok());
  ASSERT_TRUE(store->ScheduleKeyDeletion(later, 30).ok());

  // Not due yet: nothing happens and the file is not rewritten.
  *clock += absl::Hours(24 * 7) - absl::Seconds(1);
  const std::string file_before = ReadFile(dir + "/keystore.bin");
  auto none = store->PurgeDeletedKeys();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(ReadFile(dir + "/keystore.bin"), file_before);

  *clock += absl::Seconds(1);
  auto purged = store->PurgeDeletedKeys();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, std::vector<std::string>{doomed});
  EXPECT_KMS_CODE(store->DescribeKey(doomed).status(), kms_code::kKeyNotFound);
  EXPECT_KMS_CODE(store->DescribeKey("alias/doomed").status(), kms_code::kAliasNotFound);
  EXPECT_KMS_CODE(store->CancelKeyDeletion(doomed).status(), kms_code::kKeyNotFound);
  EXPECT_FALSE(LeaseVersion(*store, doomed_version).ok());
  EXPECT_EQ(store->DescribeKey(later)->key_state, "PendingDeletion");
  EXPECT_EQ(store->DescribeKey("alias/kept")->key_id, kept);
  EXPECT_OK(LeaseVersion(*store, kept_version));
  EXPECT_TRUE(store->PurgeDeletedKeys()->empty());

  // The purge is persisted: a fresh process does not see the key either.
  store.reset();
  auto reopened = OpenAt(dir);
  ASSERT_NE(reopened, nullptr);
  EXPECT_KMS_CODE(reopened->DescribeKey(doomed).status(), kms_code::kKeyNotFound);
  EXPECT_FALSE(LeaseVersion(*reopened, doomed_version).ok());
  EXPECT_OK(LeaseVersion(*reopened, kept_version));
  auto keys = reopened->ListKeys();
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 2u);
  auto aliases = reopened->ListAliases();
  ASSERT_TRUE(aliases.ok());
  ASSERT_EQ(aliases->size(), 1u);
  EXPECT_EQ((*aliases)[0].alias_name, "alias/kept");
}

TEST(LocalKeyStore, ACancelledDeletionIsNeverPurged) {
  auto clock = std::make_shared<absl::Time>(absl::FromUnixSeconds(1'800'000'000));
  LocalKeyStoreOptions options;
  options.in_memory = true;
  auto store = OpenWithClock(options, clock);
  const std::string id = store->CreateKey("")->key_id;
  ASSERT_TRUE(store->ScheduleKeyDeletion(id, 7).ok());
  ASSERT_TRUE(store->CancelKeyDeletion(id).ok());
  *clock += absl::Hours(24 * 365);
  EXPECT_TRUE(store->PurgeDeletedKeys()->empty());
  EXPECT_EQ(store->DescribeKey(id)->key_state, "Enabled");
}

TEST(LocalKeyStore, RotationAddsAPrimaryVersionAndKeepsTheOldOnes) {
  auto store = InMemory();
  auto k = *store->CreateKey("");
  auto v2 = store->RotateKey(k.key_id);
  ASSERT_TRUE(v2.ok()) << v2.status();
  auto after = *store->DescribeKey(k.key_id);
  ASSERT_EQ(after.key_version_ids.size(), 2u);
  EXPECT_EQ(after.key_version_ids[0], k.primary_key_version);
  EXPECT_EQ(after.primary_key_version, *v2);
}

TEST(LocalKeyStore, PersistsAcrossReopeningAndCreatesTheKeyFile0600) {
  const std::string dir = TestDir("persist");
  std::string id, v2;
  {
    auto store = OpenAt(dir);
    ASSERT_NE(store, nullptr);
    id = store->CreateKey("kept")->key_id;
    ASSERT_OK(store->CreateAlias("alias/kept", id));
    v2 = *store->RotateKey(id);
    ASSERT_TRUE(store->DisableKey(id).ok());
  }
  struct stat st;
  ASSERT_EQ(::stat((dir + "/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  ASSERT_EQ(::stat((dir + "/keystore.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto store = OpenAt(dir);
  ASSERT_NE(store, nullptr);
  auto k = store->DescribeKey("alias/kept");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->key_id, id);
  EXPECT_EQ(k->description, "kept");
  EXPECT_EQ(k->key_state, "Disabled");
  EXPECT_EQ(k->primary_key_version, v2);
  EXPECT_EQ(k->key_version_ids.size(), 2u);
  // The file holds no plaintext metadata (encrypted at rest).
  EXPECT_EQ(ReadFile(dir + "/keystore.bin").find("kept"), std::string::npos);
}

TEST(LocalKeyStore, RefusesATamperedStoreAndLeavesItUntouched) {
  const std::string dir = TestDir("tamper");
  { ASSERT_TRUE(OpenAt(dir)->CreateKey("x").ok()); }
  const std::string path = dir + "/keystore.bin";
  const std::string good = ReadFile(path);
  for (size_t offset : {size_t{0}, size_t{10}, size_t{30}, size_t{50}, size_t{71}, size_t{72},
                        good.size() / 2, good.size() - 1}) {
    std::string bad = good;
    bad[offset] ^= 0x01;
    WriteFile(path, bad);
    absl::Status s = TryOpen(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "offset " << offset << ": " << s;
    EXPECT_EQ(ReadFile(path), bad) << "the store file must be left as it was";
  }
  WriteFile(path, good);
  EXPECT_TRUE(TryOpen(dir).ok());
}

TEST(LocalKeyStore, AnOpenStoreRefusesToWriteOverAStoreTamperedBehindItsBack) {
  const std::string dir = TestDir("tamper_open");
  auto store = OpenAt(dir);
  ASSERT_NE(store, nullptr);
  auto key = store->CreateKey("x");
  ASSERT_TRUE(key.ok());
  const std::string path = dir + "/keystore.bin";
  std::string bad = ReadFile(path);
  bad[bad.size() - 3] ^= 0x40;
  WriteFile(path, bad);
  EXPECT_EQ(store->CreateKey("y").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->RotateKey(key->key_id).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->ListKeys().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadFile(path), bad) << "nothing may be written over a store that does not verify";
}

TEST(LocalKeyStore, RefusesATruncatedOrExtendedStore) {
  const std::string dir = TestDir("truncate");
  { ASSERT_TRUE(OpenAt(dir)->CreateKey("x").ok()); }
  const std::string path = dir + "/keystore.bin";
  const std::string good = ReadFile(path);
  for (size_t n : {size_t{0}, size_t{1}, size_t{71}, size_t{72}, size_t{88}, good.size() - 1}) {
    WriteFile(path, good.substr(0, n));
    absl::Status s = TryOpen(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "length " << n << ": " << s;
    EXPECT_EQ(ReadFile(path).size(), n);
  }
  WriteFile(path, good + "x");
  EXPECT_EQ(TryOpen(dir).code(), absl::StatusCode::kDataLoss);
}

TEST(LocalKeyStore, RefusesAWrongRootKeyAndAMissingOne) {
  const std::string dir = TestDir("wrongkey");
  { ASSERT_TRUE(OpenAt(dir)->CreateKey("x").ok()); }
  const std::string key_path = dir + "/root.key";
  std::string key = ReadFile(key_path);
  key[0] ^= 1;
  WriteFile(key_path, key);
  absl::Status s = TryOpen(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(std::string(s.message()).find("wrong root key"), std::string::npos) << s;
  ASSERT_EQ(::unlink(key_path.c_str()), 0);
  EXPECT_EQ(TryOpen(dir).code(), absl::StatusCode::kFailedPrecondition);
  struct stat st;
  EXPECT_NE(::stat(key_path.c_str(), &st), 0) << "no new root key may be created";
}

TEST(LocalKeyStore, RefusesARootKeyFileOthersCanRead) {
  const std::string dir = TestDir("mode");
  { ASSERT_TRUE(OpenAt(dir)->CreateKey("x").ok()); }
  ASSERT_EQ(::chmod((dir + "/root.key").c_str(), 0644), 0);
  EXPECT_EQ(TryOpen(dir).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LocalKeyStore, PassphraseStoresReopenWithThePassphraseOnly) {
  const std::string dir = TestDir("passphrase");
  std::string id;
  {
    auto store = OpenAt(dir, "correct horse battery staple");
    ASSERT_NE(store, nullptr);
    id = store->CreateKey("p")->key_id;
  }
  struct stat st;
  EXPECT_NE(::stat((dir + "/root.key").c_str(), &st), 0) << "no key file in passphrase mode";
  auto store = OpenAt(dir, "correct horse battery staple");
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->DescribeKey(id).ok());
  EXPECT_EQ(TryOpen(dir, "wrong horse").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(TryOpen(dir).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LocalKeyStore, SeesChangesMadeByAnotherProcess) {
  const std::string dir = TestDir("reopen");
  auto parent = OpenAt(dir);
  ASSERT_NE(parent, nullptr);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    LocalKeyStoreOptions options;
    options.directory = dir;
    auto child = LocalKeyStore::Open(options);
    if (!child.ok()) ::_exit(1);
    auto k = (*child)->CreateKey("from child");
    if (!k.ok() || !(*child)->CreateAlias("alias/child", k->key_id).ok()) ::_exit(2);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto k = parent->DescribeKey("alias/child");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->description, "from child");
}

TEST(LocalKeyStore, TwoProcessesCreatingKeysConcurrentlyBothPersist) {
  const std::string dir = TestDir("concurrent");
  { ASSERT_NE(OpenAt(dir), nullptr); }
  constexpr int kProcesses = 2;
  constexpr int kKeysEach = 15;
  pid_t pids[kProcesses];
  for (int p = 0; p < kProcesses; ++p) {
    pids[p] = ::fork();
    ASSERT_GE(pids[p], 0);
    if (pids[p] == 0) {
      LocalKeyStoreOptions options;
      options.directory = dir;
      auto store = LocalKeyStore::Open(options);
      if (!store.ok()) ::_exit(1);
      for (int i = 0; i < kKeysEach; ++i) {
        if (!(*store)->CreateKey("p" + std::to_string(p)).ok()) ::_exit(2);
      }
      ::_exit(0);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  auto keys = OpenAt(dir)->ListKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), size_t{kProcesses * kKeysEach});
  std::set<std::string> ids;
  for (const auto& k : *keys) ids.insert(k.key_id);
  EXPECT_EQ(ids.size(), size_t{kProcesses * kKeysEach});
}

TEST(LocalKeyStore, ReadersInOtherProcessesNeverSeeAHalfWrittenStore) {
  const std::string dir = TestDir("atomic");
  auto reader = OpenAt(dir);
  ASSERT_NE(reader, nullptr);
  std::string key;
  for (int i = 0; i < 100; ++i) {  // a store of some size, so that a write takes a while
    auto k = reader->CreateKey(std::string(200, 'd'));
    ASSERT_TRUE(k.ok()) << k.status();
    key = k->key_id;
  }
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    LocalKeyStoreOptions options;
    options.directory = dir;
    auto writer = LocalKeyStore::Open(options);
    if (!writer.ok()) ::_exit(1);
    for (int i = 0; i < 100; ++i) {
      if (!(*writer)->RotateKey(key).ok()) ::_exit(2);
    }
    ::_exit(0);
  }
  // The reader re-reads the file whenever it changed, without the writers' lock: every
  // version of the file it finds must be complete.
  int reads = 0, failures = 0;
  absl::Status first_failure;
  for (int status = 0; ::waitpid(pid, &status, WNOHANG) == 0; ++reads) {
    absl::StatusOr<KeyMetadata> k = reader->DescribeKey(key);
    if (!k.ok() && failures++ == 0) first_failure = k.status();
  }
  EXPECT_EQ(failures, 0) << "of " << reads << " reads; first: " << first_failure;
  auto k = reader->DescribeKey(key);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->key_version_ids.size(), 101u);
  // Nothing but the store's own files is left in the directory.
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  EXPECT_EQ(names, (std::set<std::string>{"keystore.bin", "keystore.lock", "root.key"}));
}

}  // namespace
}  // namespace local
}  // namespace kms_envelope
