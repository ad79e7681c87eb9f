// The real KmsServer on a loopback port, driven by RemoteKeyProvider (and by hand-made requests
// where a client would never send them): every action, every error, V1 and V3 authentication,
// replay and clock-skew rejection, permission denial, retries against injected faults.
#include <gtest/gtest.h>

#include "kms_envelope/kms_error.h"
#include "tests/server/server_test_util.h"

namespace kms_envelope {
namespace testing {
namespace {

using kms_api::QueryParam;
using remote::SignatureVersion;
using kms_api::ToWiped;

std::string Code(const absl::Status& s) { return GetKmsErrorCode(s); }

class ServerTest : public ServerFixture, public ::testing::WithParamInterface<SignatureVersion> {
 protected:
  void SetUp() override { StartServer(); }
};

TEST_P(ServerTest, ServesEveryActionEndToEnd) {
  auto kms = Client(kAdminId, kAdminSecret, GetParam());
  // CreateKey, DescribeKey.
  auto created = kms->Call("CreateKey", {{"Description", "first key"}});
  ASSERT_TRUE(created.ok()) << created.status();
  std::string key_id = (*created)["KeyMetadata"]["KeyId"];
  EXPECT_EQ((*created)["KeyMetadata"]["KeyState"], "Enabled");
  EXPECT_EQ((*created)["KeyMetadata"]["Description"], "first key");
  EXPECT_TRUE(created->contains("RequestId"));
  auto second = kms->Call("CreateKey", {});
  ASSERT_TRUE(second.ok());
  std::string key2 = (*second)["KeyMetadata"]["KeyId"];
  auto described = kms->Call("DescribeKey", {{"KeyId", ToWiped(key_id)}});
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_EQ((*described)["KeyMetadata"]["KeyId"], key_id);
  std::string first_version = (*described)["KeyMetadata"]["PrimaryKeyVersion"];

  // CreateAlias, ListAliases, ListKeys with paging.
  ASSERT_TRUE(kms->Call("CreateAlias", {{"AliasName", "alias/app"}, {"KeyId", ToWiped(key_id)}}).ok());
  auto aliases = kms->Call("ListAliases", {});
  ASSERT_TRUE(aliases.ok()) << aliases.status();
  ASSERT_EQ((*aliases)["Aliases"]["Alias"].size(), 1u);
  EXPECT_EQ((*aliases)["Aliases"]["Alias"][0]["AliasName"], "alias/app");
  EXPECT_EQ((*aliases)["Aliases"]["Alias"][0]["KeyId"], key_id);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(kms->Call("CreateKey", {}).ok());
  auto page1 = kms->Call("ListKeys", {{"PageSize", "2"}});
  ASSERT_TRUE(page1.ok()) << page1.status();
  EXPECT_EQ((*page1)["TotalCount"], 5);
  EXPECT_EQ((*page1)["PageNumber"], 1);
  EXPECT_EQ((*page1)["PageSize"], 2);
  ASSERT_EQ((*page1)["Keys"]["Key"].size(), 2u);
  EXPECT_EQ((*page1)["Keys"]["Key"][0]["KeyId"], key_id);
  auto page3 = kms->Call("ListKeys", {{"PageSize", "2"}, {"PageNumber", "3"}});
  ASSERT_TRUE(page3.ok());
  EXPECT_EQ((*page3)["Keys"]["Key"].size(), 1u);

  // GenerateDataKey by alias with a context, Decrypt.
  auto ctx = EncryptionContext::FromJson(R"({"tenant":"t 1","purpose":"x*y"})");
  ASSERT_TRUE(ctx.ok());
  GenerateDataKeyRequest gen;
  gen.key_id = "alias/app";
  gen.encryption_context = &*ctx;
  auto dk = kms->GenerateDataKey(gen);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->key_id, key_id);
  EXPECT_EQ(dk->key_version_id, first_version);
  EXPECT_EQ(dk->plaintext.size(), 32u);
  DecryptRequest dec;
  dec.ciphertext_blob = kms_envelope::testing::Bytes(dk->ciphertext_blob);
  dec.encryption_context = &*ctx;
  auto opened = kms->Decrypt(dec);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->plaintext.ConstantTimeEquals(dk->plaintext));
  EXPECT_EQ(opened->key_id, key_id);

  // GenerateDataKeyWithoutPlaintext with NumberOfBytes; AES_128.
  gen.number_of_bytes = 64;
  auto wo = kms->GenerateDataKeyWithoutPlaintext(gen);
  ASSERT_TRUE(wo.ok()) << wo.status();
  dec.ciphertext_blob = kms_envelope::testing::Bytes(wo->ciphertext_blob);
  auto opened64 = kms->Decrypt(dec);
  ASSERT_TRUE(opened64.ok());
  EXPECT_EQ(opened64->plaintext.size(), 64u);
  gen.number_of_bytes.reset();
  gen.key_spec = "AES_128";
  auto dk16 = kms->GenerateDataKey(gen);
  ASSERT_TRUE(dk16.ok());
  EXPECT_EQ(dk16->plaintext.size(), 16u);

  // Encrypt (up to 6 KiB, binary) and Decrypt.
  std::string secret_text(kMaxEncryptPlaintextSize, '\0');
  for (size_t i = 0; i < secret_text.size(); ++i) secret_text[i] = static_cast<char>(i * 7);
  EncryptRequest enc;
  enc.key_id = key_id;
  enc.plaintext = kms_envelope::testing::Bytes(secret_text);
  auto sealed = kms->Encrypt(enc);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  dec.ciphertext_blob = kms_envelope::testing::Bytes(sealed->ciphertext_blob);
  dec.encryption_context = nullptr;
  auto plain = kms->Decrypt(dec);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(StrOf(plain->plaintext), secret_text);

  // ReEncrypt to another key and context.
  auto ctx2 = EncryptionContext::FromJson(R"({"moved":"yes"})");
  ReEncryptRequest re;
  re.ciphertext_blob = kms_envelope::testing::Bytes(dk->ciphertext_blob);
  re.source_encryption_context = &*ctx;
  re.destination_key_id = key2;
  re.destination_encryption_context = &*ctx2;
  auto moved = kms->ReEncrypt(re);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->key_id, key2);
  EXPECT_EQ(moved->source_key_id, key_id);
  EXPECT_EQ(moved->source_key_version_id, first_version);
  dec.ciphertext_blob = kms_envelope::testing::Bytes(moved->ciphertext_blob);
  dec.encryption_context = &*ctx2;
  auto reopened = kms->Decrypt(dec);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(reopened->key_id, key2);
  EXPECT_TRUE(reopened->plaintext.ConstantTimeEquals(dk->plaintext));

  // CreateKeyVersion: new blobs use the new version, old ones still open.
  auto rotated = kms->Call("CreateKeyVersion", {{"KeyId", "alias/app"}});
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  std::string new_version = (*rotated)["KeyVersion"]["KeyVersionId"];
  EXPECT_EQ((*rotated)["KeyVersion"]["KeyId"], key_id);
  EXPECT_NE(new_version, first_version);
  gen.key_spec = "";
  auto after = kms->GenerateDataKey(gen);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->key_version_id, new_version);
  dec.ciphertext_blob = kms_envelope::testing::Bytes(dk->ciphertext_blob);
  dec.encryption_context = &*ctx;
  EXPECT_TRUE(kms->Decrypt(dec).ok());

  // DisableKey / EnableKey / ScheduleKeyDeletion / CancelKeyDeletion.
  ASSERT_TRUE(kms->Call("DisableKey", {{"KeyId", ToWiped(key_id)}}).ok());
  auto disabled = kms->GenerateDataKey(gen);
  EXPECT_EQ(Code(disabled.status()), kms_code::kDisabled);
  EXPECT_EQ(Code(kms->Decrypt(dec).status()), kms_code::kDisabled);
  ASSERT_TRUE(kms->Call("EnableKey", {{"KeyId", ToWiped(key_id)}}).ok());
  EXPECT_TRUE(kms->GenerateDataKey(gen).ok());
  ASSERT_TRUE(kms->Call("ScheduleKeyDeletion",
                        {{"KeyId", ToWiped(key_id)}, {"PendingWindowInDays", "7"}})
                  .ok());
  auto pending = kms->Call("DescribeKey", {{"KeyId", ToWiped(key_id)}});
  EXPECT_EQ((*pending)["KeyMetadata"]["KeyState"], "PendingDeletion");
  EXPECT_EQ(Code(kms->GenerateDataKey(gen).status()), kms_code::kPendingDeletion);
  ASSERT_TRUE(kms->Call("CancelKeyDeletion", {{"KeyId", ToWiped(key_id)}}).ok());
  EXPECT_TRUE(kms->GenerateDataKey(gen).ok());
}

TEST_P(ServerTest, MapsServiceErrorsToCodesAndStatuses) {
  auto kms = Client(kAdminId, kAdminSecret, GetParam());
  auto created = kms->Call("CreateKey", {});
  ASSERT_TRUE(created.ok());
  std::string key_id = (*created)["KeyMetadata"]["KeyId"];
  GenerateDataKeyRequest gen;
  gen.key_id = key_id;
  auto ctx = EncryptionContext::FromJson(R"({"a":"1"})");
  gen.encryption_context = &*ctx;
  auto dk = kms->GenerateDataKey(gen);
  ASSERT_TRUE(dk.ok());

  // Wrong context, tampered blob.
  auto wrong = EncryptionContext::FromJson(R"({"a":"2"})");
  DecryptRequest dec;
  dec.ciphertext_blob = kms_envelope::testing::Bytes(dk->ciphertext_blob);
  dec.encryption_context = &*wrong;
  EXPECT_EQ(Code(kms->Decrypt(dec).status()), kms_code::kInvalidCiphertext);
  std::string tampered = dk->ciphertext_blob;
  tampered[tampered.size() - 1] ^= 1;
  dec.ciphertext_blob = kms_envelope::testing::Bytes(tampered);
  dec.encryption_context = &*ctx;
  EXPECT_EQ(Code(kms->Decrypt(dec).status()), kms_code::kInvalidCiphertext);

  // Unknown key and alias.
  gen.key_id = "00000000-0000-4000-8000-000000000000";
  auto nf = kms->GenerateDataKey(gen);
  EXPECT_EQ(Code(nf.status()), kms_code::kKeyNotFound);
  EXPECT_EQ(nf.status().code(), absl::StatusCode::kNotFound);
  gen.key_id = "alias/none";
  EXPECT_EQ(Code(kms->GenerateDataKey(gen).status()), kms_code::kAliasNotFound);

  // Bad and missing parameters, unknown action, oversized Encrypt (the client refuses locally,
  // so send it raw through Call).
  EXPECT_EQ(Code(kms->Call("ListKeys", {{"PageSize", "101"}}).status()), kms_code::kInvalidParameter);
  EXPECT_EQ(Code(kms->Call("ListKeys", {{"PageSize", "0"}}).status()), kms_code::kInvalidParameter);
  EXPECT_EQ(Code(kms->Call("ListAliases", {{"PageNumber", "x"}}).status()),
            kms_code::kInvalidParameter);
  EXPECT_EQ(Code(kms->Call("DescribeKey", {}).status()), kms_code::kMissingParameter);
  EXPECT_EQ(Code(kms->Call("ScheduleKeyDeletion", {{"KeyId", ToWiped(key_id)}}).status()),
            kms_code::kMissingParameter);
  EXPECT_EQ(Code(kms->Call("ScheduleKeyDeletion",
                           {{"KeyId", ToWiped(key_id)}, {"PendingWindowInDays", "3"}})
                     .status()),
            kms_code::kInvalidParameter);
  EXPECT_EQ(Code(kms->Call("CancelKeyDeletion", {{"KeyId", ToWiped(key_id)}}).status()),
            kms_code::kStateModifiedFailed);
  EXPECT_EQ(Code(kms->Call("NoSuchAction", {}).status()), kms_code::kInvalidAction);
  std::string big(kMaxEncryptPlaintextSize + 1, 'x');
  EXPECT_EQ(Code(kms->Call("Encrypt", {{"KeyId", ToWiped(key_id)},
                                       {"Plaintext", ToWiped(kms_envelope::testing::Base64Encode(big))}})
                     .status()),
            kms_code::kInvalidParameter);
  EXPECT_EQ(Code(kms->Call("Encrypt", {{"KeyId", ToWiped(key_id)}, {"Plaintext", "***"}}).status()),
            kms_code::kInvalidParameter);
  ASSERT_TRUE(kms->Call("CreateAlias", {{"AliasName", "alias/dup"}, {"KeyId", ToWiped(key_id)}}).ok());
  auto dup = kms->Call("CreateAlias", {{"AliasName", "alias/dup"}, {"KeyId", ToWiped(key_id)}});
  EXPECT_EQ(Code(dup.status()), kms_code::kAliasAlreadyExists);
  // The message keeps the request id of the failing call.
  EXPECT_NE(dup.status().message().find("RequestId: "), absl::string_view::npos);
}

TEST_P(ServerTest, RefusesUnknownKeysAndBadSignatures) {
  auto unknown = Client("nobody", "x", GetParam());
  auto r = unknown->Call("ListKeys", {});
  EXPECT_EQ(Code(r.status()), kms_code::kInvalidAccessKeyIdNotFound);
  auto wrong_secret = Client(kAdminId, "not-the-secret", GetParam());
  auto s = wrong_secret->Call("ListKeys", {});
  EXPECT_EQ(Code(s.status()), kms_code::kSignatureDoesNotMatch);
  EXPECT_EQ(wrong_secret->attempts(), 1u);  // never retried
}

TEST_P(ServerTest, RefusesRequestsMoreThan15MinutesOff) {
  for (absl::Duration skew : {absl::Minutes(16), -absl::Minutes(16)}) {
    RecordingClock clock;
    clock.offset = skew;
    auto kms = Client(kAdminId, kAdminSecret, GetParam(), &clock);
    auto r = kms->Call("ListKeys", {});
    EXPECT_EQ(Code(r.status()), kms_code::kInvalidTimeStampExpired);
    EXPECT_EQ(kms->attempts(), 1u);
  }
  RecordingClock near;
  near.offset = absl::Minutes(14);
  EXPECT_TRUE(Client(kAdminId, kAdminSecret, GetParam(), &near)->Call("ListKeys", {}).ok());
}

TEST_P(ServerTest, EnforcesThePerKeyPolicy) {
  auto admin = Client(kAdminId, kAdminSecret, GetParam());
  auto app_key = admin->Call("CreateKey", {});
  auto other_key = admin->Call("CreateKey", {});
  ASSERT_TRUE(app_key.ok() && other_key.ok());
  std::string app_id = (*app_key)["KeyMetadata"]["KeyId"];
  std::string other_id = (*other_key)["KeyMetadata"]["KeyId"];
  ASSERT_TRUE(admin->Call("CreateAlias", {{"AliasName", "alias/app"}, {"KeyId", ToWiped(app_id)}}).ok());

  auto app = Client(kAppId, kAppSecret, GetParam());
  GenerateDataKeyRequest gen;
  gen.key_id = "alias/app";
  auto mine = app->GenerateDataKey(gen);
  ASSERT_TRUE(mine.ok()) << mine.status();
  gen.key_id = app_id;  // the GUID the alias names is allowed too
  EXPECT_TRUE(app->GenerateDataKey(gen).ok());
  gen.key_id = other_id;
  auto denied = app->GenerateDataKey(gen);
  EXPECT_EQ(Code(denied.status()), kms_code::kNoPermission);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  // Actions outside the policy.
  EXPECT_EQ(Code(app->Call("CreateKey", {}).status()), kms_code::kNoPermission);
  EXPECT_EQ(Code(app->Call("DisableKey", {{"KeyId", "alias/app"}}).status()), kms_code::kNoPermission);
  // A blob of another CMK is not opened for this key.
  gen.key_id = other_id;
  auto theirs = admin->GenerateDataKey(gen);
  ASSERT_TRUE(theirs.ok());
  DecryptRequest dec;
  dec.ciphertext_blob = kms_envelope::testing::Bytes(theirs->ciphertext_blob);
  EXPECT_EQ(Code(app->Decrypt(dec).status()), kms_code::kNoPermission);
  // ReEncrypt from another CMK into mine is refused too.
  ReEncryptRequest re;
  re.ciphertext_blob = kms_envelope::testing::Bytes(theirs->ciphertext_blob);
  re.destination_key_id = "alias/app";
  EXPECT_EQ(Code(app->ReEncrypt(re).status()), kms_code::kNoPermission);
  dec.ciphertext_blob = kms_envelope::testing::Bytes(mine->ciphertext_blob);
  EXPECT_TRUE(app->Decrypt(dec).ok());
}

INSTANTIATE_TEST_SUITE_P(V1AndV3, ServerTest,
                         ::testing::Values(SignatureVersion::kV1, SignatureVersion::kV3),
                         [](const auto& info) {
                           return info.param == SignatureVersion::kV1 ? "V1" : "V3";
                         });

class RawServerTest : public ServerFixture {
 protected:
  void SetUp() override { StartServer(); }
  httplib::Client Http() { return httplib::Client("127.0.0.1", server_->port()); }
};

TEST_F(RawServerTest, RefusesAReplayedNonce) {
  std::string query = SignedV1Query({{"Action", "ListKeys"}, {"Format", "JSON"}}, "GET", kAdminId,
                                    kAdminSecret);
  auto http = Http();
  auto first = http.Get(("/?" + query).c_str());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200) << first->body;
  auto replay = http.Get(("/?" + query).c_str());
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 400);
  auto j = nlohmann::json::parse(replay->body);
  EXPECT_EQ(j["Code"], "SignatureNonceUsed");
  for (const char* field : {"RequestId", "HostId", "Code", "Message", "Recommend"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
}

TEST_F(RawServerTest, AcceptsParametersInAFormBodyAndGetQueries) {
  std::string body = SignedV1Query({{"Action", "ListKeys"}, {"Format", "JSON"}}, "POST", kAdminId,
                                   kAdminSecret);
  auto http = Http();
  auto post = http.Post("/", body, "application/x-www-form-urlencoded");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200) << post->body;
  EXPECT_EQ(nlohmann::json::parse(post->body)["TotalCount"], 0);
  // Signed as POST, sent as GET: the method is part of the signature.
  auto wrong_method = http.Get(("/?" + SignedV1Query({{"Action", "ListKeys"}}, "POST", kAdminId,
                                                     kAdminSecret))
                                   .c_str());
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(nlohmann::json::parse(wrong_method->body)["Code"], "SignatureDoesNotMatch");
}

TEST_F(RawServerTest, RefusesIncompleteSignaturesAndMalformedTimestamps) {
  auto http = Http();
  auto none = http.Get("/?Action=ListKeys&Version=2016-01-20&AccessKeyId=admin-key");
  ASSERT_TRUE(none);
  EXPECT_EQ(nlohmann::json::parse(none->body)["Code"], "IncompleteSignature");
  auto no_action = http.Get("/?Version=2016-01-20");
  EXPECT_EQ(nlohmann::json::parse(no_action->body)["Code"], "MissingParameter");
  std::string bad_time =
      "/?Action=ListKeys&Version=2016-01-20&AccessKeyId=admin-key&SignatureMethod=HMAC-SHA1"
      "&SignatureVersion=1.0&SignatureNonce=n1&Timestamp=yesterday&Signature=abc";
  auto t = http.Get(bad_time.c_str());
  EXPECT_EQ(nlohmann::json::parse(t->body)["Code"], "InvalidTimeStamp.Format");
  auto dup = http.Get("/?Action=ListKeys&Action=ListKeys");
  EXPECT_EQ(nlohmann::json::parse(dup->body)["Code"], "InvalidParameter");
  auto put = http.Put("/", "", "text/plain");
  ASSERT_TRUE(put);
  EXPECT_NE(put->status, 200);
}

TEST_F(RawServerTest, AnswersInXmlWhenAsked) {
  auto http = Http();
  auto ok = http.Get(("/?" + SignedV1Query({{"Action", "CreateKey"}, {"Format", "XML"},
                                            {"Description", "a<b&c"}},
                                           "GET", kAdminId, kAdminSecret))
                         .c_str());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body.rfind("<?xml", 0), 0u) << ok->body;
  EXPECT_NE(ok->body.find("<KMS><KeyMetadata>"), std::string::npos) << ok->body;
  EXPECT_NE(ok->body.find("<Description>a&lt;b&amp;c</Description>"), std::string::npos);
  auto err = http.Get(("/?" + SignedV1Query({{"Action", "DescribeKey"}, {"Format", "XML"},
                                             {"KeyId", "alias/none"}},
                                            "GET", kAdminId, kAdminSecret))
                          .c_str());
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 404);
  EXPECT_NE(err->body.find("<Error>"), std::string::npos) << err->body;
  EXPECT_NE(err->body.find("<Code>Forbidden.AliasNotFound</Code>"), std::string::npos);
}

TEST_F(RawServerTest, WritesOneAccessLogLinePerRequestWithoutSecrets) {
  auto kms = Client();
  auto created = kms->Call("CreateKey", {});
  ASSERT_TRUE(created.ok());
  std::string key_id = (*created)["KeyMetadata"]["KeyId"];
  GenerateDataKeyRequest gen;
  gen.key_id = key_id;
  auto dk = kms->GenerateDataKey(gen);
  ASSERT_TRUE(dk.ok());
  std::string plaintext_b64 = kms_envelope::testing::Base64Encode(dk->plaintext.span());
  std::string log = access_log_.str();
  size_t lines = 0;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["access_key_id"], kAdminId);
    EXPECT_EQ(j["status"], 200);
    ++lines;
  }
  EXPECT_EQ(lines, 2u);
  EXPECT_EQ(log.find(plaintext_b64), std::string::npos);
  EXPECT_EQ(log.find("Signature"), std::string::npos);
  EXPECT_EQ(log.find(kAdminSecret), std::string::npos);
  EXPECT_NE(log.find("\"action\":\"GenerateDataKey\""), std::string::npos);
}

class FaultTest : public ServerFixture {};

TEST_F(FaultTest, ClientRetriesInjectedThrottlingAnd503sWithBoundedBackoff) {
  StartServer({{"Throttling", 400, 2}, {"ServiceUnavailableTemporary", 503, 1},
               {"InternalFailure", 500, 1}});
  RecordingClock clock;
  kms_api::RetryPolicy policy;
  policy.max_attempts = 6;
  policy.initial_backoff = absl::Milliseconds(200);
  policy.max_backoff = absl::Milliseconds(500);
  auto kms = Client(kAdminId, kAdminSecret, SignatureVersion::kV1, &clock, policy);
  auto r = kms->Call("ListKeys", {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(kms->attempts(), 5u);
  EXPECT_EQ(server_->requests(), 5u);
  ASSERT_EQ(clock.sleeps.size(), 4u);
  for (size_t i = 0; i < clock.sleeps.size(); ++i) {
    absl::Duration cap = policy.BackoffCap(static_cast<int>(i));
    EXPECT_GE(clock.sleeps[i], absl::ZeroDuration());
    EXPECT_LE(clock.sleeps[i], cap);
    EXPECT_EQ(clock.sleeps[i], cap / 2);  // jitter 0.5
  }
}

TEST_F(FaultTest, ClientGivesUpAfterMaxAttempts) {
  StartServer({{"Throttling", 400, 10}});
  RecordingClock clock;
  kms_api::RetryPolicy policy;
  policy.max_attempts = 3;
  auto kms = Client(kAdminId, kAdminSecret, SignatureVersion::kV3, &clock, policy);
  auto r = kms->Call("ListKeys", {});
  EXPECT_EQ(Code(r.status()), kms_code::kThrottling);
  EXPECT_EQ(kms->attempts(), 3u);
  EXPECT_EQ(server_->requests(), 3u);
  EXPECT_EQ(clock.sleeps.size(), 2u);
}

TEST_F(FaultTest, ClientDoesNotRetryAFinalInjectedError) {
  StartServer({{"Forbidden.NoPermission", 403, 1}});
  RecordingClock clock;
  auto kms = Client(kAdminId, kAdminSecret, SignatureVersion::kV1, &clock);
  EXPECT_EQ(Code(kms->Call("ListKeys", {}).status()), kms_code::kNoPermission);
  EXPECT_EQ(kms->attempts(), 1u);
  EXPECT_TRUE(clock.sleeps.empty());
}

}  // namespace
}  // namespace testing
}  // namespace kms_envelope
