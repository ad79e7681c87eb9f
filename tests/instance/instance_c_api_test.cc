// kmse_instance_provider_open: the C API over the instance gateway API (our server, loopback
// HTTPS), through the same calls C programs make.
#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "kms_envelope/c/kms_envelope.h"
#include "tests/instance/instance_test_util.h"

namespace kms_envelope {
namespace {

TEST(InstanceCApiTest, GeneratesDecryptsAndSealsThroughAnInstance) {
  std::string dir = testing::FreshDir("instance_c_api");
  absl::StatusOr<testing::ClientKeyFiles> ck = testing::MakeClientKeyFiles(dir, "KAAP.c");
  ASSERT_TRUE(ck.ok());
  testing::InstanceTestServerOptions o;
  o.client_keys = {{*ck, {"*"}}};
  absl::StatusOr<testing::InstanceTestServer> s = testing::StartInstanceServer(dir, std::move(o));
  ASSERT_TRUE(s.ok()) << s.status();
  kmse_error err;
  kmse_provider* kms = nullptr;
  ASSERT_EQ(kmse_instance_provider_open(s->endpoint().c_str(), ck->json_path.c_str(),
                                        ck->password_path.c_str(), s->tls.cert_path.c_str(),
                                        &kms, &err),
            KMSE_OK)
      << err.message;
  uint8_t key[32], blob[512], back[32];
  size_t key_len = 0, blob_len = 0, back_len = 0;
  kmse_key_info info;
  ASSERT_EQ(kmse_generate_data_key(kms, s->key_ids[0].c_str(), 0, "{\"k\":\"v\"}", key,
                                   sizeof(key), &key_len, blob, sizeof(blob), &blob_len, &info,
                                   &err),
            KMSE_OK)
      << err.message;
  EXPECT_EQ(std::string(info.key_id), s->key_ids[0]);
  ASSERT_EQ(kmse_decrypt(kms, blob, blob_len, "{\"k\":\"v\"}", back, sizeof(back), &back_len,
                         &info, &err),
            KMSE_OK)
      << err.message;
  ASSERT_EQ(back_len, key_len);
  EXPECT_EQ(std::memcmp(back, key, key_len), 0);
  EXPECT_NE(kmse_decrypt(kms, blob, blob_len, "{\"k\":\"w\"}", back, sizeof(back), &back_len,
                         &info, &err),
            KMSE_OK);
  EXPECT_EQ(std::string(err.kms_code), "InvalidCiphertext");
  kmse_provider_free(kms);
  // Missing arguments and a wrong password are reported, not crashed on.
  EXPECT_NE(kmse_instance_provider_open(s->endpoint().c_str(), nullptr, nullptr, nullptr, &kms,
                                        &err),
            KMSE_OK);
  EXPECT_NE(kmse_instance_provider_open(s->endpoint().c_str(), ck->json_path.c_str(),
                                        ck->json_path.c_str(), nullptr, &kms, &err),
            KMSE_OK);
  EXPECT_EQ(std::string(err.kms_code), "InvalidParameter");
}

}  // namespace
}  // namespace kms_envelope
