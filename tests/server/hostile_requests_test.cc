// Hostile requests against the real KmsServer on loopback: replays inside the whole Timestamp
// window, one access key filling the replay cache, non-UTF-8 parameters, and a restricted key
// probing CMKs outside its policy (which must learn nothing: one answer, nothing decrypted).
#include <gtest/gtest.h>

#include "kms_envelope/kms_error.h"
#include "tests/server/server_test_util.h"

namespace kms_envelope {
namespace testing {
namespace {

using kms_api::QueryParam;
using kms_api::ToWiped;

constexpr char kNoneId[] = "none-key";  // allowed no action
constexpr char kNoneSecret[] = "none-secret";
constexpr char kListerId[] = "lister-key";  // may list, only alias/app
constexpr char kListerSecret[] = "lister-secret";
constexpr char kStsId[] = "STS.app";  // bound to a SecurityToken
constexpr char kStsSecret[] = "sts-secret";
constexpr char kStsToken[] = "sts-token-1";

class HostileRequestsTest : public ServerFixture {
 protected:
  void Start(size_t nonce_capacity_per_key = 1000, std::string store_directory = "") {
    TestKmsServerOptions o;
    o.store_directory = store_directory;
    o.key_descriptions = {"app", "other"};
    o.server.nonce_capacity_per_key = nonce_capacity_per_key;
    o.add_access_keys = [](const std::vector<std::string>&, server::AccessPolicy& p) {
      KMS_RETURN_IF_ERROR(p.Add(kAdminId, kAdminSecret, {"*"}, {"*"}));
      KMS_RETURN_IF_ERROR(p.Add(kNoneId, kNoneSecret, {}, {}));
      KMS_RETURN_IF_ERROR(p.Add(kListerId, kListerSecret, {"ListKeys", "ListAliases"},
                                {"alias/app"}));
      KMS_RETURN_IF_ERROR(p.Add(kStsId, kStsSecret, {"*"}, {"*"}, kStsToken));
      return p.Add(kAppId, kAppSecret,
                   {"GenerateDataKey", "Decrypt", "ReEncrypt", "DescribeKey"}, {"alias/app"});
    };
    StartCustomServer(std::move(o));
    ASSERT_TRUE(store_->CreateAlias("alias/app", key_ids_[0]).ok());
    ASSERT_TRUE(store_->CreateAlias("alias/other", key_ids_[1]).ok());
  }
  nlohmann::json Admin(std::vector<QueryParam> params) {
    return PostSigned(std::move(params), kAdminId, kAdminSecret);
  }
  nlohmann::json App(std::vector<QueryParam> params, std::string nonce = "") {
    return PostSigned(std::move(params), kAppId, kAppSecret, absl::Time(), nonce);
  }
  std::string BlobOf(const std::string& key_id, const std::string& context_json) {
    nlohmann::json r = Admin({{"Action", "GenerateDataKey"},
                              {"KeyId", ToWiped(key_id)},
                              {"EncryptionContext", ToWiped(context_json)}});
    EXPECT_TRUE(r.contains("CiphertextBlob")) << r.dump();
    return r.value("CiphertextBlob", "");
  }
};

TEST_F(HostileRequestsTest, AFutureTimestampedRequestCannotBeReplayedWhileItsTimestampIsValid) {
  Start();
  // Timestamp 14 minutes ahead: valid until 29 minutes from now.
  absl::Time when = ServerNow() + absl::Minutes(14);
  std::vector<QueryParam> create = {{"Action", "CreateKey"}};
  nlohmann::json first = PostSigned(create, kAdminId, kAdminSecret, when, "future-nonce");
  ASSERT_TRUE(first.contains("KeyMetadata")) << first.dump();
  Advance(absl::Seconds(16 * 60 + 30));
  nlohmann::json replay = PostSigned(create, kAdminId, kAdminSecret, when, "future-nonce");
  EXPECT_EQ(replay["Code"], "SignatureNonceUsed") << replay.dump();
  EXPECT_EQ(store_->ListKeys()->size(), 3u);
  // Once the Timestamp itself is out of the window, the request is refused for that.
  Advance(absl::Minutes(13));
  EXPECT_EQ(PostSigned(create, kAdminId, kAdminSecret, when, "future-nonce")["Code"],
            "InvalidTimeStamp.Expired");
}

TEST_F(HostileRequestsTest, OneAccessKeyFillingItsNonceBudgetDoesNotThrottleAnother) {
  Start(/*nonce_capacity_per_key=*/3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Admin({{"Action", "ListKeys"}})["TotalCount"], 2);
  }
  EXPECT_EQ(Admin({{"Action", "ListKeys"}})["Code"], "Throttling");
  nlohmann::json other = App({{"Action", "DescribeKey"}, {"KeyId", "alias/app"}});
  EXPECT_TRUE(other.contains("KeyMetadata")) << other.dump();
}

TEST_F(HostileRequestsTest, RefusedRequestsDoNotConsumeNonces) {
  Start(/*nonce_capacity_per_key=*/2);
  // A key allowed no action, signing many requests, fills nothing.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(PostSigned({{"Action", "ListKeys"}}, kNoneId, kNoneSecret)["Code"],
              "Forbidden.NoPermission");
  }
  // A request refused by the key policy leaves its nonce usable.
  EXPECT_EQ(App({{"Action", "DescribeKey"}, {"KeyId", "alias/other"}}, "n-1")["Code"],
            "Forbidden.NoPermission");
  EXPECT_EQ(App({{"Action", "DescribeKey"}, {"KeyId", "alias/app"}, {"Bogus", "1"}}, "n-1")["Code"],
            "InvalidParameter");
  nlohmann::json ok = App({{"Action", "DescribeKey"}, {"KeyId", "alias/app"}}, "n-1");
  EXPECT_TRUE(ok.contains("KeyMetadata")) << ok.dump();
  EXPECT_EQ(App({{"Action", "DescribeKey"}, {"KeyId", "alias/app"}}, "n-1")["Code"],
            "SignatureNonceUsed");
}

TEST_F(HostileRequestsTest, NonUtf8ParametersGetAJsonInvalidParameterAndALogLine) {
  // A store on disk: writing its JSON document is where a non-UTF-8 Description used to throw.
  Start(1000, std::string(getenv("TEST_TMPDIR")) + "/utf8-store");
  int status = 0;
  nlohmann::json r = PostSigned({{"Action", "CreateKey"}, {"Description", "caf\xff"}}, kAdminId,
                                kAdminSecret, absl::Time(), "", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(r["Code"], "InvalidParameter") << r.dump();
  EXPECT_TRUE(r.contains("RequestId"));
  EXPECT_EQ(store_->ListKeys()->size(), 2u);
  r = PostSigned({{"Action", "GenerateDataKey"}, {"KeyId", "alias/app"},
                  {"EncryptionContext.k\xc3", "v"}},
                 kAdminId, kAdminSecret, absl::Time(), "", &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(r["Code"], "InvalidParameter") << r.dump();
  std::string log = access_log_.str();
  size_t lines = 0;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    EXPECT_EQ(nlohmann::json::parse(line)["code"], "InvalidParameter") << line;
    ++lines;
  }
  EXPECT_EQ(lines, 2u);
}

TEST_F(HostileRequestsTest, ABlobOfAnotherCmkGetsOneAnswerWhateverItsContextOrState) {
  Start();
  std::string theirs = BlobOf(key_ids_[1], R"({"a":"1"})");
  auto decrypt = [&](const char* context) {
    nlohmann::json r = App({{"Action", "Decrypt"},
                            {"CiphertextBlob", ToWiped(theirs)},
                            {"EncryptionContext", context}});
    EXPECT_FALSE(r.contains("Plaintext"));
    return r.value("Code", "") + " / " + r.value("Message", "");
  };
  const std::string denied = decrypt(R"({"a":"1"})");
  EXPECT_EQ(denied.rfind("Forbidden.NoPermission", 0), 0u) << denied;
  EXPECT_EQ(decrypt(R"({"a":"wrong"})"), denied);
  ASSERT_TRUE(Admin({{"Action", "DisableKey"}, {"KeyId", ToWiped(key_ids_[1])}})
                  .contains("RequestId"));
  EXPECT_EQ(decrypt(R"({"a":"1"})"), denied);
  // ReEncrypt from their CMK into mine: same answer, wrong context or not.
  for (const char* context : {R"({"a":"1"})", R"({"a":"wrong"})"}) {
    nlohmann::json r = App({{"Action", "ReEncrypt"},
                            {"CiphertextBlob", ToWiped(theirs)},
                            {"DestinationKeyId", "alias/app"},
                            {"SourceEncryptionContext", context}});
    EXPECT_EQ(r.value("Code", "") + " / " + r.value("Message", ""), denied) << context;
  }
  // A blob naming a version no CMK has: the same answer.
  std::string unknown = BlobOf(key_ids_[0], "{}");
  std::string raw = *kms_envelope::testing::Base64Decode(unknown, 4096);
  raw[0] = raw[0] == 'a' ? 'b' : 'a';
  nlohmann::json r = App({{"Action", "Decrypt"},
                          {"CiphertextBlob", ToWiped(kms_envelope::testing::Base64Encode(raw))}});
  EXPECT_EQ(r.value("Code", "") + " / " + r.value("Message", ""), denied);
  // Its own blobs still open.
  std::string mine = BlobOf(key_ids_[0], R"({"a":"1"})");
  EXPECT_TRUE(App({{"Action", "Decrypt"},
                   {"CiphertextBlob", ToWiped(mine)},
                   {"EncryptionContext", R"({"a":"1"})"}})
                  .contains("Plaintext"));
}

TEST_F(HostileRequestsTest, ListingsShowOnlyTheCmksThePolicyAllows) {
  Start();
  nlohmann::json keys = PostSigned({{"Action", "ListKeys"}}, kListerId, kListerSecret);
  ASSERT_EQ(keys["TotalCount"], 1) << keys.dump();
  EXPECT_EQ(keys["Keys"]["Key"][0]["KeyId"], key_ids_[0]);
  nlohmann::json aliases = PostSigned({{"Action", "ListAliases"}}, kListerId, kListerSecret);
  ASSERT_EQ(aliases["TotalCount"], 1) << aliases.dump();
  EXPECT_EQ(aliases["Aliases"]["Alias"][0]["AliasName"], "alias/app");
  EXPECT_EQ(Admin({{"Action", "ListKeys"}})["TotalCount"], 2);
}

TEST_F(HostileRequestsTest, ASecurityTokenIsCheckedAgainstTheKeyNeverIgnored) {
  Start();
  auto list = [&](const char* id, const char* secret, const char* token) {
    std::vector<QueryParam> params = {{"Action", "ListKeys"}};
    if (token != nullptr) params.emplace_back("SecurityToken", token);
    nlohmann::json r = PostSigned(params, id, secret);
    return r.contains("TotalCount") ? std::string("OK") : r.value("Code", "?");
  };
  const std::string mismatch = "InvalidSecurityToken.MismatchWithAccessKey";
  EXPECT_EQ(list(kStsId, kStsSecret, kStsToken), "OK");
  EXPECT_EQ(list(kStsId, kStsSecret, "sts-token-2"), mismatch);
  EXPECT_EQ(list(kStsId, kStsSecret, nullptr), mismatch);
  EXPECT_EQ(list(kAdminId, kAdminSecret, "any-token"), mismatch);
  EXPECT_EQ(list(kAdminId, kAdminSecret, nullptr), "OK");
  // V3 carries it in the signed x-acs-security-token header.
  for (const char* token : {kStsToken, "wrong"}) {
    remote::RemoteKeyProviderOptions options;
    options.endpoint = Url();
    options.signature_version = remote::SignatureVersion::kV3;
    auto creds = remote::Credentials::New(kStsId, kStsSecret, token);
    ASSERT_TRUE(creds.ok());
    auto kms = remote::RemoteKeyProvider::New(std::move(options), *std::move(creds));
    ASSERT_TRUE(kms.ok());
    auto r = (*kms)->Call("ListKeys", {});
    EXPECT_EQ(r.ok() ? std::string("OK") : GetKmsErrorCode(r.status()),
              token == kStsToken ? std::string("OK") : mismatch);
  }
}

}  // namespace
}  // namespace testing
}  // namespace kms_envelope
