// The published signature examples of the Alibaba Cloud OpenAPI, reproduced exactly, plus the
// encoding rules they depend on.
#include "kms_envelope/kms_api/signer.h"

#include <gtest/gtest.h>

#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/secret_bytes.h"

namespace kms_envelope {
namespace remote {

using kms_api::CanonicalRequestV3;
using kms_api::HexSha256;
using kms_api::ParseV3Authorization;
using kms_api::PercentDecode;
using kms_api::PercentEncode;
using kms_api::QueryParam;
using kms_api::SignV1;
using kms_api::SignV3;
using kms_api::SignatureEquals;
using kms_api::StringToSignV1;
using kms_api::V3AuthorizationHeader;
using kms_api::V3Request;
namespace {

SecretBytes Secret(std::string_view s) {
  auto secret = SecretBytes::CopyFrom(kms_envelope::testing::Bytes(s));
  EXPECT_TRUE(secret.ok());
  return std::move(secret).value();
}

std::vector<QueryParam> DescribeRegionsExample() {
  return {{"AccessKeyId", "testid"},
          {"Action", "DescribeRegions"},
          {"Format", "XML"},
          {"SignatureMethod", "HMAC-SHA1"},
          {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
          {"SignatureVersion", "1.0"},
          {"Timestamp", "2016-02-23T12:46:24Z"},
          {"Version", "2014-05-26"}};
}

TEST(PercentEncode, KeepsOnlyUnreservedCharactersAndUsesUppercaseHex) {
  EXPECT_EQ(PercentEncode("a b*c~d-e_f.g"), "a%20b%2Ac~d-e_f.g");
  EXPECT_EQ(PercentEncode("/=&+:"), "%2F%3D%26%2B%3A");
  EXPECT_EQ(PercentEncode("\xe4\xb8\xad"), "%E4%B8%AD");
}

TEST(PercentDecode, InvertsEncodingAndRejectsMalformedEscapes) {
  auto decoded = PercentDecode("a%20b%2ac~+", /*plus_is_space=*/true);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, "a b*c~ ");
  auto kept = PercentDecode("a+b", /*plus_is_space=*/false);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, "a+b");
  EXPECT_FALSE(PercentDecode("%2", false).ok());
  EXPECT_FALSE(PercentDecode("%", false).ok());
  EXPECT_FALSE(PercentDecode("%G0", false).ok());
}

TEST(SignatureV1, ReproducesThePublishedDescribeRegionsExample) {
  std::vector<QueryParam> params = DescribeRegionsExample();
  EXPECT_EQ(StringToSignV1("GET", params),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
            "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-"
            "4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z"
            "%26Version%3D2014-05-26");
  auto sig = SignV1("GET", params, Secret("testsecret"));
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(*sig, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
}

TEST(SignatureV1, DoesNotDependOnParameterOrder) {
  std::vector<QueryParam> params = DescribeRegionsExample();
  std::reverse(params.begin(), params.end());
  auto sig = SignV1("GET", params, Secret("testsecret"));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
}

TEST(SignatureV1, ChangesWithMethodSecretAndAnyParameter) {
  std::vector<QueryParam> params = DescribeRegionsExample();
  auto base = SignV1("GET", params, Secret("testsecret"));
  ASSERT_TRUE(base.ok());
  EXPECT_NE(*SignV1("POST", params, Secret("testsecret")), *base);
  EXPECT_NE(*SignV1("GET", params, Secret("testsecreu")), *base);
  params[1].second = "DescribeRegionz";
  EXPECT_NE(*SignV1("GET", params, Secret("testsecret")), *base);
}

V3Request RunInstancesExample() {
  V3Request r;
  r.method = "POST";
  r.canonical_uri = "/";
  r.query = {{"ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"},
             {"RegionId", "cn-shanghai"}};
  r.headers = {
      {"host", "ecs.cn-shanghai.aliyuncs.com"},
      {"x-acs-action", "RunInstances"},
      {"x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"x-acs-date", "2023-10-26T10:22:32Z"},
      {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
      {"x-acs-version", "2014-05-26"},
  };
  r.hashed_payload = HexSha256("");
  return r;
}

TEST(SignatureV3, ReproducesThePublishedRunInstancesExample) {
  V3Request r = RunInstancesExample();
  EXPECT_EQ(r.hashed_payload, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(CanonicalRequestV3(r),
            "POST\n/\n"
            "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
            "host:ecs.cn-shanghai.aliyuncs.com\n"
            "x-acs-action:RunInstances\n"
            "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-acs-date:2023-10-26T10:22:32Z\n"
            "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
            "x-acs-version:2014-05-26\n\n"
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
            "x-acs-version\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto sig = SignV3(r, Secret("YourAccessKeySecret"));
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(*sig, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
}

TEST(SignatureV3, IgnoresUnsignedHeadersAndHeaderNameCase) {
  V3Request r = RunInstancesExample();
  r.headers["User-Agent"] = "test";
  r.headers["Accept"] = "application/json";
  std::string host = r.headers["host"];
  r.headers.erase("host");
  r.headers["Host"] = host;
  auto sig = SignV3(r, Secret("YourAccessKeySecret"));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
}

TEST(SignatureV3, AuthorizationHeaderRoundTripsThroughTheParser) {
  V3Request r = RunInstancesExample();
  std::string header = V3AuthorizationHeader("YourAccessKeyId", r, "abc123");
  EXPECT_EQ(header,
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
            "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
            "Signature=abc123");
  auto parsed = ParseV3Authorization(header);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->access_key_id, "YourAccessKeyId");
  EXPECT_EQ(parsed->signed_headers.size(), 6u);
  EXPECT_EQ(parsed->signature, "abc123");
  EXPECT_FALSE(ParseV3Authorization("ACS3-HMAC-SHA256 Credential=x,Signature=y").ok());
  EXPECT_FALSE(ParseV3Authorization("HMAC-SHA1 Credential=x,SignedHeaders=h,Signature=y").ok());
  EXPECT_FALSE(ParseV3Authorization("").ok());
}

TEST(SignatureEquals, ComparesWholeStrings) {
  EXPECT_TRUE(SignatureEquals("abc", "abc"));
  EXPECT_FALSE(SignatureEquals("abc", "abd"));
  EXPECT_FALSE(SignatureEquals("abc", "abcd"));
}

}  // namespace
}  // namespace remote
}  // namespace kms_envelope
