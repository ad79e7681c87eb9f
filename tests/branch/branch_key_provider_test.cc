#include "kms_envelope/branch/branch_key_provider.h"

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/branch/branch_key_admin.h"
#include "kms_envelope/branch/branch_key_blob.h"
#include "kms_envelope/branch/file_branch_key_store.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/envelope/rewrap.h"
#include "kms_envelope/kms_error.h"
#include "tests/branch/branch_test_util.h"

namespace kms_envelope {
namespace branch {
namespace {

using branch_testing::B;
using branch_testing::Ctx;
using branch_testing::LocalKms;
using local::testing::TestDir;

class BranchKeyProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kms_ = branch_testing::OpenLocalKms(TestDir("kms"));
    ASSERT_NE(kms_.counting, nullptr);
    auto store = FileBranchKeyStore::Open(TestDir("branch"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  std::unique_ptr<BranchKeyProvider> NewProvider(bool by_tenant) {
    BranchKeyProviderOptions o;
    o.kms = kms_.counting;
    o.store = store_;
    if (by_tenant) o.supplier = ContextFieldSupplier::New("tenant", "tenant-").value();
    auto p = BranchKeyProvider::New(std::move(o));
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }

  void Create(const std::string& id) {
    auto v = CreateBranchKey(*kms_.real, kms_.cmk, *store_, id);
    ASSERT_TRUE(v.ok()) << v.status();
  }

  LocalKms kms_;
  std::shared_ptr<FileBranchKeyStore> store_;
};

TEST_F(BranchKeyProviderTest, ThousandsOfDataKeysCostOneKmsCall) {
  Create("orders");
  auto provider = NewProvider(false);
  const EncryptionContext ctx = Ctx({{"purpose", "orders"}});
  GenerateDataKeyRequest req;
  req.key_id = "orders";
  req.encryption_context = &ctx;
  std::vector<std::string> blobs;
  GenerateDataKeyResponse dk;
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(provider->GenerateDataKeyInto(req, &dk).ok());
    blobs.push_back(dk.ciphertext_blob);
  }
  for (const std::string& blob : blobs) {
    DecryptRequest dreq;
    dreq.ciphertext_blob = B(blob);
    dreq.encryption_context = &ctx;
    ASSERT_TRUE(provider->Decrypt(dreq).ok());
  }
  EXPECT_EQ(kms_.counting->generate_calls(), 0);  // created through the uncounted provider
  EXPECT_EQ(kms_.counting->decrypt_calls(), 1);   // the one unwrap of version 1
  EXPECT_EQ(dk.key_id, "orders");
  EXPECT_EQ(dk.key_version_id, "1");
}

TEST_F(BranchKeyProviderTest, EveryDataKeyIsFreshAndRoundTrips) {
  Create("orders");
  auto provider = NewProvider(false);
  GenerateDataKeyRequest req;
  req.key_id = "orders";
  req.number_of_bytes = 48;
  auto a = provider->GenerateDataKey(req);
  auto b = provider->GenerateDataKey(req);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->plaintext.size(), 48u);
  EXPECT_FALSE(a->plaintext.ConstantTimeEquals(b->plaintext));
  EXPECT_NE(a->ciphertext_blob, b->ciphertext_blob);
  EXPECT_EQ(a->ciphertext_blob.size(), BranchBlobSize(6, 48));
  DecryptRequest dreq;
  dreq.ciphertext_blob = B(a->ciphertext_blob);
  auto back = provider->Decrypt(dreq);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->plaintext.ConstantTimeEquals(a->plaintext));
}

TEST_F(BranchKeyProviderTest, ATenantCannotDecryptAnotherTenantsMessage) {
  Create("tenant-a");
  Create("tenant-b");
  auto provider = NewProvider(true);
  const EncryptionContext a = Ctx({{"tenant", "a"}});
  const EncryptionContext b = Ctx({{"tenant", "b"}});
  GenerateDataKeyRequest req;
  req.encryption_context = &a;
  auto dk = provider->GenerateDataKey(req);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->key_id, "tenant-a");
  DecryptRequest dreq;
  dreq.ciphertext_blob = B(dk->ciphertext_blob);
  dreq.encryption_context = &b;
  EXPECT_KMS_CODE(provider->Decrypt(dreq).status(), kms_code::kNoPermission);
  // Without the supplier's check the derivation still binds the context: refused too.
  auto plain = NewProvider(false);
  EXPECT_KMS_CODE(plain->Decrypt(dreq).status(), kms_code::kInvalidCiphertext);
  dreq.encryption_context = &a;
  EXPECT_TRUE(provider->Decrypt(dreq).ok());
}

TEST_F(BranchKeyProviderTest, AContextThatDiffersOnlyOutsideTheTenantIsRefused) {
  Create("tenant-a");
  auto provider = NewProvider(true);
  const EncryptionContext sealed = Ctx({{"tenant", "a"}, {"table", "orders"}});
  const EncryptionContext other = Ctx({{"tenant", "a"}, {"table", "users"}});
  GenerateDataKeyRequest req;
  req.encryption_context = &sealed;
  auto dk = provider->GenerateDataKey(req);
  ASSERT_TRUE(dk.ok());
  DecryptRequest dreq;
  dreq.ciphertext_blob = B(dk->ciphertext_blob);
  dreq.encryption_context = &other;
  EXPECT_KMS_CODE(provider->Decrypt(dreq).status(), kms_code::kInvalidCiphertext);
}

TEST_F(BranchKeyProviderTest, AKeyIdThatContradictsTheSupplierIsRefused) {
  Create("tenant-a");
  auto provider = NewProvider(true);
  const EncryptionContext a = Ctx({{"tenant", "a"}});
  GenerateDataKeyRequest req;
  req.encryption_context = &a;
  req.key_id = "tenant-b";
  EXPECT_KMS_CODE(provider->GenerateDataKey(req).status(), kms_code::kInvalidParameter);
  req.key_id = kBranchKeyFromContext;
  EXPECT_TRUE(provider->GenerateDataKey(req).ok());
  req.key_id = "tenant-a";
  EXPECT_TRUE(provider->GenerateDataKey(req).ok());
  const EncryptionContext none = Ctx({{"table", "x"}});
  req.encryption_context = &none;
  req.key_id = "";
  EXPECT_KMS_CODE(provider->GenerateDataKey(req).status(), kms_code::kInvalidParameter);
}

TEST_F(BranchKeyProviderTest, ForgedVersionOrIdIsRefused) {
  Create("tenant-a");
  Create("tenant-b");
  auto provider = NewProvider(false);
  GenerateDataKeyRequest req;
  req.key_id = "tenant-a";
  auto v1 = provider->GenerateDataKey(req);
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(RotateBranchKey(*kms_.real, "", *store_, "tenant-a").ok());
  const size_t version_at = 6 + 8;
  auto decrypt = [&](const std::string& blob) {
    DecryptRequest dreq;
    dreq.ciphertext_blob = B(blob);
    return provider->Decrypt(dreq).status();
  };
  ASSERT_TRUE(decrypt(v1->ciphertext_blob).ok());
  std::string forged = v1->ciphertext_blob;
  forged[version_at + 3] = 2;  // names version 2, which exists
  EXPECT_KMS_CODE(decrypt(forged), kms_code::kInvalidCiphertext);
  forged[version_at + 3] = 9;  // a version that does not exist
  EXPECT_KMS_CODE(decrypt(forged), kms_code::kInvalidCiphertext);
  forged = v1->ciphertext_blob;
  forged[6 + 7] = 'b';  // tenant-b: another branch key that exists
  EXPECT_KMS_CODE(decrypt(forged), kms_code::kInvalidCiphertext);
  for (size_t i = 0; i < v1->ciphertext_blob.size(); ++i) {
    std::string flipped = v1->ciphertext_blob;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(decrypt(flipped).ok()) << "byte " << i;
  }
  EXPECT_FALSE(decrypt(v1->ciphertext_blob.substr(0, v1->ciphertext_blob.size() - 1)).ok());
  EXPECT_FALSE(decrypt(v1->ciphertext_blob + "x").ok());
}

TEST_F(BranchKeyProviderTest, RotationMovesNewKeysToTheNewVersionAndOldOnesStillOpen) {
  Create("orders");
  BranchKeyProviderOptions o;
  o.kms = kms_.counting;
  o.store = store_;
  cache_testing::ManualClock clock;
  o.cache.clock = &clock;
  o.cache.ttl = std::chrono::seconds(10);
  auto provider = BranchKeyProvider::New(std::move(o)).value();
  GenerateDataKeyRequest req;
  req.key_id = "orders";
  auto old_key = provider->GenerateDataKey(req);
  ASSERT_TRUE(old_key.ok());
  ASSERT_TRUE(RotateBranchKey(*kms_.real, "", *store_, "orders").ok());
  EXPECT_EQ(provider->GenerateDataKey(req)->key_version_id, "1");  // cached until the TTL
  clock.Advance(std::chrono::seconds(11));
  auto new_key = provider->GenerateDataKey(req);
  ASSERT_TRUE(new_key.ok());
  EXPECT_EQ(new_key->key_version_id, "2");
  DecryptRequest dreq;
  dreq.ciphertext_blob = B(old_key->ciphertext_blob);
  auto back = provider->Decrypt(dreq);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->key_version_id, "1");
}

TEST_F(BranchKeyProviderTest, AStoreRecordMovedToAnotherIdDoesNotUnwrap) {
  Create("tenant-a");
  auto a = store_->GetActiveVersion("tenant-a");
  ASSERT_TRUE(a.ok());
  BranchKeyVersion stolen = *a;
  stolen.branch_key_id = "tenant-evil";
  stolen.create_time.clear();
  ASSERT_TRUE(store_->PutActiveVersion(stolen).ok());
  auto provider = NewProvider(false);
  GenerateDataKeyRequest req;
  req.key_id = "tenant-evil";
  absl::Status s = provider->GenerateDataKey(req).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

TEST_F(BranchKeyProviderTest, UnknownBranchKeyIsKeyNotFound) {
  auto provider = NewProvider(false);
  GenerateDataKeyRequest req;
  req.key_id = "nobody";
  EXPECT_KMS_CODE(provider->GenerateDataKey(req).status(), kms_code::kKeyNotFound);
  req.key_id = "bad id!";
  EXPECT_KMS_CODE(provider->GenerateDataKey(req).status(), kms_code::kInvalidParameter);
}

TEST_F(BranchKeyProviderTest, SealsAndOpensEnvelopesPerTenant) {
  Create("tenant-a");
  Create("tenant-b");
  std::shared_ptr<KeyProvider> provider = NewProvider(true);
  envelope::EnvelopeOptions o;
  o.primary = {provider, std::string(kBranchKeyFromContext)};
  auto env = envelope::Envelope::New(std::move(o));
  ASSERT_TRUE(env.ok()) << env.status();
  const EncryptionContext a = Ctx({{"tenant", "a"}});
  const EncryptionContext b = Ctx({{"tenant", "b"}});
  auto sealed = (*env)->Seal(std::string_view("hello a"), a);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  auto opened = (*env)->Open(std::string_view(*sealed), a);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "hello a");
  EXPECT_FALSE((*env)->Open(std::string_view(*sealed), b).ok());
}

TEST_F(BranchKeyProviderTest, EncryptWrapsKeysForRewrapAndReEncryptIsUnsupported) {
  Create("orders");
  auto provider = NewProvider(false);
  const std::string key(32, 'k');
  EncryptRequest ereq;
  ereq.key_id = "orders";
  ereq.plaintext = B(key);
  auto wrapped = provider->Encrypt(ereq);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  DecryptRequest dreq;
  dreq.ciphertext_blob = B(wrapped->ciphertext_blob);
  auto back = provider->Decrypt(dreq);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(back->plaintext.data()), back->plaintext.size()),
            key);
  const std::string big(1025, 'x');
  ereq.plaintext = B(big);
  EXPECT_KMS_CODE(provider->Encrypt(ereq).status(), kms_code::kInvalidParameter);
  EXPECT_KMS_CODE(provider->ReEncrypt(ReEncryptRequest{}).status(), kms_code::kUnsupportedOperation);
}

}  // namespace
}  // namespace branch
}  // namespace kms_envelope

namespace kms_envelope {
namespace branch {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(BranchKeyProviderTest, RewrapMovesAFileFromACmkToABranchKeyAndBack) {
  Create("tenant-a");
  std::shared_ptr<KeyProvider> branch_provider = NewProvider(true);
  const EncryptionContext a = Ctx({{"tenant", "a"}});
  envelope::EnvelopeOptions by_cmk;
  by_cmk.primary = {kms_.real, kms_.cmk};
  auto cmk_env = envelope::Envelope::New(by_cmk).value();
  const std::string path = TestDir("file") + ".kmse";
  {
    auto sealed = cmk_env->Seal(std::string_view("payload"), a);
    ASSERT_TRUE(sealed.ok());
    std::ofstream(path, std::ios::binary) << *sealed;
  }
  envelope::EnvelopeOptions to_branch;
  to_branch.primary = {branch_provider, std::string(kBranchKeyFromContext)};
  to_branch.decrypt_providers = {kms_.real};
  auto branch_env = envelope::Envelope::New(to_branch).value();
  ASSERT_TRUE(envelope::RewrapFile(*branch_env, path, nullptr).ok());
  envelope::EnvelopeOptions branch_only;
  branch_only.decrypt_providers = {branch_provider};
  auto reader = envelope::Envelope::New(branch_only).value();
  auto opened = reader->Open(std::string_view(ReadAll(path)), a);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "payload");

  envelope::EnvelopeOptions back;
  back.primary = {kms_.real, kms_.cmk};
  back.decrypt_providers = {branch_provider};
  ASSERT_TRUE(envelope::RewrapFile(*envelope::Envelope::New(back).value(), path, nullptr).ok());
  auto again = cmk_env->Open(std::string_view(ReadAll(path)), a);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, "payload");
}

}  // namespace
}  // namespace branch
}  // namespace kms_envelope
