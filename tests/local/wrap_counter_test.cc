// The per-CMK-version wrap counter: persisted ranges, the limit across threads and processes,
// automatic rotation and refusal at the limit, old (format version 1) stores.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/key_provider.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"
#include "tests/local/test_util.h"

namespace kms_envelope {
namespace local {
namespace {

using testing::TestDir;

constexpr uint64_t kLimit = 10;
constexpr uint64_t kRange = 4;

struct Fixture {
  std::shared_ptr<LocalKeyStore> store;
  std::unique_ptr<LocalKeyProvider> kms;
};

Fixture OpenStore(const std::string& dir, uint64_t limit = kLimit, uint64_t range = kRange) {
  LocalKeyStoreOptions options;
  options.directory = dir;
  options.in_memory = dir.empty();
  options.wrap_limit = limit;
  options.wrap_reservation = range;
  Fixture f;
  auto store = LocalKeyStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return f;
  f.store = *std::move(store);
  f.kms = *LocalKeyProvider::New(f.store);
  return f;
}

absl::StatusOr<GenerateDataKeyResponse> NewDataKey(KeyProvider& kms, const std::string& key) {
  GenerateDataKeyRequest req;
  req.key_id = key;
  GenerateDataKeyResponse out;
  KMS_RETURN_IF_ERROR(kms.GenerateDataKeyInto(req, &out));
  return out;
}

absl::Status Unwraps(KeyProvider& kms, const GenerateDataKeyResponse& dk) {
  DecryptRequest req;
  req.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(dk.ciphertext_blob.data()), dk.ciphertext_blob.size());
  DecryptResponse out;
  KMS_RETURN_IF_ERROR(kms.DecryptInto(req, &out));
  if (!out.plaintext.ConstantTimeEquals(dk.plaintext)) return absl::InternalError("other key");
  return absl::OkStatus();
}

uint64_t WrapCount(LocalKeyStore& store, const std::string& key) {
  auto m = store.DescribeKey(key);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? m->primary_key_version_wrap_count : 0;
}

// Makes data keys until one fails (or 10000 succeeded: a limit that is not enforced);
// returns how many succeeded and the failure.
int MakeUntilRefused(KeyProvider& kms, const std::string& key, absl::Status* failure) {
  for (int made = 0;; ++made) {
    if (made == 10000) {
      *failure = absl::InternalError("never refused");
      return made;
    }
    auto dk = NewDataKey(kms, key);
    if (!dk.ok()) {
      *failure = dk.status();
      return made;
    }
  }
}

TEST(WrapCounter, CountIsPersistedPerRangeAndSurvivesReopen) {
  const std::string dir = TestDir("wraps_reopen");
  std::string key;
  {
    Fixture f = OpenStore(dir, 1000);
    key = f.store->CreateKey("counted")->key_id;
    EXPECT_EQ(WrapCount(*f.store, key), 0u);
    for (int i = 0; i < 5; ++i) ASSERT_OK(NewDataKey(*f.kms, key).status());
    // Two ranges of 4 reserved for 5 wraps; the third wrap of the second range was not made.
    EXPECT_EQ(WrapCount(*f.store, key), 8u);
  }
  Fixture again = OpenStore(dir, 1000);
  EXPECT_EQ(WrapCount(*again.store, key), 8u) << "the count went back after reopening";
  ASSERT_OK(NewDataKey(*again.kms, key).status());
  EXPECT_EQ(WrapCount(*again.store, key), 12u) << "a new process must start after the old ranges";
}

TEST(WrapCounter, RotatesByItselfAtTheLimitAndOldBlobsStillDecrypt) {
  Fixture f = OpenStore("");
  const KeyMetadata key = *f.store->CreateKey("auto");
  EXPECT_EQ(key.automatic_rotation, "Enabled");
  std::vector<GenerateDataKeyResponse> made;
  for (int i = 0; i < 25; ++i) {
    auto dk = NewDataKey(*f.kms, key.key_id);
    ASSERT_TRUE(dk.ok()) << i << ": " << dk.status();
    made.push_back(*std::move(dk));
  }
  const KeyMetadata after = *f.store->DescribeKey(key.key_id);
  ASSERT_EQ(after.key_version_ids.size(), 3u);
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ(made[i].key_version_id, after.key_version_ids[i / kLimit]) << "wrap " << i;
    EXPECT_OK(Unwraps(*f.kms, made[i]));
  }
  EXPECT_EQ(after.primary_key_version_wrap_count, 8u);  // 5 wraps from two ranges of 4
}

TEST(WrapCounter, RefusesAtTheLimitWhenAutomaticRotationIsOffWhileDecryptGoesOn) {
  const std::string dir = TestDir("wraps_refuse");
  Fixture f = OpenStore(dir);
  const std::string key = f.store->CreateKey("manual")->key_id;
  ASSERT_EQ(f.store->UpdateRotationPolicy(key, false)->automatic_rotation, "Disabled");
  std::vector<GenerateDataKeyResponse> made;
  for (uint64_t i = 0; i < kLimit; ++i) made.push_back(*NewDataKey(*f.kms, key));
  absl::Status refused = NewDataKey(*f.kms, key).status();
  EXPECT_EQ(GetKmsErrorCode(refused), kms_code::kLimitExceeded) << refused;
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EncryptRequest encrypt;
  encrypt.key_id = key;
  const uint8_t secret[4] = {1, 2, 3, 4};
  encrypt.plaintext = secret;
  EXPECT_KMS_CODE(f.kms->Encrypt(encrypt).status(), kms_code::kLimitExceeded);
  for (const auto& dk : made) EXPECT_OK(Unwraps(*f.kms, dk));
  // Another process refuses too; turning automatic rotation on lets the spent version rotate.
  Fixture other = OpenStore(dir);
  EXPECT_KMS_CODE(NewDataKey(*other.kms, key).status(), kms_code::kLimitExceeded);
  ASSERT_OK(f.store->UpdateRotationPolicy(key, true).status());
  auto fresh = NewDataKey(*f.kms, key);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_NE(fresh->key_version_id, made[0].key_version_id);
  for (const auto& dk : made) EXPECT_OK(Unwraps(*other.kms, dk));
}

TEST(WrapCounter, ThreadsOfOneProcessShareTheLimitExactly) {
  constexpr uint64_t kThreadLimit = 3000;
  Fixture f = OpenStore(TestDir("wraps_threads"), kThreadLimit, 64);
  const std::string key = f.store->CreateKey("threads")->key_id;
  ASSERT_OK(f.store->UpdateRotationPolicy(key, false).status());
  std::atomic<int> total{0}, wrong_error{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      absl::Status failure;
      total += MakeUntilRefused(*f.kms, key, &failure);
      if (GetKmsErrorCode(failure) != kms_code::kLimitExceeded) ++wrong_error;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong_error.load(), 0);
  EXPECT_EQ(total.load(), static_cast<int>(kThreadLimit));
  EXPECT_EQ(WrapCount(*f.store, key), kThreadLimit);
}

TEST(WrapCounter, TwoProcessesNeverExceedTheLimitTogether) {
  constexpr uint64_t kProcessLimit = 3000;
  const std::string dir = TestDir("wraps_processes");
  std::string key;
  {
    Fixture f = OpenStore(dir, kProcessLimit, 64);
    key = f.store->CreateKey("shared")->key_id;
    ASSERT_OK(f.store->UpdateRotationPolicy(key, false).status());
  }
  int pipes[2][2];
  pid_t pids[2];
  for (int p = 0; p < 2; ++p) {
    ASSERT_EQ(::pipe(pipes[p]), 0);
    pids[p] = ::fork();
    ASSERT_GE(pids[p], 0);
    if (pids[p] == 0) {
      Fixture f = OpenStore(dir, kProcessLimit, 64);
      absl::Status failure;
      int made = f.kms ? MakeUntilRefused(*f.kms, key, &failure) : -1;
      if (GetKmsErrorCode(failure) != kms_code::kLimitExceeded) made = -1;
      (void)!::write(pipes[p][1], &made, sizeof(made));
      ::_exit(0);
    }
    ::close(pipes[p][1]);
  }
  int total = 0;
  for (int p = 0; p < 2; ++p) {
    int made = -1;
    ASSERT_EQ(::read(pipes[p][0], &made, sizeof(made)), static_cast<ssize_t>(sizeof(made)));
    ::close(pipes[p][0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pids[p], &status, 0), pids[p]);
    ASSERT_GE(made, 0) << "process " << p << " failed or was not refused with LimitExceeded";
    total += made;
  }
  // Each process spends every range it reserved before it asks again, so together they make
  // exactly the limit.
  EXPECT_EQ(total, static_cast<int>(kProcessLimit));
  Fixture f = OpenStore(dir, kProcessLimit, 64);
  EXPECT_EQ(WrapCount(*f.store, key), kProcessLimit);
}

TEST(WrapCounter, CountNeverGoesBackAfterSigkill) {
  const std::string dir = TestDir("wraps_sigkill");
  std::string key;
  {
    Fixture f = OpenStore(dir, 1u << 30, 64);
    key = f.store->CreateKey("killed")->key_id;
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    Fixture f = OpenStore(dir, 1u << 30, 64);
    for (int made = 1;; ++made) {
      if (!f.kms || !NewDataKey(*f.kms, key).ok()) ::_exit(1);
      // Report after the wrap is done: the parent knows at least this many were made.
      if (made % 50 == 0 && ::write(fds[1], &made, sizeof(made)) != sizeof(made)) ::_exit(2);
    }
  }
  ::close(fds[1]);
  int reported = 0;
  while (reported < 2000) {
    ASSERT_EQ(::read(fds[0], &reported, sizeof(reported)), static_cast<ssize_t>(sizeof(reported)));
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  while (::read(fds[0], &reported, sizeof(reported)) == sizeof(reported)) {
  }
  ::close(fds[0]);
  Fixture f = OpenStore(dir, 1u << 30, 64);
  const uint64_t after_kill = WrapCount(*f.store, key);
  EXPECT_GE(after_kill, static_cast<uint64_t>(reported))
      << "fewer wraps persisted than the killed process made: counts would be handed out again";
  ASSERT_OK(NewDataKey(*f.kms, key).status());
  EXPECT_EQ(WrapCount(*f.store, key), after_kill + 64) << "the next range starts after the old";
}

TEST(WrapCounter, OptionsOutsideTheirRangesAreRefused) {
  for (auto [limit, range] : {std::pair<uint64_t, uint64_t>{0, 1},
                              {kMaxWrapLimit + 1, 1},
                              {10, 0}}) {
    LocalKeyStoreOptions options;
    options.in_memory = true;
    options.wrap_limit = limit;
    options.wrap_reservation = range;
    EXPECT_KMS_CODE(LocalKeyStore::Open(options).status(), kms_code::kInvalidParameter);
  }
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(WrapCounter, AFormatVersion1StoreOpensCountsFromZeroAndIsRewrittenAsVersion2) {
  const std::string dir = TestDir("wraps_v1");
  std::filesystem::copy("tests/vectors/keystore", dir, std::filesystem::copy_options::recursive);
  ::chmod((dir + "/root.key").c_str(), 0600);
  ASSERT_EQ(ReadBytes(dir + "/keystore.bin").substr(8, 2), std::string("\x00\x01", 2));
  Fixture f = OpenStore(dir, kDefaultWrapLimit, kDefaultWrapReservation);
  auto keys = f.store->ListKeys();
  ASSERT_TRUE(keys.ok() && keys->size() == 1) << keys.status();
  const KeyMetadata& golden = keys->front();
  EXPECT_EQ(golden.primary_key_version_wrap_count, 0u);
  EXPECT_EQ(golden.automatic_rotation, "Enabled");
  auto dk = NewDataKey(*f.kms, golden.key_id);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->key_version_id, golden.primary_key_version);
  EXPECT_EQ(ReadBytes(dir + "/keystore.bin").substr(8, 2), std::string("\x00\x02", 2));
  Fixture again = OpenStore(dir, kDefaultWrapLimit, kDefaultWrapReservation);
  EXPECT_OK(Unwraps(*again.kms, *dk));
  EXPECT_EQ(WrapCount(*again.store, golden.key_id), kFirstWrapReservation);
  // A version this code does not know is refused, not guessed at.
  std::string bytes = ReadBytes(dir + "/keystore.bin");
  bytes[9] = 3;
  std::ofstream(dir + "/keystore.bin", std::ios::binary | std::ios::trunc) << bytes;
  LocalKeyStoreOptions options;
  options.directory = dir;
  EXPECT_EQ(LocalKeyStore::Open(options).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace local
}  // namespace kms_envelope
