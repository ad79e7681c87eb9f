// docs/format.md §6 steps 2-3 as rules a second implementation can follow: a failed KMS Decrypt
// moves on to the next wrapped key; the expected context must equal, required pairs are
// contained; the KeyId compared for the local store is the GUID of the CMK holding the version.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/local_key_provider.h"
#include "kms_envelope/local/local_key_store.h"

namespace kms_envelope {
namespace envelope {
namespace {

struct TwoCmks {
  std::shared_ptr<local::LocalKeyStore> store;
  std::shared_ptr<KeyProvider> kms;
  std::string first, second;
};

TwoCmks NewTwoCmks() {
  local::LocalKeyStoreOptions options;
  options.in_memory = true;
  TwoCmks t;
  t.store = *local::LocalKeyStore::Open(options);
  t.kms = *local::LocalKeyProvider::New(t.store);
  t.first = t.store->CreateKey("first")->key_id;
  t.second = t.store->CreateKey("second")->key_id;
  return t;
}

std::unique_ptr<Envelope> NewEnvelope(const TwoCmks& t, EncryptionContext required = {}) {
  EnvelopeOptions options;
  options.primary = {t.kms, t.first};
  options.additional = {{t.kms, t.second}};
  options.required_context = std::move(required);
  return *Envelope::New(std::move(options));
}

TEST(DecryptCandidates, AFailedDecryptOfTheFirstWrappedKeyMovesOnToTheNext) {
  TwoCmks t = NewTwoCmks();
  auto ctx = *EncryptionContext::FromPairs({{"app", "db"}});
  auto sealed = NewEnvelope(t)->Seal("secret", ctx);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_TRUE(t.store->DisableKey(t.first).ok());
  auto opened = NewEnvelope(t)->Open(*sealed, ctx);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "secret");
  // Every candidate failed: the last error is reported.
  ASSERT_TRUE(t.store->DisableKey(t.second).ok());
  EXPECT_EQ(GetKmsErrorCode(NewEnvelope(t)->Open(*sealed, ctx).status()), kms_code::kDisabled);
}

TEST(DecryptCandidates, ExpectedContextMustEqualWhileRequiredPairsAreContained) {
  TwoCmks t = NewTwoCmks();
  auto both = *EncryptionContext::FromPairs({{"app", "db"}, {"tenant", "t1"}});
  auto app_only = *EncryptionContext::FromPairs({{"app", "db"}});
  auto sealed = NewEnvelope(t)->Seal("secret", both);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  // Expected context: a subset is not equal.
  EXPECT_EQ(GetKmsErrorCode(NewEnvelope(t)->Open(*sealed, app_only).status()),
            kms_code::kInvalidCiphertext);
  // Required pairs: a subset is contained; a pair with another value is not.
  EXPECT_TRUE(NewEnvelope(t, app_only)->Open(*sealed, both).ok());
  auto other = *EncryptionContext::FromPairs({{"app", "web"}});
  EXPECT_EQ(GetKmsErrorCode(NewEnvelope(t, other)->Open(*sealed, both).status()),
            kms_code::kNoPermission);
}

TEST(DecryptCandidates, TheLocalStoreReportsTheGuidOfTheCmkHoldingTheVersion) {
  TwoCmks t = NewTwoCmks();
  ASSERT_TRUE(t.store->CreateAlias("alias/first", t.first).ok());
  GenerateDataKeyRequest req;
  req.key_id = "alias/first";
  GenerateDataKeyResponse dk;
  ASSERT_TRUE(t.kms->GenerateDataKeyInto(req, &dk).ok());
  ASSERT_TRUE(t.store->RotateKey(t.first).ok());
  DecryptRequest dreq;
  dreq.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(dk.ciphertext_blob.data()), dk.ciphertext_blob.size());
  DecryptResponse out;
  ASSERT_TRUE(t.kms->DecryptInto(dreq, &out).ok());
  EXPECT_EQ(out.key_id, t.first) << "the GUID, not the alias, also after a rotation";
  EXPECT_EQ(out.key_version_id, dk.key_version_id);
}

}  // namespace
}  // namespace envelope
}  // namespace kms_envelope
