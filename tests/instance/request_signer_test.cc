// The instance API's request signing, checked against the rules read in the instance SDKs'
// sources and against the `openssl` CLI (an implementation we did not write): a fixed RSA key
// made by openssl, a fixed date and a fixed body.
#include "kms_envelope/instance/request_signer.h"

#include <openssl/pem.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kms_envelope/testing/test_bytes.h"
#include "tests/instance/instance_test_util.h"

namespace kms_envelope {
namespace instance {
namespace {

using testing::FreshDir;
using testing::ReadFile;
using testing::RunShell;
using testing::WriteFile;

// 2026-12-06 16:49:02 UTC.
absl::Time FixedTime() { return absl::FromUnixSeconds(1796575742); }
constexpr char kBody[] = "\x0a\x0c" "alias/backup" "\x10\x20";  // AdvanceGenerateDataKey

EvpPkeyPtr LoadPem(const std::string& path, bool is_private) {
  FILE* f = std::fopen(path.c_str(), "r");
  EVP_PKEY* k = is_private ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr)
                           : PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return EvpPkeyPtr(k);
}

class RequestSignerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(FreshDir("request_signer"));
    ASSERT_TRUE(RunShell("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                         *dir_ + "/k.pem 2>/dev/null && openssl pkey -in " + *dir_ +
                         "/k.pem -pubout -out " + *dir_ + "/pub.pem")
                    .ok());
  }
  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string* dir_;
};
std::string* RequestSignerTest::dir_ = nullptr;

TEST_F(RequestSignerTest, DateIsRfc1123InGmt) {
  EXPECT_EQ(FormatHttpDate(FixedTime()), "Sun, 06 Dec 2026 16:49:02 GMT");
  // The same text as coreutils date prints for that instant.
  absl::StatusOr<std::string> date =
      RunShell("LC_ALL=C date -u -d @1796575742 '+%a, %d %b %Y %H:%M:%S GMT'");
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(FormatHttpDate(FixedTime()), absl::StripAsciiWhitespace(*date));
  absl::StatusOr<absl::Time> parsed = ParseHttpDate("Sun, 06 Dec 2026 16:49:02 GMT");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, FixedTime());
  EXPECT_FALSE(ParseHttpDate("2026-12-06T16:49:02Z").ok());
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Dec 2026 16:49:02 +0800").ok());
  EXPECT_FALSE(ParseHttpDate("Sun,  6 Dec 2026 16:49:02 GMT").ok());
}

TEST_F(RequestSignerTest, ContentSha256IsUpperCaseHexOfTheBodyAsOpensslComputesIt) {
  std::string body(kBody, sizeof(kBody) - 1);
  ASSERT_TRUE(WriteFile(Path("body.bin"), body).ok());
  absl::StatusOr<std::string> out = RunShell("openssl dgst -sha256 -r " + Path("body.bin"));
  ASSERT_TRUE(out.ok());
  std::string hex = absl::AsciiStrToUpper(out->substr(0, 64));
  EXPECT_EQ(UpperHexSha256(body), hex);
  EXPECT_EQ(UpperHexSha256(""), "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
}

TEST_F(RequestSignerTest, HeadersUseTheSdkNamesIncludingTheTripleCSpelling) {
  InstanceHeaders h = MakeInstanceHeaders("AdvanceGenerateDataKey", "", "KAAP.x", FixedTime());
  ASSERT_EQ(h.x_kms.size(), 4u);
  EXPECT_EQ(h.x_kms.at("x-kms-acccesskeyid"), "KAAP.x");
  EXPECT_EQ(h.x_kms.at("x-kms-apiname"), "AdvanceGenerateDataKey");
  EXPECT_EQ(h.x_kms.at("x-kms-apiversion"), "dkms-gcs-0.2");
  EXPECT_EQ(h.x_kms.at("x-kms-signaturemethod"), "RSA_PKCS1_SHA_256");
  EXPECT_EQ(h.content_type, "application/x-protobuf");
}

TEST_F(RequestSignerTest, StringToSignFollowsTheSdkLayout) {
  std::string body(kBody, sizeof(kBody) - 1);
  InstanceHeaders h = MakeInstanceHeaders("AdvanceGenerateDataKey", body, "KAAP.x", FixedTime());
  h.x_kms["x-kms-apiname"] = "  AdvanceGenerateDataKey ";  // values are trimmed
  const std::string expected =
      "POST\n" + UpperHexSha256(body) +
      "\n"
      "application/x-protobuf\n"
      "Sun, 06 Dec 2026 16:49:02 GMT\n"
      "x-kms-acccesskeyid:KAAP.x\n"
      "x-kms-apiname:AdvanceGenerateDataKey\n"
      "x-kms-apiversion:dkms-gcs-0.2\n"
      "x-kms-signaturemethod:RSA_PKCS1_SHA_256\n"
      "/";
  EXPECT_EQ(StringToSign(h), expected);
}

TEST_F(RequestSignerTest, SignatureEqualsOpensslDgstSignAndVerifiesWithOpensslDgstVerify) {
  std::string body(kBody, sizeof(kBody) - 1);
  const std::string text = StringToSign(
      MakeInstanceHeaders("AdvanceGenerateDataKey", body, "KAAP.x", FixedTime()));
  ASSERT_TRUE(WriteFile(Path("sts.txt"), text).ok());
  EvpPkeyPtr key = LoadPem(Path("k.pem"), true);
  ASSERT_NE(key, nullptr);
  absl::StatusOr<std::string> auth = SignStringToSign(key.get(), text);
  ASSERT_TRUE(auth.ok());
  ASSERT_EQ(auth->substr(0, 7), "Bearer ");
  absl::StatusOr<std::string> sig = kms_envelope::testing::Base64Decode(auth->substr(7), 4096);
  ASSERT_TRUE(sig.ok());
  ASSERT_TRUE(WriteFile(Path("sig.bin"), *sig).ok());
  // openssl verifies our signature...
  EXPECT_TRUE(RunShell("openssl dgst -sha256 -verify " + Path("pub.pem") + " -signature " +
                       Path("sig.bin") + " " + Path("sts.txt") + " >/dev/null")
                  .ok());
  // ...and PKCS#1 v1.5 is deterministic: openssl's own signature is byte for byte ours.
  ASSERT_TRUE(RunShell("openssl dgst -sha256 -sign " + Path("k.pem") + " -out " +
                       Path("sig_openssl.bin") + " " + Path("sts.txt"))
                  .ok());
  absl::StatusOr<std::string> theirs = ReadFile(Path("sig_openssl.bin"));
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(*theirs, *sig);
  EvpPkeyPtr pub = LoadPem(Path("pub.pem"), false);
  EXPECT_TRUE(VerifyAuthorization(pub.get(), text, "Bearer " + kms_envelope::testing::Base64Encode(*theirs)));
}

TEST_F(RequestSignerTest, VerifyRefusesTamperedTextOtherKeysAndMalformedHeaders) {
  EvpPkeyPtr key = LoadPem(Path("k.pem"), true);
  EvpPkeyPtr pub = LoadPem(Path("pub.pem"), false);
  const std::string text = "POST\nX\napplication/x-protobuf\nDate\n/";
  absl::StatusOr<std::string> auth = SignStringToSign(key.get(), text);
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE(VerifyAuthorization(pub.get(), text, *auth));
  EXPECT_FALSE(VerifyAuthorization(pub.get(), text + "x", *auth));
  EXPECT_FALSE(VerifyAuthorization(pub.get(), text, auth->substr(7)));           // no Bearer
  EXPECT_FALSE(VerifyAuthorization(pub.get(), text, "Bearer !!!"));              // not base64
  EXPECT_FALSE(VerifyAuthorization(pub.get(), text, "Bearer "));                 // empty
  EXPECT_FALSE(VerifyAuthorization(pub.get(), text, *auth + std::string(3000, 'A')));
  ASSERT_TRUE(RunShell("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                       Path("other.pem") + " 2>/dev/null")
                  .ok());
  EvpPkeyPtr other = LoadPem(Path("other.pem"), true);
  absl::StatusOr<std::string> other_auth = SignStringToSign(other.get(), text);
  ASSERT_TRUE(other_auth.ok());
  EXPECT_FALSE(VerifyAuthorization(pub.get(), text, *other_auth));
}

}  // namespace
}  // namespace instance
}  // namespace kms_envelope
