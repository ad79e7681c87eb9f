// Every parameter is understood or refused: the real KmsServer on loopback, driven by signed
// requests shaped the way the official SDKs shape them (the Tea/Darabonba clients flatten a map
// parameter into `EncryptionContext.<key>=<value>`; the API reference sends a JSON string).
#include <gtest/gtest.h>

#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/xml_response.h"
#include "tests/server/server_test_util.h"

namespace kms_envelope {
namespace testing {
namespace {

using kms_api::QueryParam;
using kms_api::ToWiped;

class RequestRulesTest : public ServerFixture {
 protected:
  void SetUp() override {
    TestKmsServerOptions o;
    o.key_descriptions = {"first", "second"};
    o.add_access_keys = [](const std::vector<std::string>&, server::AccessPolicy& policy) {
      return policy.Add(kAdminId, kAdminSecret, {"*"}, {"*"});
    };
    StartCustomServer(std::move(o));
  }
  nlohmann::json Admin(std::vector<QueryParam> params, int* status = nullptr) {
    return PostSigned(std::move(params), kAdminId, kAdminSecret, absl::Time(), "", status);
  }
  // GenerateDataKey under the first CMK with `context_params`; returns the CiphertextBlob.
  std::string NewBlob(std::vector<QueryParam> context_params) {
    context_params.insert(context_params.begin(),
                          {{"Action", "GenerateDataKey"}, {"KeyId", ToWiped(key_ids_[0])}});
    nlohmann::json r = Admin(std::move(context_params));
    EXPECT_TRUE(r.contains("CiphertextBlob")) << r.dump();
    return r.value("CiphertextBlob", "");
  }
  std::string DecryptCode(const std::string& blob, std::vector<QueryParam> context_params) {
    context_params.insert(context_params.begin(),
                          {{"Action", "Decrypt"}, {"CiphertextBlob", ToWiped(blob)}});
    nlohmann::json r = Admin(std::move(context_params));
    return r.contains("Plaintext") ? "OK" : r.value("Code", "?");
  }
};

TEST_F(RequestRulesTest, AFlattenedContextIsBoundAndADifferentOneIsRefused) {
  std::string blob = NewBlob({{"EncryptionContext.Example", "Example"}});
  EXPECT_EQ(DecryptCode(blob, {{"EncryptionContext.Example", "Other"}}), "InvalidCiphertext");
  EXPECT_EQ(DecryptCode(blob, {}), "InvalidCiphertext");
  EXPECT_EQ(DecryptCode(blob, {{"EncryptionContext.Example", "Example"},
                               {"EncryptionContext.Extra", "x"}}),
            "InvalidCiphertext");
  EXPECT_EQ(DecryptCode(blob, {{"EncryptionContext.Example", "Example"}}), "OK");
  // Both styles name the same context.
  EXPECT_EQ(DecryptCode(blob, {{"EncryptionContext", R"({"Example":"Example"})"}}), "OK");
}

TEST_F(RequestRulesTest, AJsonContextOpensWithTheSameFlattenedContext) {
  std::string blob = NewBlob({{"EncryptionContext", R"({"tenant":"a","dotted.key":"v 1"})"}});
  EXPECT_EQ(DecryptCode(blob, {{"EncryptionContext.tenant", "a"},
                               {"EncryptionContext.dotted.key", "v 1"}}),
            "OK");
  EXPECT_EQ(DecryptCode(blob, {{"EncryptionContext.tenant", "b"},
                               {"EncryptionContext.dotted.key", "v 1"}}),
            "InvalidCiphertext");
}

TEST_F(RequestRulesTest, BothStylesInOneRequestAreRefusedNotMerged) {
  nlohmann::json r = Admin({{"Action", "GenerateDataKey"},
                            {"KeyId", ToWiped(key_ids_[0])},
                            {"EncryptionContext", R"({"a":"1"})"},
                            {"EncryptionContext.b", "2"}});
  EXPECT_EQ(r["Code"], "InvalidParameter");
  EXPECT_NE(r["Message"].get<std::string>().find("EncryptionContext"), std::string::npos);
  EXPECT_EQ(Admin({{"Action", "GenerateDataKey"},
                   {"KeyId", ToWiped(key_ids_[0])},
                   {"EncryptionContext.", "empty key"}})["Code"],
            "InvalidParameter");
}

TEST_F(RequestRulesTest, ReEncryptTakesBothContextsFlattened) {
  std::string blob = NewBlob({{"EncryptionContext.from", "a"}});
  nlohmann::json moved = Admin({{"Action", "ReEncrypt"},
                                {"CiphertextBlob", ToWiped(blob)},
                                {"DestinationKeyId", ToWiped(key_ids_[1])},
                                {"SourceEncryptionContext.from", "a"},
                                {"DestinationEncryptionContext.to", "b"}});
  ASSERT_TRUE(moved.contains("CiphertextBlob")) << moved.dump();
  std::string moved_blob = moved["CiphertextBlob"];
  EXPECT_EQ(DecryptCode(moved_blob, {}), "InvalidCiphertext");
  EXPECT_EQ(DecryptCode(moved_blob, {{"EncryptionContext", R"({"to":"b"})"}}), "OK");
  // A wrong flattened source context is not ignored either.
  EXPECT_EQ(Admin({{"Action", "ReEncrypt"},
                   {"CiphertextBlob", ToWiped(blob)},
                   {"DestinationKeyId", ToWiped(key_ids_[1])},
                   {"SourceEncryptionContext.from", "z"}})["Code"],
            "InvalidCiphertext");
}

TEST_F(RequestRulesTest, AParameterTheActionDoesNotDefineIsRefusedByName) {
  struct Case {
    std::vector<QueryParam> params;
    std::string named;
  };
  std::vector<Case> cases = {
      {{{"Action", "Decrypt"}, {"CiphertextBlob", "AAAA"}, {"EncryptionContex", "{}"}},
       "EncryptionContex"},
      {{{"Action", "GenerateDataKey"}, {"KeyId", ToWiped(key_ids_[0])}, {"DryRun", "false"}},
       "DryRun"},
      {{{"Action", "ListKeys"}, {"Filters", "[]"}}, "Filters"},
      // A map parameter of another action.
      {{{"Action", "Decrypt"}, {"CiphertextBlob", "AAAA"}, {"SourceEncryptionContext.a", "1"}},
       "SourceEncryptionContext.a"},
      {{{"Action", "CreateKey"}, {"Tags", "[]"}}, "Tags"},
  };
  for (Case& c : cases) {
    nlohmann::json r = Admin(c.params);
    EXPECT_EQ(r["Code"], "InvalidParameter") << c.named << ": " << r.dump();
    EXPECT_NE(r.value("Message", "").find(c.named), std::string::npos) << r.dump();
  }
  EXPECT_EQ(store_->ListKeys()->size(), 2u);  // the refused CreateKey created nothing
}

TEST_F(RequestRulesTest, CreateKeyAttributesAreUnderstoodNotIgnored) {
  nlohmann::json ok = Admin({{"Action", "CreateKey"},
                             {"KeySpec", "Aliyun_AES_256"},
                             {"KeyUsage", "ENCRYPT/DECRYPT"},
                             {"Origin", "Aliyun_KMS"},
                             {"ProtectionLevel", "SOFTWARE"}});
  EXPECT_EQ(ok["KeyMetadata"]["KeySpec"], "Aliyun_AES_256") << ok.dump();
  for (auto [name, value] : std::vector<std::pair<const char*, const char*>>{
           {"KeySpec", "RSA_2048"}, {"ProtectionLevel", "HSM"}, {"Origin", "EXTERNAL"}}) {
    nlohmann::json r = Admin({{"Action", "CreateKey"}, {name, value}});
    EXPECT_EQ(r["Code"], "InvalidParameter") << name;
  }
}

TEST_F(RequestRulesTest, CommonParametersOfTheSdksAreAccepted) {
  nlohmann::json r = Admin({{"Action", "ListKeys"},
                            {"Format", "json"},
                            {"RegionId", "cn-hangzhou"}});
  EXPECT_EQ(r["TotalCount"], 2) << r.dump();
  EXPECT_EQ(Admin({{"Action", "ListKeys"}, {"Format", "yaml"}})["Code"], "InvalidParameter");
  // SecurityToken is understood too: checked against the key (hostile_requests_test).
  EXPECT_EQ(Admin({{"Action", "ListKeys"}, {"SecurityToken", "t"}})["Code"],
            "InvalidSecurityToken.MismatchWithAccessKey");
}

TEST_F(RequestRulesTest, XmlAnswersUseTheReferenceRootAndElementNames) {
  std::string body = SignedV1Query({{"Action", "GenerateDataKey"},
                                    {"KeyId", ToWiped(key_ids_[0])},
                                    {"Format", "XML"}},
                                   "POST", kAdminId, kAdminSecret, ServerNow());
  httplib::Client http("127.0.0.1", server_->port());
  auto res = http.Post("/", body, "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?><KMS><", 0), 0u)
      << res->body;
  kms_api::WipedJson parsed;
  ASSERT_TRUE(kms_api::ParseXmlResponse(res->body, &parsed).ok()) << res->body;
  std::vector<std::string> names;
  for (auto it = parsed.begin(); it != parsed.end(); ++it) names.emplace_back(it.key());
  EXPECT_EQ(names, (std::vector<std::string>{"CiphertextBlob", "KeyId", "KeyVersionId",
                                             "Plaintext", "RequestId"}));
}

}  // namespace
}  // namespace testing
}  // namespace kms_envelope
