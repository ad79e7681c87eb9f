// The instance provider inside the library's envelopes: sealing and opening, one message wrapped
// under an instance CMK and a 2016-01-20 CMK (both APIs of one KmsServer over loopback HTTPS)
// that opens through either provider alone, and the data key cache in front of it.
#include <memory>

#include "gtest/gtest.h"
#include "kms_envelope/cache/caching_key_provider.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/envelope/envelope.h"
#include "kms_envelope/instance/instance_key_provider.h"
#include "kms_envelope/remote/remote_key_provider.h"
#include "tests/instance/instance_test_util.h"

namespace kms_envelope {
namespace {

using envelope::Envelope;
using envelope::EnvelopeOptions;

class InstanceEnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = testing::FreshDir("instance_envelope");
    absl::StatusOr<testing::ClientKeyFiles> ck = testing::MakeClientKeyFiles(dir, "KAAP.env");
    ASSERT_TRUE(ck.ok());
    testing::InstanceTestServerOptions o;
    o.key_descriptions = {"instance cmk", "rpc cmk"};
    o.client_keys = {{*ck, {"key:0"}}};
    o.rpc_access_key = true;
    absl::StatusOr<testing::InstanceTestServer> s = testing::StartInstanceServer(dir, std::move(o));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::make_unique<testing::InstanceTestServer>(std::move(s).value());
    absl::StatusOr<instance::ClientKey> key =
        instance::ClientKey::FromFiles(ck->json_path, ck->password_path);
    ASSERT_TRUE(key.ok());
    instance::InstanceKeyProviderOptions io;
    io.endpoint = server_->endpoint();
    io.ca_file = server_->tls.cert_path;
    auto ip = instance::InstanceKeyProvider::New(std::move(io), std::move(key).value());
    ASSERT_TRUE(ip.ok());
    instance_ = std::move(ip).value();
    remote::RemoteKeyProviderOptions ro;
    ro.endpoint = server_->endpoint();
    ro.ca_file = server_->tls.cert_path;
    auto rp = remote::RemoteKeyProvider::New(std::move(ro),
                                             *remote::Credentials::New("rpc", "rpc-secret"));
    ASSERT_TRUE(rp.ok()) << rp.status();
    rpc_ = std::move(rp).value();
  }

  std::unique_ptr<Envelope> Opener(std::shared_ptr<KeyProvider> p) {
    EnvelopeOptions o;
    o.decrypt_providers = {std::move(p)};
    return *Envelope::New(std::move(o));
  }

  std::unique_ptr<testing::InstanceTestServer> server_;
  std::shared_ptr<instance::InstanceKeyProvider> instance_;
  std::shared_ptr<remote::RemoteKeyProvider> rpc_;
};

TEST_F(InstanceEnvelopeTest, AMessageUnderAnInstanceCmkAndARpcCmkOpensThroughEither) {
  EncryptionContext ctx = *EncryptionContext::FromPairs({{"tenant", "t1"}});
  EnvelopeOptions o;
  o.primary = {instance_, server_->key_ids[0]};
  o.additional = {{rpc_, server_->key_ids[1]}};
  absl::StatusOr<std::unique_ptr<Envelope>> env = Envelope::New(std::move(o));
  ASSERT_TRUE(env.ok()) << env.status();
  const std::string payload(5000, 'p');
  absl::StatusOr<std::string> sealed = (*env)->Seal(payload, ctx);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  for (std::shared_ptr<KeyProvider> p :
       {std::shared_ptr<KeyProvider>(instance_), std::shared_ptr<KeyProvider>(rpc_)}) {
    absl::StatusOr<std::string> opened = Opener(p)->Open(*sealed, ctx);
    ASSERT_TRUE(opened.ok()) << p->provider_id() << ": " << opened.status();
    EXPECT_EQ(*opened, payload);
  }
  EncryptionContext other = *EncryptionContext::FromPairs({{"tenant", "t2"}});
  EXPECT_FALSE(Opener(instance_)->Open(*sealed, other).ok());
}

TEST_F(InstanceEnvelopeTest, TheCacheInFrontOfTheInstanceProviderSavesGatewayCalls) {
  auto cache = cache::CachingKeyProvider::NewBorrowing(instance_.get(), {});
  ASSERT_TRUE(cache.ok()) << cache.status();
  std::shared_ptr<KeyProvider> cached = std::move(cache).value();
  EnvelopeOptions o;
  o.primary = {cached, server_->key_ids[0]};
  auto env = Envelope::New(std::move(o));
  ASSERT_TRUE(env.ok());
  std::vector<std::string> sealed;
  for (int i = 0; i < 5; ++i) {
    auto s = (*env)->Seal("message " + std::to_string(i), EncryptionContext::Empty());
    ASSERT_TRUE(s.ok()) << s.status();
    sealed.push_back(*s);
  }
  EXPECT_EQ(instance_->attempts(), 1u);  // one AdvanceGenerateDataKey for five messages
  for (int i = 0; i < 5; ++i) {
    auto opened = Opener(instance_)->Open(sealed[i], EncryptionContext::Empty());
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, "message " + std::to_string(i));
  }
}

}  // namespace
}  // namespace kms_envelope
