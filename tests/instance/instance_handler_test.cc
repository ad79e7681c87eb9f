// The instance API's server side called directly: wire bytes of our protobuf transcription
// against the field numbers of the SDKs' api.proto, and every refusal of a hostile request.
#include "kms_envelope/instance/instance_handler.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "kms_envelope/instance/client_key.h"
#include "kms_envelope/instance/instance_api.pb.h"
#include "kms_envelope/instance/request_signer.h"
#include "tests/instance/instance_test_util.h"

namespace kms_envelope {
namespace instance {
namespace {

using Headers = std::map<std::string, std::string>;

TEST(InstanceProtobufTest, MessagesUseTheSdkFieldNumbersOnTheWire) {
  // Bytes written by hand from the SDKs' api.proto: tag = field << 3 | wire type.
  api::AdvanceGenerateDataKeyRequest g;
  g.set_keyid("k");
  g.set_numberofbytes(32);
  g.set_aad("a");
  EXPECT_EQ(g.SerializeAsString(), std::string("\x0a\x01k\x10\x20\x1a\x01" "a", 8));
  api::AdvanceDecryptRequest d;
  d.set_ciphertextblob("B");
  d.set_keyid("k");
  d.set_aad("a");
  EXPECT_EQ(d.SerializeAsString(), std::string("\x0a\x01" "B\x12\x01k\x22\x01" "a", 9));
  api::AdvanceEncryptRequest e;
  e.set_keyid("k");
  e.set_plaintext("p");
  e.set_aad("a");
  EXPECT_EQ(e.SerializeAsString(), std::string("\x0a\x01k\x12\x01p\x22\x01" "a", 9));
  api::Error err;
  err.set_statuscode(400);
  err.set_errorcode("X");
  err.set_errormessage("m");
  err.set_requestid("r");
  EXPECT_EQ(err.SerializeAsString(), std::string("\x08\x90\x03\x12\x01X\x1a\x01m\x22\x01r", 12));
  // Responses: KeyVersionId is field 7 of AdvanceGenerateDataKeyResponse, 6 of Decrypt's.
  api::AdvanceGenerateDataKeyResponse gr;
  ASSERT_TRUE(gr.ParseFromString(std::string("\x1a\x02pk\x22\x01" "b\x3a\x01v", 10)));
  EXPECT_EQ(gr.plaintext(), "pk");
  EXPECT_EQ(gr.ciphertextblob(), "b");
  EXPECT_EQ(gr.keyversionid(), "v");
  api::AdvanceDecryptResponse dr;
  ASSERT_TRUE(dr.ParseFromString(std::string("\x12\x02pk\x32\x01v", 7)));
  EXPECT_EQ(dr.plaintext(), "pk");
  EXPECT_EQ(dr.keyversionid(), "v");
}

class InstanceHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static testing::ClientKeyFiles* files = [] {
      auto* f = new testing::ClientKeyFiles(
          *testing::MakeClientKeyFiles(testing::FreshDir("instance_handler"), "KAAP.h"));
      return f;
    }();
    auto key = ClientKey::FromFiles(files->json_path, files->password_path);
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<ClientKey>(std::move(key).value());
    local::LocalKeyStoreOptions so;
    so.in_memory = true;
    store_ = std::shared_ptr<local::LocalKeyStore>(*local::LocalKeyStore::Open(so));
    key0_ = store_->CreateKey("a")->key_id;
    key1_ = store_->CreateKey("b")->key_id;
    ASSERT_TRUE(store_->CreateAlias("alias/a", key0_).ok());
    InstanceHandlerOptions o;
    o.store = store_;
    ASSERT_TRUE(o.policy.Add("KAAP.h", files->public_pem, {"alias/a", key1_}).ok());
    handler_ = *InstanceHandler::New(std::move(o));
  }

  Headers Signed(const std::string& api, const std::string& body) {
    InstanceHeaders h = MakeInstanceHeaders(api, body, key_->key_id(), absl::Now());
    Headers out(h.x_kms.begin(), h.x_kms.end());
    out["date"] = h.date;
    out["content-type"] = h.content_type;
    out["content-sha256"] = h.content_sha256;
    out["authorization"] = *SignStringToSign(key_->private_key(), StringToSign(h));
    return out;
  }
  // The ErrorCode of the reply ("" for 200).
  std::string Code(const Headers& h, const std::string& body, std::string* reply = nullptr) {
    InstanceReply r = handler_->Handle(h, body);
    if (reply != nullptr) reply->assign(r.body->data(), r.body->size());
    if (r.http_status == 200) return "";
    api::Error e;
    EXPECT_TRUE(e.ParseFromArray(r.body->data(), static_cast<int>(r.body->size())));
    EXPECT_EQ(e.statuscode(), r.http_status);
    return e.errorcode();
  }
  std::string Call(const std::string& api, const std::string& body, std::string* reply = nullptr) {
    return Code(Signed(api, body), body, reply);
  }
  api::AdvanceGenerateDataKeyResponse GenerateDataKey(const std::string& key_id) {
    api::AdvanceGenerateDataKeyRequest g;
    g.set_keyid(key_id);
    std::string reply;
    EXPECT_EQ(Call("AdvanceGenerateDataKey", g.SerializeAsString(), &reply), "");
    api::AdvanceGenerateDataKeyResponse r;
    EXPECT_TRUE(r.ParseFromString(reply));
    return r;
  }

  std::unique_ptr<ClientKey> key_;
  std::shared_ptr<local::LocalKeyStore> store_;
  std::string key0_, key1_;
  std::unique_ptr<InstanceHandler> handler_;
};

TEST_F(InstanceHandlerTest, GenerateDataKeyAnswersEveryResponseField) {
  api::AdvanceGenerateDataKeyResponse r = GenerateDataKey("alias/a");
  EXPECT_EQ(r.keyid(), key0_);
  EXPECT_EQ(r.plaintext().size(), 32u);  // NumberOfBytes 0 = the default 32
  EXPECT_EQ(r.iv().size(), 12u);
  EXPECT_EQ(r.algorithm(), "AES_GCM");
  EXPECT_EQ(r.keyversionid().size(), 36u);
  EXPECT_EQ(r.ciphertextblob().substr(0, 36), r.keyversionid());
  EXPECT_FALSE(r.requestid().empty());
}

TEST_F(InstanceHandlerTest, HostileBodiesAreRefusedAsInvalidParameter) {
  EXPECT_EQ(Call("AdvanceDecrypt", "\xff\xff\xff"), "InvalidParameter");  // not protobuf
  api::AdvanceGenerateDataKeyRequest g;
  g.set_keyid("alias/a");
  std::string with_unknown = g.SerializeAsString() + std::string("\x48\x01", 2);  // field 9
  EXPECT_EQ(Call("AdvanceGenerateDataKey", with_unknown), "InvalidParameter");
  g.set_numberofbytes(2000);
  EXPECT_EQ(Call("AdvanceGenerateDataKey", g.SerializeAsString()), "InvalidParameter");
  g.set_numberofbytes(16);
  g.set_aad(std::string(kMaxInstanceAadSize + 1, 'a'));
  EXPECT_EQ(Call("AdvanceGenerateDataKey", g.SerializeAsString()), "InvalidParameter");
  api::AdvanceEncryptRequest e;
  e.set_keyid("alias/a");
  e.set_plaintext("p");
  e.set_iv("0123456789ab");
  EXPECT_EQ(Call("AdvanceEncrypt", e.SerializeAsString()), "InvalidParameter");
  e.clear_iv();
  e.set_algorithm("RSAES_OAEP_SHA_256");
  EXPECT_EQ(Call("AdvanceEncrypt", e.SerializeAsString()), "InvalidParameter");
  e.set_algorithm("AES_GCM");
  EXPECT_EQ(Call("AdvanceEncrypt", e.SerializeAsString()), "");
  api::AdvanceDecryptRequest d;
  d.set_ciphertextblob(GenerateDataKey("alias/a").ciphertextblob());
  d.set_paddingmode("PKCS7");
  EXPECT_EQ(Call("AdvanceDecrypt", d.SerializeAsString()), "InvalidParameter");
  EXPECT_EQ(Call("AdvanceGenerateDataKeyPair", ""), "InvalidAction.NotFound");
  EXPECT_EQ(Call("AdvanceEncrypt", std::string(kMaxInstanceRequestSize + 1, '\0')),
            "InvalidParameter");
}

TEST_F(InstanceHandlerTest, HeaderChecks) {
  api::AdvanceGenerateDataKeyRequest g;
  g.set_keyid("alias/a");
  const std::string body = g.SerializeAsString();
  EXPECT_EQ(Code(Signed("AdvanceGenerateDataKey", body), body), "");
  Headers h = Signed("AdvanceGenerateDataKey", "other body");  // signed, but not this body
  EXPECT_EQ(Code(h, body), "InvalidParameter");
  h = Signed("AdvanceGenerateDataKey", body);
  h["x-kms-extra"] = "1";
  EXPECT_EQ(Code(h, body), "InvalidParameter");
  h = Signed("AdvanceGenerateDataKey", body);
  h.erase("x-kms-acccesskeyid");
  h["x-kms-accesskeyid"] = "KAAP.h";  // the dictionary spelling is not the protocol's
  EXPECT_EQ(Code(h, body), "InvalidParameter");
  h = Signed("AdvanceGenerateDataKey", body);
  h.erase("date");
  EXPECT_EQ(Code(h, body), "MissingParameter");
  h = Signed("AdvanceGenerateDataKey", body);
  h["x-kms-apiversion"] = "dkms-gcs-0.1";
  EXPECT_EQ(Code(h, body), "InvalidParameter");
  h = Signed("AdvanceGenerateDataKey", body);
  h["content-type"] = "application/json";
  EXPECT_EQ(Code(h, body), "InvalidParameter");
  h = Signed("AdvanceGenerateDataKey", body);
  h["x-kms-apiname"] = "AdvanceEncrypt";  // not what was signed
  EXPECT_EQ(Code(h, body), "SignatureDoesNotMatch");
  h = Signed("AdvanceGenerateDataKey", body);
  h["date"] = "yesterday";
  EXPECT_EQ(Code(h, body), "InvalidParameter");
  // Request bytes echoed in the message stay valid UTF-8, so the Error still parses (fuzz find).
  h = Signed("AdvanceGenerateDataKey", body);
  h["x-kms-a\xff\xfe"] = "1";
  EXPECT_EQ(Code(h, body), "InvalidParameter");
}

TEST_F(InstanceHandlerTest, DecryptChecksTheBlobsCmkAndAnyKeyIdSent) {
  api::AdvanceGenerateDataKeyResponse dk = GenerateDataKey(key1_);
  api::AdvanceDecryptRequest d;
  d.set_ciphertextblob(dk.ciphertextblob());
  d.set_keyid(key1_);
  std::string reply;
  EXPECT_EQ(Call("AdvanceDecrypt", d.SerializeAsString(), &reply), "");
  d.set_iv(dk.iv());  // the Iv AdvanceGenerateDataKey returned, as the SDKs' sample sends it
  EXPECT_EQ(Call("AdvanceDecrypt", d.SerializeAsString(), &reply), "");
  d.set_iv("0123456789ab");
  EXPECT_EQ(Call("AdvanceDecrypt", d.SerializeAsString(), &reply), "InvalidParameter");
  d.clear_iv();
  d.set_keyid("alias/a");  // names another (allowed) CMK than the blob's
  EXPECT_EQ(Call("AdvanceDecrypt", d.SerializeAsString(), &reply), "Rejected.KeyIdNotMatch");
  EXPECT_EQ(reply.find(dk.plaintext()), std::string::npos);
}

}  // namespace
}  // namespace instance
}  // namespace kms_envelope
