// InstanceKeyProvider against the real KmsServer answering the instance API over loopback HTTPS
// (InstanceHandler over a LocalKeyStore), with ClientKeys and certificates made by openssl.
#include "kms_envelope/instance/instance_key_provider.h"

#include <atomic>

#include "gtest/gtest.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/local/ciphertext_blob.h"
#include "tests/instance/instance_test_util.h"

namespace kms_envelope {
namespace instance {
namespace {

using testing::ClientKeyFiles;
using testing::FreshDir;
using testing::InstanceTestServer;
using testing::InstanceTestServerOptions;
using testing::MakeClientKeyFiles;
using testing::StartInstanceServer;

struct Fixture {
  std::string dir;
  ClientKeyFiles app;    // may use key 0
  ClientKeyFiles other;  // may use key 1
  InstanceTestServer server;
};

// One set of keys for the whole suite (RSA key generation is the slow part).
Fixture* SharedKeys() {
  static Fixture* f = [] {
    auto* fx = new Fixture;
    fx->dir = FreshDir("instance_provider");
    fx->app = *MakeClientKeyFiles(fx->dir, "KAAP.app");
    fx->other = *MakeClientKeyFiles(fx->dir, "KAAP.other");
    return fx;
  }();
  return f;
}

InstanceTestServer Start(std::vector<InstanceFault> faults = {},
                         std::function<absl::Time()> now = nullptr) {
  Fixture* f = SharedKeys();
  InstanceTestServerOptions o;
  o.key_descriptions = {"app key", "other key"};
  o.client_keys = {{f->app, {"key:0"}}, {f->other, {"key:1"}}};
  o.faults = std::move(faults);
  o.now = std::move(now);
  absl::StatusOr<InstanceTestServer> s = StartInstanceServer(f->dir, std::move(o));
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(s).value();
}

std::unique_ptr<InstanceKeyProvider> Provider(const InstanceTestServer& s,
                                              const ClientKeyFiles& ck, int max_attempts = 5,
                                              std::vector<absl::Duration>* sleeps = nullptr) {
  absl::StatusOr<ClientKey> key = ClientKey::FromFiles(ck.json_path, ck.password_path);
  EXPECT_TRUE(key.ok()) << key.status();
  InstanceKeyProviderOptions o;
  o.endpoint = s.endpoint();
  o.ca_file = s.tls.cert_path;
  o.retry.max_attempts = max_attempts;
  o.clock.sleep = [sleeps](absl::Duration d) {
    if (sleeps != nullptr) sleeps->push_back(d);
  };
  absl::StatusOr<std::unique_ptr<InstanceKeyProvider>> p =
      InstanceKeyProvider::New(std::move(o), std::move(key).value());
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(p).value();
}

absl::Span<const uint8_t> Span(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

EncryptionContext Ctx(const std::string& v) {
  return *EncryptionContext::FromPairs({{"purpose", v}});
}

TEST(InstanceKeyProviderTest, GenerateDataKeyAndDecryptRoundTripWithTheContextAsAad) {
  InstanceTestServer s = Start();
  auto kms = Provider(s, SharedKeys()->app);
  EncryptionContext ctx = Ctx("backup");
  GenerateDataKeyRequest g;
  g.key_id = s.key_ids[0];
  g.encryption_context = &ctx;
  absl::StatusOr<GenerateDataKeyResponse> dk = kms->GenerateDataKey(g);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->key_id, s.key_ids[0]);
  EXPECT_EQ(dk->plaintext.size(), 32u);
  EXPECT_FALSE(dk->key_version_id.empty());
  DecryptRequest d;
  d.ciphertext_blob = absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(dk->ciphertext_blob.data()), dk->ciphertext_blob.size());
  d.encryption_context = &ctx;
  absl::StatusOr<DecryptResponse> back = kms->Decrypt(d);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->plaintext.ConstantTimeEquals(dk->plaintext));
  EXPECT_EQ(back->key_version_id, dk->key_version_id);
  EncryptionContext wrong = Ctx("other");
  d.encryption_context = &wrong;
  EXPECT_EQ(GetKmsErrorCode(kms->Decrypt(d).status()), "InvalidCiphertext");
  d.encryption_context = nullptr;
  EXPECT_EQ(GetKmsErrorCode(kms->Decrypt(d).status()), "InvalidCiphertext");
}

TEST(InstanceKeyProviderTest, WithoutPlaintextEncryptAndReEncryptWork) {
  InstanceTestServer s = Start();
  auto kms = Provider(s, SharedKeys()->app);
  GenerateDataKeyRequest g;
  g.key_id = s.key_ids[0];
  g.number_of_bytes = 16;
  absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse> wk =
      kms->GenerateDataKeyWithoutPlaintext(g);
  ASSERT_TRUE(wk.ok()) << wk.status();
  DecryptRequest d;
  d.ciphertext_blob = Span(wk->ciphertext_blob);
  absl::StatusOr<DecryptResponse> key = kms->Decrypt(d);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->plaintext.size(), 16u);

  const std::string secret = "six kilobytes or less";
  EncryptRequest e;
  e.key_id = s.key_ids[0];
  e.plaintext = Span(secret);
  absl::StatusOr<EncryptResponse> enc = kms->Encrypt(e);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EncryptionContext dest_ctx = Ctx("rewrapped");
  ReEncryptRequest r;
  r.ciphertext_blob = Span(enc->ciphertext_blob);
  r.destination_key_id = s.key_ids[0];
  r.destination_encryption_context = &dest_ctx;
  absl::StatusOr<ReEncryptResponse> re = kms->ReEncrypt(r);
  ASSERT_TRUE(re.ok()) << re.status();
  EXPECT_EQ(re->source_key_id, s.key_ids[0]);
  d.ciphertext_blob = Span(re->ciphertext_blob);
  d.encryption_context = &dest_ctx;
  absl::StatusOr<DecryptResponse> plain = kms->Decrypt(d);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(plain->plaintext.data()),
                        plain->plaintext.size()),
            secret);
  // ReEncrypt to a CMK this ClientKey may not use fails without a blob.
  r.destination_key_id = s.key_ids[1];
  EXPECT_EQ(GetKmsErrorCode(kms->ReEncrypt(r).status()), "Forbidden.NoPermission");
}

TEST(InstanceKeyProviderTest, RotationWrapsUnderTheNewVersionAndOldBlobsStillOpen) {
  InstanceTestServer s = Start();
  auto kms = Provider(s, SharedKeys()->app);
  GenerateDataKeyRequest g;
  g.key_id = s.key_ids[0];
  absl::StatusOr<GenerateDataKeyResponse> before = kms->GenerateDataKey(g);
  ASSERT_TRUE(before.ok());
  absl::StatusOr<std::string> v2 = s.store->RotateKey(s.key_ids[0]);
  ASSERT_TRUE(v2.ok());
  absl::StatusOr<GenerateDataKeyResponse> after = kms->GenerateDataKey(g);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->key_version_id, before->key_version_id);
  EXPECT_EQ(after->key_version_id, *v2);
  DecryptRequest d;
  d.ciphertext_blob = Span(before->ciphertext_blob);
  absl::StatusOr<DecryptResponse> old = kms->Decrypt(d);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(old->plaintext.ConstantTimeEquals(before->plaintext));
}

TEST(InstanceKeyProviderTest, ClockSkewBeyondFifteenMinutesIsRefused) {
  std::atomic<int64_t> offset_s{16 * 60};
  InstanceTestServer s = Start({}, [&offset_s] { return absl::Now() + absl::Seconds(offset_s.load()); });
  auto kms = Provider(s, SharedKeys()->app);
  GenerateDataKeyRequest g;
  g.key_id = s.key_ids[0];
  EXPECT_EQ(GetKmsErrorCode(kms->GenerateDataKey(g).status()), "RequestTimeTooSkewed");
  offset_s = -16 * 60;
  EXPECT_EQ(GetKmsErrorCode(kms->GenerateDataKey(g).status()), "RequestTimeTooSkewed");
  offset_s = 14 * 60;
  EXPECT_TRUE(kms->GenerateDataKey(g).ok());
}

TEST(InstanceKeyProviderTest, WrongClientKeysAreRefused) {
  InstanceTestServer s = Start();
  Fixture* f = SharedKeys();
  // A ClientKey file whose KeyId the server knows, holding another key pair.
  ClientKeyFiles impostor = f->other;
  impostor.json_path = f->dir + "/impostor.json";
  absl::StatusOr<std::string> json = testing::ReadFile(f->other.json_path);
  ASSERT_TRUE(json.ok());
  std::string renamed = *json;
  renamed.replace(renamed.find("KAAP.other"), 10, "KAAP.app\"  ");
  renamed.erase(renamed.find("\"  "), 3);
  ASSERT_TRUE(testing::WriteFile(impostor.json_path, renamed).ok());
  auto kms = Provider(s, impostor);
  GenerateDataKeyRequest g;
  g.key_id = s.key_ids[0];
  EXPECT_EQ(GetKmsErrorCode(kms->GenerateDataKey(g).status()), "SignatureDoesNotMatch");
  EXPECT_EQ(kms->attempts(), 1u);  // final, not retried
  // An unknown ClientKey id.
  absl::StatusOr<ClientKeyFiles> stranger = MakeClientKeyFiles(f->dir, "KAAP.stranger");
  ASSERT_TRUE(stranger.ok());
  auto kms2 = Provider(s, *stranger);
  EXPECT_EQ(GetKmsErrorCode(kms2->GenerateDataKey(g).status()), "InvalidAccessKeyId.NotFound");
  // A known ClientKey on a CMK it may not use.
  g.key_id = s.key_ids[1];
  EXPECT_EQ(GetKmsErrorCode(Provider(s, f->app)->GenerateDataKey(g).status()),
            "Forbidden.NoPermission");
}

TEST(InstanceKeyProviderTest, ThrottlingAndTemporaryFailuresAreRetriedWithBackoff) {
  InstanceTestServer s = Start({{"Rejected.Throttling", 429, 1},
                                {"ServiceUnavailableTemporary", 503, 1},
                                {"InternalFailure", 500, 1}});
  std::vector<absl::Duration> sleeps;
  auto kms = Provider(s, SharedKeys()->app, 5, &sleeps);
  GenerateDataKeyRequest g;
  g.key_id = s.key_ids[0];
  absl::StatusOr<GenerateDataKeyResponse> dk = kms->GenerateDataKey(g);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(kms->attempts(), 4u);
  EXPECT_EQ(sleeps.size(), 3u);
}

TEST(InstanceKeyProviderTest, RetriesStopAtMaxAttemptsAndFinalCodesAreNotRetried) {
  InstanceTestServer s = Start({{"Rejected.Throttling", 429, 10}});
  auto kms = Provider(s, SharedKeys()->app, 3);
  GenerateDataKeyRequest g;
  g.key_id = s.key_ids[0];
  EXPECT_EQ(GetKmsErrorCode(kms->GenerateDataKey(g).status()), "Rejected.Throttling");
  EXPECT_EQ(kms->attempts(), 3u);
  InstanceTestServer s2 = Start({{"Forbidden.KeyNotFound", 404, 10}});
  auto kms2 = Provider(s2, SharedKeys()->app, 3);
  g.key_id = s2.key_ids[0];
  EXPECT_EQ(GetKmsErrorCode(kms2->GenerateDataKey(g).status()), "Forbidden.KeyNotFound");
  EXPECT_EQ(kms2->attempts(), 1u);
}

TEST(InstanceKeyProviderTest, AForgedBlobNamingAnotherKeyReleasesNothing) {
  InstanceTestServer s = Start();
  Fixture* f = SharedKeys();
  auto app = Provider(s, f->app);
  auto other = Provider(s, f->other);
  GenerateDataKeyRequest g;
  g.key_id = s.key_ids[1];
  absl::StatusOr<GenerateDataKeyResponse> theirs = other->GenerateDataKey(g);
  ASSERT_TRUE(theirs.ok());
  // The other application's blob, sent by a ClientKey that may not use its CMK.
  DecryptRequest d;
  d.ciphertext_blob = Span(theirs->ciphertext_blob);
  EXPECT_EQ(GetKmsErrorCode(app->Decrypt(d).status()), "Forbidden.NoPermission");
  // Our own blob relabelled with the other CMK's version id: authentication fails.
  g.key_id = s.key_ids[0];
  absl::StatusOr<GenerateDataKeyResponse> ours = app->GenerateDataKey(g);
  ASSERT_TRUE(ours.ok());
  std::string forged = ours->ciphertext_blob;
  forged.replace(0, local::kKeyVersionIdSize, theirs->key_version_id);
  d.ciphertext_blob = Span(forged);
  EXPECT_EQ(GetKmsErrorCode(other->Decrypt(d).status()), "InvalidCiphertext");
  EXPECT_EQ(GetKmsErrorCode(app->Decrypt(d).status()), "InvalidCiphertext");
}

TEST(InstanceKeyProviderTest, TheServerCertificateIsVerified) {
  InstanceTestServer s = Start();
  absl::StatusOr<ClientKey> key =
      ClientKey::FromFiles(SharedKeys()->app.json_path, SharedKeys()->app.password_path);
  ASSERT_TRUE(key.ok());
  InstanceKeyProviderOptions o;
  o.endpoint = s.endpoint();  // no ca_file: the self-signed certificate is not trusted
  auto kms = InstanceKeyProvider::New(std::move(o), std::move(key).value());
  ASSERT_TRUE(kms.ok());
  GenerateDataKeyRequest g;
  g.key_id = s.key_ids[0];
  absl::Status st = (*kms)->GenerateDataKey(g).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_EQ((*kms)->attempts(), 1u);
  // http:// endpoints are refused up front.
  absl::StatusOr<ClientKey> key2 =
      ClientKey::FromFiles(SharedKeys()->app.json_path, SharedKeys()->app.password_path);
  InstanceKeyProviderOptions plain;
  plain.endpoint = "http://127.0.0.1:" + std::to_string(s.port);
  EXPECT_FALSE(InstanceKeyProvider::New(std::move(plain), std::move(key2).value()).ok());
}

}  // namespace
}  // namespace instance
}  // namespace kms_envelope
