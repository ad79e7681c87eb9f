// Envelope over the remote provider: seal through `KmsServer` with RemoteKeyProvider, open again
// through it; a tampered message and a wrong context are refused.
#include <gtest/gtest.h>

#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/kms_error.h"
#include "tests/server/server_test_util.h"

namespace kms_envelope {
namespace testing {
namespace {

class EnvelopeRemoteTest : public ServerFixture {
 protected:
  void SetUp() override { StartServer(); }
};

TEST_F(EnvelopeRemoteTest, SealsAndOpensThroughTheServer) {
  auto admin = Client();
  auto created = admin->Call("CreateKey", {});
  ASSERT_TRUE(created.ok()) << created.status();
  std::string key_id = (*created)["KeyMetadata"]["KeyId"];
  for (auto version : {remote::SignatureVersion::kV1, remote::SignatureVersion::kV3}) {
    std::shared_ptr<KeyProvider> kms = Client(kAdminId, kAdminSecret, version);
    envelope::EnvelopeOptions options;
    options.primary = {kms, key_id};
    auto env = envelope::Envelope::New(std::move(options));
    ASSERT_TRUE(env.ok()) << env.status();
    auto ctx = EncryptionContext::FromJson(R"({"tenant":"acme"})");
    ASSERT_TRUE(ctx.ok());
    std::string message(100000, 'm');
    auto sealed = (*env)->Seal(message, *ctx);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->find(message.substr(0, 64)), std::string::npos);
    auto opened = (*env)->Open(*sealed, *ctx);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, message);
    auto other = EncryptionContext::FromJson(R"({"tenant":"other"})");
    EXPECT_FALSE((*env)->Open(*sealed, *other).ok());
    std::string tampered = *sealed;
    tampered[tampered.size() / 2] ^= 0x01;
    EXPECT_FALSE((*env)->Open(tampered, *ctx).ok());
  }
}

}  // namespace
}  // namespace testing
}  // namespace kms_envelope
