#include "kms_envelope/rocksdb/file_key_manager.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/kms_error.h"
#include "tests/rocksdb/rocksdb_test_util.h"

namespace kms_envelope {
namespace rocksdb_encryption {
namespace {

using rocksdb_test::NewTestKms;
using rocksdb_test::TestKms;

std::unique_ptr<FileKeyManager> NewManager(const TestKms& kms,
                                           FileKeyManagerOptions options = {}) {
  if (options.key_id.empty()) options.key_id = kms.key_id;
  auto manager = FileKeyManager::New(kms.provider, std::move(options));
  EXPECT_TRUE(manager.ok()) << manager.status();
  return manager.ok() ? std::move(manager).value() : nullptr;
}

absl::Span<const uint8_t> Span(const std::string& s) { return kms_envelope::testing::Bytes(s); }

// Encrypts `text` at `offset` with the file's cipher and returns the ciphertext.
std::string Encrypt(const OpenedFile& file, uint64_t offset, std::string text) {
  EXPECT_TRUE(file.cipher
                  ->Apply(offset, absl::MakeSpan(reinterpret_cast<uint8_t*>(text.data()),
                                                 text.size()))
                  .ok());
  return text;
}


// Fault injection: forwards everything to a real provider but cannot ReEncrypt (like a KMS
// without that API), so rewrap must fall back to Decrypt + Encrypt.
class NoReEncryptProvider : public KeyProvider {
 public:
  explicit NoReEncryptProvider(std::shared_ptr<KeyProvider> real) : real_(std::move(real)) {}
  std::string_view provider_id() const override { return real_->provider_id(); }
  absl::Status GenerateDataKeyInto(const GenerateDataKeyRequest& r,
                                   GenerateDataKeyResponse* out) override {
    return real_->GenerateDataKeyInto(r, out);
  }
  absl::Status DecryptInto(const DecryptRequest& r, DecryptResponse* out) override {
    return real_->DecryptInto(r, out);
  }
  absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse> GenerateDataKeyWithoutPlaintext(
      const GenerateDataKeyRequest& r) override {
    return real_->GenerateDataKeyWithoutPlaintext(r);
  }
  absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& r) override {
    ++encrypt_calls;
    return real_->Encrypt(r);
  }
  absl::StatusOr<ReEncryptResponse> ReEncrypt(const ReEncryptRequest&) override {
    return KmsError(kms_code::kUnsupportedOperation, "no ReEncrypt here");
  }
  int encrypt_calls = 0;

 private:
  std::shared_ptr<KeyProvider> real_;
};

class FileKeyManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kms = NewTestKms(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(kms.ok()) << kms.status();
    kms_ = std::move(kms).value();
  }
  TestKms kms_;
};

TEST_F(FileKeyManagerTest, ANewPrefixHasTwoIdenticalSlotsAndOpensToTheSameKeystream) {
  auto manager = NewManager(kms_);
  auto prefix = manager->NewFilePrefix();
  ASSERT_TRUE(prefix.ok()) << prefix.status();
  ASSERT_EQ(prefix->size(), kFilePrefixSize);
  EXPECT_EQ(prefix->substr(0, kFileHeaderSlotSize), prefix->substr(kFileHeaderSlotSize));
  auto first = manager->OpenFilePrefix(Span(*prefix));
  auto second = manager->OpenFilePrefix(Span(*prefix));
  ASSERT_TRUE(first.ok() && second.ok()) << first.status() << second.status();
  EXPECT_EQ(first->header.key_id, kms_.key_id);
  EXPECT_EQ(first->header.provider_id, std::string(kms_.provider->provider_id()));
  EXPECT_FALSE(first->degraded);
  EXPECT_EQ(Encrypt(*first, 5000, "hello"), Encrypt(*second, 5000, "hello"));
  EXPECT_NE(Encrypt(*first, 5000, "hello"), "hello");
  // Another file gets another data key and salt, so another keystream.
  auto other = manager->OpenFilePrefix(Span(manager->NewFilePrefix().value()));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(Encrypt(*first, 5000, "hello"), Encrypt(*other, 5000, "hello"));
  EXPECT_NE(first->header.ciphertext_blob, other->header.ciphertext_blob);
}

TEST_F(FileKeyManagerTest, TheUnwrapCacheKeepsOpensOffTheProvider) {
  auto manager = NewManager(kms_);
  const std::string prefix = manager->NewFilePrefix().value();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(manager->OpenFilePrefix(Span(prefix)).ok());
  FileKeyManagerStats stats = manager->stats();
  EXPECT_EQ(stats.data_keys_generated, 1u);
  EXPECT_EQ(stats.provider_decrypts, 0u);  // the key was cached when the file was created
  EXPECT_EQ(stats.cache_hits, 10u);

  // A second manager (another process, say) unwraps once, then serves from its cache.
  auto reader = NewManager(kms_);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(reader->OpenFilePrefix(Span(prefix)).ok());
  EXPECT_EQ(reader->stats().provider_decrypts, 1u);
  EXPECT_EQ(reader->stats().cache_hits, 9u);
}

TEST_F(FileKeyManagerTest, WithoutACacheOrPastItsTtlEveryOpenAsksTheProvider) {
  FileKeyManagerOptions no_cache;
  no_cache.unwrap_cache_capacity = 0;
  auto manager = NewManager(kms_, no_cache);
  const std::string prefix = manager->NewFilePrefix().value();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(manager->OpenFilePrefix(Span(prefix)).ok());
  EXPECT_EQ(manager->stats().provider_decrypts, 3u);

  FileKeyManagerOptions expired;
  expired.unwrap_cache_ttl = absl::ZeroDuration();
  auto short_lived = NewManager(kms_, expired);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(short_lived->OpenFilePrefix(Span(prefix)).ok());
  EXPECT_EQ(short_lived->stats().provider_decrypts, 3u);
  EXPECT_EQ(short_lived->stats().cache_hits, 0u);
}

TEST_F(FileKeyManagerTest, TheCacheEvictsTheLeastRecentlyUsedKey) {
  FileKeyManagerOptions small;
  small.unwrap_cache_capacity = 2;
  auto writer = NewManager(kms_);
  std::vector<std::string> prefixes;
  for (int i = 0; i < 3; ++i) prefixes.push_back(writer->NewFilePrefix().value());
  auto reader = NewManager(kms_, small);
  for (const auto& p : prefixes) ASSERT_TRUE(reader->OpenFilePrefix(Span(p)).ok());  // 3 misses
  ASSERT_TRUE(reader->OpenFilePrefix(Span(prefixes[2])).ok());                     // hit
  ASSERT_TRUE(reader->OpenFilePrefix(Span(prefixes[0])).ok());                     // evicted: miss
  EXPECT_EQ(reader->stats().provider_decrypts, 4u);
  EXPECT_EQ(reader->stats().cache_hits, 1u);
}

TEST_F(FileKeyManagerTest, XChaCha20FilesOpenAndDifferFromAesFiles) {
  FileKeyManagerOptions xchacha;
  xchacha.cipher = FileCipherId::kXChaCha20;
  auto manager = NewManager(kms_, xchacha);
  auto file = manager->OpenFilePrefix(Span(manager->NewFilePrefix().value()));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->header.cipher, FileCipherId::kXChaCha20);
  EXPECT_EQ(file->cipher->block_size(), 64u);
  // An AES manager opens XChaCha20 files too: the cipher comes from the header.
  auto aes = NewManager(kms_);
  const std::string prefix = manager->NewFilePrefix().value();
  auto opened = aes->OpenFilePrefix(Span(prefix));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->header.cipher, FileCipherId::kXChaCha20);
}

TEST_F(FileKeyManagerTest, RefusesShortPrefixesAndFilesWithoutAHeader) {
  auto manager = NewManager(kms_);
  absl::Status s = manager->OpenFilePrefix(Span(std::string(100, 'x'))).status();
  EXPECT_EQ(GetKmsErrorCode(s), kms_code::kInvalidCiphertext);
  EXPECT_NE(std::string(s.message()).find("shorter"), std::string::npos) << s;
  s = manager->OpenFilePrefix(Span(std::string(kFilePrefixSize, '\0'))).status();
  EXPECT_NE(std::string(s.message()).find("bad magic"), std::string::npos) << s;
}

TEST_F(FileKeyManagerTest, AnotherEncryptionContextCannotUnwrapTheKeys) {
  auto writer = NewManager(kms_);
  const std::string prefix = writer->NewFilePrefix().value();
  FileKeyManagerOptions other;
  other.encryption_context = EncryptionContext::FromJson(R"({"tenant":"b"})").value();
  auto reader = NewManager(kms_, other);
  absl::Status s = reader->OpenFilePrefix(Span(prefix)).status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("could not unwrap"), std::string::npos) << s;
}

TEST_F(FileKeyManagerTest, OnlyAllowedCmksAreAskedToUnwrap) {
  auto writer = NewManager(kms_);
  const std::string prefix = writer->NewFilePrefix().value();
  FileKeyManagerOptions pinned;
  pinned.allowed_key_ids = {"some-other-cmk"};
  auto reader = NewManager(kms_, pinned);
  absl::Status s = reader->OpenFilePrefix(Span(prefix)).status();
  EXPECT_EQ(GetKmsErrorCode(s), kms_code::kNoPermission) << s;
  EXPECT_EQ(reader->stats().provider_decrypts, 0u);
  pinned.allowed_key_ids = {kms_.key_id};
  EXPECT_TRUE(NewManager(kms_, pinned)->OpenFilePrefix(Span(prefix)).ok());
}

TEST_F(FileKeyManagerTest, AHeaderNamingAnotherProviderIsRefused) {
  auto manager = NewManager(kms_);
  std::string prefix = manager->NewFilePrefix().value();
  // The provider id is the first field after the fixed part; change its first byte in both slots.
  for (size_t slot = 0; slot < kFileHeaderSlotCount; ++slot) {
    prefix[slot * kFileHeaderSlotSize + kFileHeaderFixedSize + 2] ^= 0x20;
  }
  absl::Status s = manager->OpenFilePrefix(Span(prefix)).status();
  EXPECT_NE(std::string(s.message()).find("wrapped by provider"), std::string::npos) << s;
}

TEST_F(FileKeyManagerTest, ABrokenSlotFallsBackToTheOtherAndBothBrokenIsAnError) {
  auto manager = NewManager(kms_);
  const std::string good = manager->NewFilePrefix().value();
  for (size_t broken = 0; broken < kFileHeaderSlotCount; ++broken) {
    std::string prefix = good;
    prefix[broken * kFileHeaderSlotSize + 30] ^= 0x01;  // a salt byte: the tag fails
    auto file = manager->OpenFilePrefix(Span(prefix));
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_TRUE(file->degraded);
    EXPECT_EQ(file->slot, 1 - broken);
  }
  std::string both = good;
  both[30] ^= 0x01;
  both[kFileHeaderSlotSize + 30] ^= 0x01;
  absl::Status s = manager->OpenFilePrefix(Span(both)).status();
  EXPECT_EQ(GetKmsErrorCode(s), kms_code::kInvalidCiphertext);
  EXPECT_NE(std::string(s.message()).find("header authentication failed"), std::string::npos) << s;
  EXPECT_EQ(manager->stats().degraded_opens, 2u);
}

TEST_F(FileKeyManagerTest, RewrapKeepsTheKeystreamAndNamesTheNewVersion) {
  auto manager = NewManager(kms_);
  const std::string prefix = manager->NewFilePrefix().value();
  auto before = manager->OpenFilePrefix(Span(prefix));
  ASSERT_TRUE(before.ok());
  const std::string ciphertext = Encrypt(*before, 4096, "file contents");

  // Same version: nothing to do.
  auto plan = manager->PlanRewrap(Span(prefix), "");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->up_to_date);

  auto version = kms_.rotate_key(kms_.key_id);
  ASSERT_TRUE(version.ok()) << version.status();
  plan = manager->PlanRewrap(Span(prefix), "");
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_FALSE(plan->up_to_date);
  EXPECT_EQ(plan->new_header.key_version_id, *version);
  EXPECT_EQ(plan->new_header.generation, 2u);
  EXPECT_EQ(plan->new_header.file_salt, before->header.file_salt);
  ASSERT_EQ(plan->new_slot.size(), kFileHeaderSlotSize);

  // Apply only the first write (a crash before the second): both slots still open.
  std::string half = prefix;
  half.replace(plan->first_slot * kFileHeaderSlotSize, kFileHeaderSlotSize, plan->new_slot);
  auto reader = NewManager(kms_);  // fresh cache: the new blob really unwraps
  auto mid = reader->OpenFilePrefix(Span(half));
  ASSERT_TRUE(mid.ok()) << mid.status();
  EXPECT_EQ(mid->header.key_version_id, *version);  // the newer generation wins
  EXPECT_EQ(Encrypt(*mid, 4096, "file contents"), ciphertext);

  std::string done = plan->new_slot + plan->new_slot;
  auto after = NewManager(kms_)->OpenFilePrefix(Span(done));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(Encrypt(*after, 4096, "file contents"), ciphertext);
  EXPECT_FALSE(after->degraded);

  // To another CMK.
  auto other_cmk = kms_.create_key();
  ASSERT_TRUE(other_cmk.ok());
  auto moved = manager->PlanRewrap(Span(done), *other_cmk);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->new_header.key_id, *other_cmk);
  std::string moved_prefix = moved->new_slot + moved->new_slot;
  auto reopened = NewManager(kms_)->OpenFilePrefix(Span(moved_prefix));
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(Encrypt(*reopened, 4096, "file contents"), ciphertext);
}

TEST_F(FileKeyManagerTest, RewrapFallsBackToDecryptAndEncryptWithoutReEncrypt) {
  auto limited = std::make_shared<NoReEncryptProvider>(kms_.provider);
  FileKeyManagerOptions options;
  options.key_id = kms_.key_id;
  auto manager = FileKeyManager::New(limited, options).value();
  const std::string prefix = manager->NewFilePrefix().value();
  auto before = manager->OpenFilePrefix(Span(prefix));
  ASSERT_TRUE(before.ok()) << before.status();
  auto version = kms_.rotate_key(kms_.key_id);
  ASSERT_TRUE(version.ok());
  auto plan = manager->PlanRewrap(Span(prefix), "");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(limited->encrypt_calls, 1);
  EXPECT_EQ(plan->new_header.key_version_id, *version);
  const std::string done = plan->new_slot + plan->new_slot;
  auto after = NewManager(kms_)->OpenFilePrefix(Span(done));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(Encrypt(*after, 9000, "same keystream"), Encrypt(*before, 9000, "same keystream"));
}

TEST_F(FileKeyManagerTest, ManyThreadsCreateAndOpenFilesThroughOneManager) {
  FileKeyManagerOptions small_cache;
  small_cache.unwrap_cache_capacity = 4;  // constant eviction under contention
  auto manager = NewManager(kms_, small_cache);
  const std::string shared = manager->NewFilePrefix().value();
  const std::string expected = Encrypt(*manager->OpenFilePrefix(Span(shared)), 4096, "shared");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        auto own = manager->NewFilePrefix();
        if (!own.ok() || !manager->OpenFilePrefix(Span(*own)).ok()) ++failures;
        auto file = manager->OpenFilePrefix(Span(shared));
        if (!file.ok() || Encrypt(*file, 4096, "shared") != expected) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(manager->stats().data_keys_generated, 1u + 8 * 40);
}

TEST(FileKeyManager, NewRefusesMissingProviderOrKeyId) {
  EXPECT_FALSE(FileKeyManager::New(nullptr, FileKeyManagerOptions{}).ok());
  auto kms = NewTestKms("kms-new-refuses");
  ASSERT_TRUE(kms.ok());
  EXPECT_EQ(GetKmsErrorCode(FileKeyManager::New(kms->provider, FileKeyManagerOptions{}).status()),
            kms_code::kMissingParameter);
}

}  // namespace
}  // namespace rocksdb_encryption
}  // namespace kms_envelope
