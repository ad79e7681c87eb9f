#include "kms_envelope/local/local_key_provider.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/testing/allocation_counter.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/ciphertext_blob.h"
#include "tests/local/test_util.h"

namespace kms_envelope {
namespace local {
namespace {

using testing::TestDir;

struct Fixture {
  std::shared_ptr<LocalKeyStore> store;
  std::unique_ptr<LocalKeyProvider> kms;
  KeyMetadata cmk;
};

Fixture Make(const std::string& dir = "") {
  LocalKeyStoreOptions options;
  options.in_memory = dir.empty();
  options.directory = dir;
  Fixture f;
  f.store = *LocalKeyStore::Open(options);
  f.kms = *LocalKeyProvider::New(f.store);
  f.cmk = *f.store->CreateKey("test");
  return f;
}

absl::Span<const uint8_t> Blob(const std::string& s) { return kms_envelope::testing::Bytes(s); }

absl::StatusOr<GenerateDataKeyResponse> Generate(KeyProvider& kms, std::string_view key_id,
                                                 std::string_view spec = "",
                                                 std::optional<int64_t> bytes = std::nullopt,
                                                 const EncryptionContext* ctx = nullptr) {
  GenerateDataKeyRequest req;
  req.key_id = key_id;
  req.key_spec = spec;
  req.number_of_bytes = bytes;
  req.encryption_context = ctx;
  return kms.GenerateDataKey(req);
}

absl::StatusOr<DecryptResponse> Decrypt(KeyProvider& kms, const std::string& blob,
                                        const EncryptionContext* ctx = nullptr) {
  DecryptRequest req;
  req.ciphertext_blob = Blob(blob);
  req.encryption_context = ctx;
  return kms.Decrypt(req);
}

TEST(LocalKeyProvider, GenerateDataKeyDefaultsTo32BytesAnd108ByteBlobs) {
  Fixture f = Make();
  auto dk = Generate(*f.kms, f.cmk.key_id);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->plaintext.size(), 32u);
  EXPECT_EQ(dk->ciphertext_blob.size(), 108u);
  EXPECT_EQ(dk->key_id, f.cmk.key_id);
  EXPECT_EQ(dk->key_version_id, f.cmk.primary_key_version);
  EXPECT_EQ(dk->ciphertext_blob.substr(0, 36), f.cmk.primary_key_version);
  EXPECT_TRUE(kms_envelope::testing::IsUuid(dk->request_id));
  auto dk2 = Generate(*f.kms, f.cmk.key_id);
  EXPECT_NE(dk->request_id, dk2->request_id);
  EXPECT_FALSE(dk->plaintext.ConstantTimeEquals(dk2->plaintext));
  auto back = Decrypt(*f.kms, dk->ciphertext_blob);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->plaintext.ConstantTimeEquals(dk->plaintext));
  EXPECT_EQ(back->key_id, f.cmk.key_id);
  EXPECT_EQ(back->key_version_id, f.cmk.primary_key_version);
  EXPECT_TRUE(kms_envelope::testing::IsUuid(back->request_id));
}

TEST(LocalKeyProvider, KeySpecAndNumberOfBytesFollowTheApiRules) {
  Fixture f = Make();
  auto aes128 = Generate(*f.kms, f.cmk.key_id, "AES_128");
  ASSERT_TRUE(aes128.ok());
  EXPECT_EQ(aes128->plaintext.size(), 16u);
  EXPECT_EQ(aes128->ciphertext_blob.size(), 88u);
  EXPECT_EQ(Generate(*f.kms, f.cmk.key_id, "AES_256")->plaintext.size(), 32u);
  // NumberOfBytes wins over KeySpec.
  EXPECT_EQ(Generate(*f.kms, f.cmk.key_id, "AES_128", 24)->plaintext.size(), 24u);
  EXPECT_EQ(Generate(*f.kms, f.cmk.key_id, "AES_256", 1)->plaintext.size(), 1u);
  auto max = Generate(*f.kms, f.cmk.key_id, "", 1024);
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(max->plaintext.size(), 1024u);
  EXPECT_EQ(max->ciphertext_blob.size(), CiphertextBlobSize(1024));
  EXPECT_TRUE(Decrypt(*f.kms, max->ciphertext_blob)->plaintext.ConstantTimeEquals(max->plaintext));
  EXPECT_KMS_CODE(Generate(*f.kms, f.cmk.key_id, "", 0).status(), kms_code::kInvalidParameter);
  EXPECT_KMS_CODE(Generate(*f.kms, f.cmk.key_id, "", 1025).status(), kms_code::kInvalidParameter);
  EXPECT_KMS_CODE(Generate(*f.kms, f.cmk.key_id, "", -1).status(), kms_code::kInvalidParameter);
  EXPECT_KMS_CODE(Generate(*f.kms, f.cmk.key_id, "AES_512").status(),
                  kms_code::kInvalidParameter);
  EXPECT_KMS_CODE(Generate(*f.kms, "").status(), kms_code::kInvalidParameter);
  EXPECT_KMS_CODE(Generate(*f.kms, "alias/none").status(), kms_code::kAliasNotFound);
  EXPECT_KMS_CODE(Generate(*f.kms, "0b8a6b4f-1c2d-4e5f-8a9b-0c1d2e3f4a5b").status(),
                  kms_code::kKeyNotFound);
}

TEST(LocalKeyProvider, AliasesResolveToTheKeyGuid) {
  Fixture f = Make();
  ASSERT_OK(f.store->CreateAlias("alias/backup", f.cmk.key_id));
  auto dk = Generate(*f.kms, "alias/backup");
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->key_id, f.cmk.key_id);
}

TEST(LocalKeyProvider, DecryptNeedsAnEquivalentEncryptionContext) {
  Fixture f = Make();
  auto ctx = *EncryptionContext::FromJson(R"({"tenant":"a","file":"x"})");
  auto reordered = *EncryptionContext::FromJson(R"({"file":"x","tenant":"a"})");
  auto subset = *EncryptionContext::FromJson(R"({"tenant":"a"})");
  auto dk = Generate(*f.kms, f.cmk.key_id, "", std::nullopt, &ctx);
  ASSERT_TRUE(dk.ok());
  EXPECT_TRUE(Decrypt(*f.kms, dk->ciphertext_blob, &reordered).ok());
  EXPECT_KMS_CODE(Decrypt(*f.kms, dk->ciphertext_blob).status(), kms_code::kInvalidCiphertext);
  EXPECT_KMS_CODE(Decrypt(*f.kms, dk->ciphertext_blob, &subset).status(),
                  kms_code::kInvalidCiphertext);
  auto plain = Generate(*f.kms, f.cmk.key_id);
  EXPECT_KMS_CODE(Decrypt(*f.kms, plain->ciphertext_blob, &ctx).status(),
                  kms_code::kInvalidCiphertext);
  EXPECT_TRUE(Decrypt(*f.kms, plain->ciphertext_blob, &EncryptionContext::Empty()).ok());
}

TEST(LocalKeyProvider, EveryBitFlipAndTruncationOfABlobIsInvalidCiphertext) {
  Fixture f = Make();
  auto dk = Generate(*f.kms, f.cmk.key_id);
  ASSERT_TRUE(dk.ok());
  const std::string& blob = dk->ciphertext_blob;
  for (size_t bit = 0; bit < blob.size() * 8; ++bit) {
    std::string bad = blob;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    absl::Status s = Decrypt(*f.kms, bad).status();
    ASSERT_EQ(GetKmsErrorCode(s), kms_code::kInvalidCiphertext) << "bit " << bit << ": " << s;
  }
  for (size_t n = 0; n < blob.size(); ++n) {
    absl::Status s = Decrypt(*f.kms, blob.substr(0, n)).status();
    ASSERT_EQ(GetKmsErrorCode(s), kms_code::kInvalidCiphertext) << "length " << n << ": " << s;
  }
}

TEST(LocalKeyProvider, RotationKeepsOldBlobsDecryptableAndWrapsNewKeysWithThePrimary) {
  Fixture f = Make();
  auto old_dk = Generate(*f.kms, f.cmk.key_id);
  auto v2 = f.store->RotateKey(f.cmk.key_id);
  ASSERT_TRUE(v2.ok());
  auto new_dk = Generate(*f.kms, f.cmk.key_id);
  EXPECT_EQ(new_dk->key_version_id, *v2);
  EXPECT_EQ(new_dk->ciphertext_blob.substr(0, 36), *v2);
  auto old_back = Decrypt(*f.kms, old_dk->ciphertext_blob);
  ASSERT_TRUE(old_back.ok()) << old_back.status();
  EXPECT_EQ(old_back->key_version_id, f.cmk.primary_key_version);
  EXPECT_TRUE(old_back->plaintext.ConstantTimeEquals(old_dk->plaintext));
  EXPECT_TRUE(Decrypt(*f.kms, new_dk->ciphertext_blob).ok());
}

TEST(LocalKeyProvider, DisabledAndPendingDeletionKeysRefuseEveryCryptographicCall) {
  Fixture f = Make();
  auto dk = Generate(*f.kms, f.cmk.key_id);
  ASSERT_TRUE(f.store->DisableKey(f.cmk.key_id).ok());
  EXPECT_KMS_CODE(Generate(*f.kms, f.cmk.key_id).status(), kms_code::kDisabled);
  EXPECT_KMS_CODE(Decrypt(*f.kms, dk->ciphertext_blob).status(), kms_code::kDisabled);
  EncryptRequest enc;
  enc.key_id = f.cmk.key_id;
  uint8_t one = 1;
  enc.plaintext = absl::MakeConstSpan(&one, 1);
  EXPECT_KMS_CODE(f.kms->Encrypt(enc).status(), kms_code::kDisabled);
  ASSERT_TRUE(f.store->ScheduleKeyDeletion(f.cmk.key_id, 7).ok());
  EXPECT_KMS_CODE(Generate(*f.kms, f.cmk.key_id).status(), kms_code::kPendingDeletion);
  EXPECT_KMS_CODE(Decrypt(*f.kms, dk->ciphertext_blob).status(), kms_code::kPendingDeletion);
  EXPECT_KMS_CODE(f.kms->Encrypt(enc).status(), kms_code::kPendingDeletion);
  ASSERT_TRUE(f.store->CancelKeyDeletion(f.cmk.key_id).ok());
  EXPECT_TRUE(Decrypt(*f.kms, dk->ciphertext_blob).ok());
}

TEST(LocalKeyProvider, EncryptAcceptsUpTo6KiBAndUsesTheBlobLayout) {
  Fixture f = Make();
  std::vector<uint8_t> max(kMaxEncryptPlaintextSize, 0x5a);
  EncryptRequest req;
  req.key_id = f.cmk.key_id;
  req.plaintext = max;
  auto enc = f.kms->Encrypt(req);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(enc->ciphertext_blob.size(), CiphertextBlobSize(kMaxEncryptPlaintextSize));
  auto back = Decrypt(*f.kms, enc->ciphertext_blob);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->plaintext.ConstantTimeEquals(max));
  std::vector<uint8_t> too_big(kMaxEncryptPlaintextSize + 1, 0x5a);
  req.plaintext = too_big;
  EXPECT_KMS_CODE(f.kms->Encrypt(req).status(), kms_code::kInvalidParameter);
  req.plaintext = {};
  EXPECT_KMS_CODE(f.kms->Encrypt(req).status(), kms_code::kInvalidParameter);
}

TEST(LocalKeyProvider, ReEncryptMovesABlobToAnotherKeyAndContext) {
  Fixture f = Make();
  auto dest = *f.store->CreateKey("dest");
  auto src_ctx = *EncryptionContext::FromJson(R"({"a":"1"})");
  auto dst_ctx = *EncryptionContext::FromJson(R"({"b":"2"})");
  auto dk = Generate(*f.kms, f.cmk.key_id, "", std::nullopt, &src_ctx);
  ReEncryptRequest req;
  req.ciphertext_blob = Blob(dk->ciphertext_blob);
  req.source_encryption_context = &src_ctx;
  req.destination_key_id = dest.key_id;
  req.destination_encryption_context = &dst_ctx;
  auto re = f.kms->ReEncrypt(req);
  ASSERT_TRUE(re.ok()) << re.status();
  EXPECT_EQ(re->key_id, dest.key_id);
  EXPECT_EQ(re->key_version_id, dest.primary_key_version);
  EXPECT_EQ(re->source_key_id, f.cmk.key_id);
  EXPECT_EQ(re->source_key_version_id, f.cmk.primary_key_version);
  auto back = Decrypt(*f.kms, re->ciphertext_blob, &dst_ctx);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->plaintext.ConstantTimeEquals(dk->plaintext));
  req.source_encryption_context = nullptr;
  EXPECT_KMS_CODE(f.kms->ReEncrypt(req).status(), kms_code::kInvalidCiphertext);
}

TEST(LocalKeyProvider, ReEncryptWithoutADestinationKeyIsMissingParameterAsInEveryProvider) {
  Fixture f = Make();
  auto dk = Generate(*f.kms, f.cmk.key_id, "", std::nullopt, nullptr);
  ReEncryptRequest req;
  req.ciphertext_blob = Blob(dk->ciphertext_blob);
  EXPECT_KMS_CODE(f.kms->ReEncrypt(req).status(), kms_code::kMissingParameter);
}

TEST(LocalKeyProvider, GenerateDataKeyWithoutPlaintextGivesADecryptableBlob) {
  Fixture f = Make();
  GenerateDataKeyRequest req;
  req.key_id = f.cmk.key_id;
  auto dk = f.kms->GenerateDataKeyWithoutPlaintext(req);
  ASSERT_TRUE(dk.ok());
  EXPECT_EQ(dk->ciphertext_blob.size(), 108u);
  EXPECT_EQ(Decrypt(*f.kms, dk->ciphertext_blob)->plaintext.size(), 32u);
}

TEST(LocalKeyProvider, EightThreadsGenerateAndDecryptConcurrently) {
  Fixture f = Make();
  ASSERT_OK(f.store->CreateAlias("alias/hot", f.cmk.key_id));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto ctx = *EncryptionContext::FromJson("{\"t\":\"" + std::to_string(t) + "\"}");
      GenerateDataKeyRequest req;
      req.key_id = t % 2 == 0 ? std::string_view("alias/hot") : std::string_view(f.cmk.key_id);
      req.encryption_context = &ctx;
      GenerateDataKeyResponse dk;
      DecryptResponse back;
      for (int i = 0; i < 2000; ++i) {
        if (!f.kms->GenerateDataKeyInto(req, &dk).ok()) { ++failures; continue; }
        DecryptRequest dreq;
        dreq.ciphertext_blob = Blob(dk.ciphertext_blob);
        dreq.encryption_context = &ctx;
        if (!f.kms->DecryptInto(dreq, &back).ok() || !back.plaintext.ConstantTimeEquals(dk.plaintext)) {
          ++failures;
        }
      }
    });
  }
  // Rotate while the threads run: old and new versions must both keep working.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.store->RotateKey(f.cmk.key_id).ok());
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(LocalKeyProvider, ReusedResponsesKeepTheirStorage) {
  Fixture f = Make();
  GenerateDataKeyRequest req;
  req.key_id = f.cmk.key_id;
  GenerateDataKeyResponse dk;
  ASSERT_OK(f.kms->GenerateDataKeyInto(req, &dk));
  const char* blob_storage = dk.ciphertext_blob.data();
  const char* id_storage = dk.request_id.data();
  const uint8_t* key_storage = dk.plaintext.data();
  ASSERT_OK(f.kms->GenerateDataKeyInto(req, &dk));
  EXPECT_EQ(dk.ciphertext_blob.data(), blob_storage);
  EXPECT_EQ(dk.request_id.data(), id_storage);
  EXPECT_EQ(dk.plaintext.data(), key_storage);
}

TEST(LocalKeyProvider, HotPathMakesNoHeapAllocationWithReusedResponses) {
  const std::string dir = TestDir("no_alloc");
  Fixture f = Make(dir);
  ASSERT_OK(f.store->CreateAlias("alias/hot", f.cmk.key_id));
  auto ctx = *EncryptionContext::FromJson(R"({"tenant":"a"})");
  GenerateDataKeyRequest req;
  req.key_id = "alias/hot";
  req.encryption_context = &ctx;
  GenerateDataKeyResponse dk;
  DecryptResponse back;
  ASSERT_OK(f.kms->GenerateDataKeyInto(req, &dk));
  DecryptRequest dreq;
  dreq.encryption_context = &ctx;
  dreq.ciphertext_blob = Blob(dk.ciphertext_blob);
  ASSERT_OK(f.kms->DecryptInto(dreq, &back));
  bool ok = true;
  size_t allocations = 0;
  {
    kms_envelope::testing::AllocationCounter counter;
    for (int i = 0; i < 1000; ++i) {
      ok = ok && f.kms->GenerateDataKeyInto(req, &dk).ok();
      dreq.ciphertext_blob = Blob(dk.ciphertext_blob);
      ok = ok && f.kms->DecryptInto(dreq, &back).ok();
    }
    allocations = counter.count();
  }
  EXPECT_TRUE(ok);
  EXPECT_EQ(allocations, 0u);
}

TEST(LocalKeyProvider, PersistentStoreServesKeysCreatedAfterItWasOpened) {
  const std::string dir = TestDir("provider_persist");
  Fixture f = Make(dir);
  LocalKeyStoreOptions options;
  options.directory = dir;
  std::shared_ptr<LocalKeyStore> other = *LocalKeyStore::Open(options);
  auto late = *other->CreateKey("late");
  ASSERT_OK(other->CreateAlias("alias/late", late.key_id));
  // The provider's store has not refreshed yet; a miss triggers a re-read.
  auto dk = Generate(*f.kms, "alias/late");
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->key_id, late.key_id);
  auto other_kms = *LocalKeyProvider::New(other);
  auto back = Decrypt(*other_kms, dk->ciphertext_blob);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->plaintext.ConstantTimeEquals(dk->plaintext));
}

}  // namespace
}  // namespace local
}  // namespace kms_envelope
