// `serve --tls-cert/--tls-key`: HTTPS with a self-signed certificate made here (OpenSSL). The
// client verifies it when given the certificate as its CA bundle, and refuses it (without
// retrying) when not.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>

#include "tests/server/server_test_util.h"

namespace kms_envelope {
namespace testing {
namespace {

// Writes a P-256 key and a self-signed certificate for 127.0.0.1 (SAN IP) as PEM files.
void MakeSelfSignedCert(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  ASSERT_NE(pkey, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair<int, const char*>{NID_subject_alt_name, "IP:127.0.0.1"},
                            {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  ASSERT_GT(X509_sign(x, pkey, EVP_sha256()), 0);
  FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

class TlsTest : public ServerFixture {
 protected:
  void SetUp() override {
    std::string dir = std::getenv("TEST_TMPDIR");
    cert_ = dir + "/cert.pem";
    key_ = dir + "/key.pem";
    MakeSelfSignedCert(cert_, key_);
    StartServer({}, cert_, key_);
  }
  std::string cert_, key_;
};

TEST_F(TlsTest, ServesHttpsToAClientThatTrustsTheCertificate) {
  auto kms = Client(kAdminId, kAdminSecret, remote::SignatureVersion::kV3, nullptr,
                    kms_api::RetryPolicy(), Url(/*tls=*/true), cert_);
  auto created = kms->Call("CreateKey", {});
  ASSERT_TRUE(created.ok()) << created.status();
  GenerateDataKeyRequest gen;
  std::string key_id = (*created)["KeyMetadata"]["KeyId"];
  gen.key_id = key_id;
  auto dk = kms->GenerateDataKey(gen);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->plaintext.size(), 32u);
}

TEST_F(TlsTest, ClientRefusesAnUntrustedCertificateWithoutRetrying) {
  RecordingClock clock;
  auto kms = Client(kAdminId, kAdminSecret, remote::SignatureVersion::kV1, &clock,
                    kms_api::RetryPolicy(), Url(/*tls=*/true));
  auto r = kms->Call("ListKeys", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(kms->attempts(), 1u);
  EXPECT_TRUE(clock.sleeps.empty());
  EXPECT_EQ(server_->requests(), 0u);
}

}  // namespace
}  // namespace testing
}  // namespace kms_envelope
