// ClientKey files as Alibaba Cloud delivers them ({"KeyId", "PrivateKeyData": base64 PKCS#12}
// plus a password file), written here by the openssl CLI in both the OpenSSL 3 default format
// and the legacy RC2-40/3DES format that Java and Go PKCS#12 readers use.
#include "kms_envelope/instance/client_key.h"

#include <openssl/crypto.h>
#include <sys/resource.h>
#include <unistd.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "kms_envelope/instance/request_signer.h"
#include "kms_envelope/kms_error.h"
#include "tests/instance/instance_test_util.h"

namespace kms_envelope {
namespace instance {
namespace {

using testing::ClientKeyFiles;
using testing::FreshDir;
using testing::MakeClientKeyFiles;
using testing::ReadFile;
using testing::WriteFile;

TEST(ClientKeyTest, LoadsAnOpensslWrittenClientKeyAndSignsVerifiably) {
  std::string dir = FreshDir("ck_modern");
  absl::StatusOr<ClientKeyFiles> f = MakeClientKeyFiles(dir, "KAAP.modern");
  ASSERT_TRUE(f.ok()) << f.status();
  // CRYPTO_secure_used() dereferences the heap lock: only call it once the heap exists.
  const size_t secure_before = CRYPTO_secure_malloc_initialized() ? CRYPTO_secure_used() : 0;
  absl::StatusOr<ClientKey> key = ClientKey::FromFiles(f->json_path, f->password_path);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->key_id(), "KAAP.modern");
  // Root (or a memlock limit above the arena) can mlock: the secure heap must then be running
  // and hold the private RSA components.
  struct rlimit memlock;
  const bool can_lock = ::geteuid() == 0 || (::getrlimit(RLIMIT_MEMLOCK, &memlock) == 0 &&
                                             memlock.rlim_cur >= 2 * kSecureHeapSize);
  if (kSecureHeapInThisBuild && can_lock) {
    EXPECT_TRUE(key->secure_heap());
  }
  if (key->secure_heap()) {
    EXPECT_GT(CRYPTO_secure_used(), secure_before);
  }
  absl::StatusOr<EvpPkeyPtr> pub = PublicKeyFromPem(f->public_pem);
  ASSERT_TRUE(pub.ok());
  absl::StatusOr<std::string> auth = SignStringToSign(key->private_key(), "text");
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE(VerifyAuthorization(pub->get(), "text", *auth));
}

TEST(ClientKeyTest, LoadsTheLegacyRc2And3DesPkcs12ThatGoAndJavaReadersUse) {
  std::string dir = FreshDir("ck_legacy");
  absl::StatusOr<ClientKeyFiles> f = MakeClientKeyFiles(dir, "KAAP.legacy", /*legacy=*/true);
  ASSERT_TRUE(f.ok()) << f.status();
  absl::StatusOr<ClientKey> key = ClientKey::FromFiles(f->json_path, f->password_path);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->key_id(), "KAAP.legacy");
}

TEST(ClientKeyTest, RefusesWrongPasswordUnknownMembersAndMissingFields) {
  std::string dir = FreshDir("ck_bad");
  absl::StatusOr<ClientKeyFiles> f = MakeClientKeyFiles(dir, "KAAP.bad");
  ASSERT_TRUE(f.ok());
  absl::StatusOr<std::string> json = ReadFile(f->json_path);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(GetKmsErrorCode(ClientKey::FromJson(*json, "wrong").status()), "InvalidParameter");
  EXPECT_TRUE(ClientKey::FromJson(*json, f->password).ok());
  std::string extra = *json;
  extra.insert(1, "\"Region\": \"cn-hangzhou\", ");
  EXPECT_FALSE(ClientKey::FromJson(extra, f->password).ok());
  EXPECT_FALSE(ClientKey::FromJson("{\"KeyId\": \"KAAP.x\"}", f->password).ok());
  EXPECT_FALSE(ClientKey::FromJson("{\"KeyId\": \"KAAP.x\", \"PrivateKeyData\": \"@@\"}",
                                   f->password).ok());
  EXPECT_FALSE(ClientKey::FromJson("[]", f->password).ok());
  EXPECT_FALSE(ClientKey::FromJson(*json, "").ok());
  EXPECT_FALSE(ClientKey::FromFiles(dir + "/missing.json", f->password_path).ok());
}

TEST(ClientKeyTest, RefusesRsaKeysShorterThan2048Bits) {
  std::string dir = FreshDir("ck_short");
  absl::StatusOr<ClientKeyFiles> f =
      MakeClientKeyFiles(dir, "KAAP.short", /*legacy=*/false, /*bits=*/1024);
  ASSERT_TRUE(f.ok());
  absl::StatusOr<ClientKey> key = ClientKey::FromFiles(f->json_path, f->password_path);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("2048"), std::string::npos);
  EXPECT_FALSE(PublicKeyFromPem(f->public_pem).ok());
  EXPECT_FALSE(PublicKeyFromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
}

// Alibaba's own vectors: the Java instance SDK's unit test signs "string to sign" with a PEM key
// and with a ClientKey (PKCS#12 written by Alibaba's tooling, certificates under
// pbeWithSHA1And40BitRC2-CBC, password "1234") and records both "Bearer ..." values. RSA
// PKCS#1 v1.5 is deterministic, so our signer must produce exactly those strings.
TEST(ClientKeyTest, ReproducesTheJavaSdksSignatureVectorsWithItsClientKey) {
  absl::StatusOr<std::string> text =
      ReadFile("tests/instance/testdata/java_sdk_signature_vector.json");
  ASSERT_TRUE(text.ok()) << text.status();
  nlohmann::json v = nlohmann::json::parse(*text);
  const std::string sts = v["string_to_sign"];
  absl::StatusOr<ClientKey> key =
      ClientKey::FromJson(v["client_key"].dump(), v["client_key_password"].get<std::string>());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->key_id(), "key_for_unit_test");
  absl::StatusOr<std::string> auth = SignStringToSign(key->private_key(), sts);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(*auth, v["client_key_signature"].get<std::string>());

  const std::string pem = v["private_key_pem"];
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EvpPkeyPtr pkcs1(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  ASSERT_NE(pkcs1, nullptr);
  auth = SignStringToSign(pkcs1.get(), sts);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(*auth, v["signature"].get<std::string>());
}

}  // namespace
}  // namespace instance
}  // namespace kms_envelope
