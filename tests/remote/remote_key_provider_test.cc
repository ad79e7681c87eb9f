// RemoteKeyProvider against a scripted peer: request shape and signatures, retry classification
// and backoff, deadline, response validation. (The real server is driven in tests/server.)
#include "kms_envelope/remote/remote_key_provider.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <regex>

#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/kms_error.h"
#include "kms_envelope/kms_api/signer.h"
#include "tests/remote/fake_kms.h"

namespace kms_envelope {
namespace remote {

using kms_api::HexSha256;
using kms_api::ParseV3Authorization;
using kms_api::QueryParam;
using kms_api::RetryClock;
using kms_api::RetryPolicy;
using kms_api::SignV1;
using kms_api::SignV3;
using kms_api::ToWiped;
using kms_api::V3Request;
namespace {

using testing::FakeKms;

constexpr char kKeyId[] = "1234abcd-12ab-34cd-56ef-12345678abcd";
constexpr char kVersionId[] = "86a9efd9-3d16-4894-bd4f-1fc43f3f2abf";

std::string B64(std::string_view s) { return kms_envelope::testing::Base64Encode(s); }

std::string DataKeyBody(size_t key_size, std::string key_id = kKeyId) {
  nlohmann::json j = {{"KeyId", key_id},
                      {"KeyVersionId", kVersionId},
                      {"CiphertextBlob", B64(std::string(108, 'b'))},
                      {"Plaintext", B64(std::string(key_size, 'k'))},
                      {"RequestId", "req-1"}};
  return j.dump();
}

std::string ErrorBody(std::string_view code, std::string_view message = "the message") {
  nlohmann::json j = {{"RequestId", "req-err-7"}, {"HostId", "kms.test"}, {"Code", code},
                      {"Message", message},       {"Recommend", "https://example/diag"}};
  return j.dump();
}

// A fake clock: sleeping advances it and records the wait.
struct FakeTime {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  std::vector<absl::Duration> sleeps;
  double jitter = 0.5;
  RetryClock Clock() {
    RetryClock c;
    c.now = [this] { return now; };
    c.sleep = [this](absl::Duration d) {
      sleeps.push_back(d);
      now += d;
    };
    c.jitter = [this] { return jitter; };
    return c;
  }
};

std::unique_ptr<RemoteKeyProvider> MakeProvider(const std::string& url, FakeTime* time,
                                                SignatureVersion version = SignatureVersion::kV1,
                                                RetryPolicy policy = RetryPolicy()) {
  RemoteKeyProviderOptions options;
  options.endpoint = url;
  options.signature_version = version;
  options.retry = policy;
  if (time != nullptr) options.clock = time->Clock();
  auto creds = Credentials::New("test-id", "test-secret");
  EXPECT_TRUE(creds.ok());
  auto p = RemoteKeyProvider::New(std::move(options), std::move(creds).value());
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(p).value();
}

GenerateDataKeyRequest DataKeyRequest() {
  GenerateDataKeyRequest req;
  req.key_id = kKeyId;
  return req;
}

std::string Param(const FakeKms::Received& r, const std::string& name) {
  auto it = r.params.find(name);
  return it == r.params.end() ? "<absent>" : it->second;
}

SecretBytes Secret(std::string_view s) { return std::move(SecretBytes::CopyFrom(kms_envelope::testing::Bytes(s))).value(); }

TEST(RemoteKeyProvider, SendsASignedV1RequestWithAllCommonParameters) {
  FakeKms kms;
  kms.Push({200, DataKeyBody(32)});
  FakeTime time;
  auto p = MakeProvider(kms.url(), &time);
  GenerateDataKeyRequest req = DataKeyRequest();
  auto ctx = EncryptionContext::FromJson(R"({"tenant":"a b*c"})");
  ASSERT_TRUE(ctx.ok());
  req.encryption_context = &*ctx;
  auto dk = p->GenerateDataKey(req);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->key_id, kKeyId);
  EXPECT_EQ(dk->key_version_id, kVersionId);
  EXPECT_EQ(dk->ciphertext_blob, std::string(108, 'b'));
  ASSERT_EQ(dk->plaintext.size(), 32u);
  EXPECT_EQ(dk->plaintext.data()[0], 'k');
  EXPECT_EQ(dk->request_id, "req-1");

  auto got = kms.received();
  ASSERT_EQ(got.size(), 1u);
  const auto& r = got[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(Param(r, "Action"), "GenerateDataKey");
  EXPECT_EQ(Param(r, "Version"), "2016-01-20");
  EXPECT_EQ(Param(r, "Format"), "JSON");
  EXPECT_EQ(Param(r, "AccessKeyId"), "test-id");
  EXPECT_EQ(Param(r, "SignatureMethod"), "HMAC-SHA1");
  EXPECT_EQ(Param(r, "SignatureVersion"), "1.0");
  EXPECT_EQ(Param(r, "Timestamp"), "2023-11-14T22:13:20Z");
  EXPECT_TRUE(std::regex_match(Param(r, "SignatureNonce"),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_EQ(Param(r, "KeyId"), kKeyId);
  EXPECT_EQ(Param(r, "EncryptionContext"), R"({"tenant":"a b*c"})");
  EXPECT_EQ(Param(r, "SecurityToken"), "<absent>");
  // Recompute the signature independently from what arrived.
  std::vector<QueryParam> params;
  for (const auto& [k, v] : r.params) {
    if (k != "Signature") params.emplace_back(k, ToWiped(v));
  }
  auto sig = SignV1("POST", params, Secret("test-secret"));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(Param(r, "Signature"), *sig);
}

TEST(RemoteKeyProvider, SendsAV3RequestWhoseAuthorizationVerifies) {
  FakeKms kms;
  kms.Push({200, DataKeyBody(16)});
  FakeTime time;
  auto p = MakeProvider(kms.url(), &time, SignatureVersion::kV3);
  GenerateDataKeyRequest req;
  req.key_id = "alias/backup";
  req.key_spec = "AES_128";
  auto dk = p->GenerateDataKey(req);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->plaintext.size(), 16u);
  auto r = kms.received().at(0);
  EXPECT_EQ(Param(r, "Signature"), "<absent>");
  EXPECT_EQ(Param(r, "KeyId"), "alias/backup");
  auto header = [&](const std::string& n) {
    auto it = r.headers.find(n);  // names lowercased by FakeKms
    return it == r.headers.end() ? std::string() : it->second;
  };
  EXPECT_EQ(header("x-acs-action"), "GenerateDataKey");
  EXPECT_EQ(header("host"), kms.url().substr(7));
  EXPECT_EQ(header("x-acs-version"), "2016-01-20");
  EXPECT_EQ(header("x-acs-date"), "2023-11-14T22:13:20Z");
  auto auth = ParseV3Authorization(header("authorization"));
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->access_key_id, "test-id");
  V3Request v3;
  v3.method = "POST";
  v3.canonical_uri = "/";
  for (const auto& [k, v] : r.params) v3.query.emplace_back(k, ToWiped(v));
  for (const std::string& h : auth->signed_headers) v3.headers[h] = header(h);
  v3.hashed_payload = HexSha256("");
  auto sig = SignV3(v3, Secret("test-secret"));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(auth->signature, *sig);
}

TEST(RemoteKeyProvider, SendsTheSecurityTokenOfStsCredentials) {
  FakeKms kms;
  kms.Push({200, DataKeyBody(32)});
  RemoteKeyProviderOptions options;
  options.endpoint = kms.url();
  auto creds = Credentials::New("sts-id", "sts-secret", "sts-token-value");
  ASSERT_TRUE(creds.ok());
  auto p = RemoteKeyProvider::New(std::move(options), std::move(creds).value());
  ASSERT_TRUE(p.ok());
  const GenerateDataKeyRequest req = DataKeyRequest();
  ASSERT_TRUE((*p)->GenerateDataKey(req).ok());
  EXPECT_EQ(Param(kms.received().at(0), "SecurityToken"), "sts-token-value");
}

TEST(RemoteKeyProvider, RetriesThrottlingWithJitteredBackoffWithinBounds) {
  FakeKms kms;
  kms.Push({400, ErrorBody("Throttling")});
  kms.Push({400, ErrorBody("Rejected.Throttling")});
  kms.Push({503, ErrorBody("ServiceUnavailableTemporary")});
  kms.Push({500, ErrorBody("InternalFailure")});
  kms.Push({200, DataKeyBody(32)});
  FakeTime time;
  time.jitter = 0.75;
  RetryPolicy policy;
  policy.max_attempts = 6;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.max_backoff = absl::Milliseconds(300);
  auto p = MakeProvider(kms.url(), &time, SignatureVersion::kV1, policy);
  const GenerateDataKeyRequest req = DataKeyRequest();
  auto dk = p->GenerateDataKey(req);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(kms.count(), 5u);
  EXPECT_EQ(p->attempts(), 5u);
  ASSERT_EQ(time.sleeps.size(), 4u);
  // Full jitter: u * min(cap, base * 2^i) with u = 0.75.
  EXPECT_EQ(time.sleeps[0], absl::Milliseconds(75));
  EXPECT_EQ(time.sleeps[1], absl::Milliseconds(150));
  EXPECT_EQ(time.sleeps[2], absl::Milliseconds(225));
  EXPECT_EQ(time.sleeps[3], absl::Milliseconds(225));
  // Each attempt is a fresh request: distinct nonces.
  auto got = kms.received();
  std::set<std::string> nonces;
  for (const auto& r : got) nonces.insert(Param(r, "SignatureNonce"));
  EXPECT_EQ(nonces.size(), 5u);
}

TEST(RemoteKeyProvider, BackoffStaysWithinTheCappedExponentialBound) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(50);
  policy.max_backoff = absl::Seconds(1);
  for (int attempt = 0; attempt < 10; ++attempt) {
    absl::Duration cap = policy.BackoffCap(attempt);
    EXPECT_LE(cap, absl::Seconds(1));
    for (double u : {0.0, 0.3, 0.999999}) {
      absl::Duration d = policy.Backoff(attempt, u);
      EXPECT_GE(d, absl::ZeroDuration());
      EXPECT_LE(d, cap);
    }
  }
  EXPECT_EQ(policy.BackoffCap(0), absl::Milliseconds(50));
  EXPECT_EQ(policy.BackoffCap(3), absl::Milliseconds(400));
  EXPECT_EQ(policy.BackoffCap(9), absl::Seconds(1));
  // The real jitter source stays in [0, 1).
  RetryClock real = RetryClock::Real();
  for (int i = 0; i < 1000; ++i) {
    double u = real.jitter();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(RemoteKeyProvider, Retries5xxWithoutABodyAndGivesUpAtMaxAttempts) {
  FakeKms kms;
  kms.SetDefault({503, "Service Unavailable"});
  FakeTime time;
  RetryPolicy policy;
  policy.max_attempts = 3;
  auto p = MakeProvider(kms.url(), &time, SignatureVersion::kV1, policy);
  const GenerateDataKeyRequest req = DataKeyRequest();
  auto dk = p->GenerateDataKey(req);
  ASSERT_FALSE(dk.ok());
  EXPECT_EQ(kms.count(), 3u);
  EXPECT_EQ(time.sleeps.size(), 2u);
  EXPECT_EQ(GetKmsErrorCode(dk.status()), kms_code::kInternalFailure);
}

TEST(RemoteKeyProvider, NeverRetriesFinalErrorsAndKeepsCodeMessageAndRequestId) {
  struct Case {
    int http;
    const char* code;
    absl::StatusCode canonical;
  };
  for (const Case& c : {Case{400, "InvalidParameter", absl::StatusCode::kInvalidArgument},
                        Case{404, "Forbidden.KeyNotFound", absl::StatusCode::kNotFound},
                        Case{403, "Forbidden.NoPermission", absl::StatusCode::kPermissionDenied},
                        Case{409, "Rejected.Disabled", absl::StatusCode::kFailedPrecondition},
                        Case{400, "InvalidCiphertext", absl::StatusCode::kInvalidArgument},
                        Case{503, "Forbidden.KeyNotFound", absl::StatusCode::kNotFound}}) {
    FakeKms kms;
    kms.Push({c.http, ErrorBody(c.code, "why it failed")});
    kms.SetDefault({200, DataKeyBody(32)});
    FakeTime time;
    auto p = MakeProvider(kms.url(), &time);
    const GenerateDataKeyRequest req = DataKeyRequest();
    auto dk = p->GenerateDataKey(req);
    ASSERT_FALSE(dk.ok()) << c.code;
    EXPECT_EQ(kms.count(), 1u) << c.code;
    EXPECT_TRUE(time.sleeps.empty());
    EXPECT_EQ(GetKmsErrorCode(dk.status()), c.code);
    EXPECT_NE(dk.status().message().find(c.code), absl::string_view::npos);
    EXPECT_NE(dk.status().message().find("why it failed"), absl::string_view::npos);
    EXPECT_NE(dk.status().message().find("req-err-7"), absl::string_view::npos);
    if (std::string(c.code) != "InvalidCiphertext") {
      EXPECT_EQ(dk.status().code(), KmsCodeToStatusCode(c.code)) << c.code;
    }
  }
}

TEST(RemoteKeyProvider, StopsRetryingWhenTheNextWaitWouldPassTheDeadline) {
  FakeKms kms;
  kms.SetDefault({400, ErrorBody("Throttling")});
  FakeTime time;
  time.jitter = 0.99;
  RetryPolicy policy;
  policy.max_attempts = 100;
  policy.initial_backoff = absl::Seconds(1);
  policy.max_backoff = absl::Seconds(8);
  policy.overall_deadline = absl::Seconds(10);
  auto p = MakeProvider(kms.url(), &time, SignatureVersion::kV1, policy);
  const GenerateDataKeyRequest req = DataKeyRequest();
  auto dk = p->GenerateDataKey(req);
  ASSERT_FALSE(dk.ok());
  EXPECT_EQ(GetKmsErrorCode(dk.status()), kms_code::kThrottling);
  // Waits 0.99, 1.98, 3.96 (total 6.93); the next (7.92) would pass 10 s.
  EXPECT_EQ(time.sleeps.size(), 3u);
  EXPECT_EQ(kms.count(), 4u);
  absl::Duration total;
  for (auto d : time.sleeps) total += d;
  EXPECT_LT(total, absl::Seconds(10));
}

TEST(RemoteKeyProvider, RetriesConnectionErrors) {
  int port = testing::ClosedLoopbackPort();
  FakeTime time;
  RetryPolicy policy;
  policy.max_attempts = 3;
  auto p = MakeProvider("http://127.0.0.1:" + std::to_string(port), &time, SignatureVersion::kV1,
                        policy);
  const GenerateDataKeyRequest req = DataKeyRequest();
  auto dk = p->GenerateDataKey(req);
  ASSERT_FALSE(dk.ok());
  EXPECT_EQ(dk.status().code(), absl::StatusCode::kUnavailable) << dk.status();
  EXPECT_EQ(p->attempts(), 3u);
  EXPECT_EQ(time.sleeps.size(), 2u);
}

TEST(RemoteKeyProvider, RetriesAnAttemptThatTimesOut) {
  FakeKms kms;
  kms.Push({200, DataKeyBody(32), /*delay_ms=*/1500});
  kms.Push({200, DataKeyBody(32)});
  FakeTime time;
  RetryPolicy policy;
  policy.per_attempt_timeout = absl::Milliseconds(300);
  auto p = MakeProvider(kms.url(), &time, SignatureVersion::kV1, policy);
  const GenerateDataKeyRequest req = DataKeyRequest();
  auto dk = p->GenerateDataKey(req);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(p->attempts(), 2u);
  EXPECT_EQ(time.sleeps.size(), 1u);
}

TEST(RemoteKeyProvider, RefusesMalformedResponsesWithoutRetrying) {
  nlohmann::json bad_blob = nlohmann::json::parse(DataKeyBody(32));
  bad_blob["CiphertextBlob"] = "not base64!";
  nlohmann::json big_blob = nlohmann::json::parse(DataKeyBody(32));
  big_blob["CiphertextBlob"] = B64(std::string(kMaxCiphertextBlobSize + 1, 'x'));
  nlohmann::json no_version = nlohmann::json::parse(DataKeyBody(32));
  no_version.erase("KeyVersionId");
  nlohmann::json bad_plain = nlohmann::json::parse(DataKeyBody(32));
  bad_plain["Plaintext"] = "a2tr\n";
  for (const std::string& body :
       {DataKeyBody(31), DataKeyBody(33), DataKeyBody(32, "ffffffff-12ab-34cd-56ef-12345678abcd"),
        bad_blob.dump(), big_blob.dump(), no_version.dump(), bad_plain.dump(), std::string("[1]"),
        std::string("not json"), std::string(kMaxResponseBodySize + 10, ' ')}) {
    FakeKms kms;
    kms.Push({200, body});
    kms.SetDefault({200, DataKeyBody(32)});
    FakeTime time;
    auto p = MakeProvider(kms.url(), &time);
    const GenerateDataKeyRequest req = DataKeyRequest();
    auto dk = p->GenerateDataKey(req);
    ASSERT_FALSE(dk.ok()) << body.substr(0, 80);
    EXPECT_EQ(kms.count(), 1u) << body.substr(0, 80);
  }
}

// The sample success responses of the GenerateDataKey API reference (KMS 2016-01-20), JSON and
// the <KMS> XML document, with the reference's own values (its masked "****" blob replaced by the
// unmasked variant the English reference prints, so that it is base64).
constexpr char kReferenceKeyId[] = "599fa825-17de-417e-9554-bb032cc6****";
constexpr char kReferenceBlob[] =
    "ODZhOWVmZDktM2QxNi00ODk0LWJkNGYtMWZjNDNmM2YyYWJmS7FmDBBQ0BkKsQrtRnidtPwirmDcS0ZuJCU41xxAAWk4"
    "Z8qsADfbV0b+i6kQmlvj79dJdGOvtX69Uycs901qOjop4bTSl0oQ";
constexpr char kReferenceJson[] = R"({
        "CiphertextBlob": "ODZhOWVmZDktM2QxNi00ODk0LWJkNGYtMWZjNDNmM2YyYWJmS7FmDBBQ0BkKsQrtRnidtPwirmDcS0ZuJCU41xxAAWk4Z8qsADfbV0b+i6kQmlvj79dJdGOvtX69Uycs901qOjop4bTSl0oQ",
        "KeyId": "599fa825-17de-417e-9554-bb032cc6****",
        "KeyVersionId": "2ab1a983-7072-4bbc-a582-584b5bd8****",
        "Plaintext": "QmFzZTY0IGVuY29kZWQgcGxhaW50ZXh0",
        "RequestId": "7021b6ec-4be7-4d3c-8a68-1e85d4d515a0"
})";
constexpr char kReferenceXml[] = R"(<KMS>
          <CiphertextBlob>ODZhOWVmZDktM2QxNi00ODk0LWJkNGYtMWZjNDNmM2YyYWJmS7FmDBBQ0BkKsQrtRnidtPwirmDcS0ZuJCU41xxAAWk4Z8qsADfbV0b+i6kQmlvj79dJdGOvtX69Uycs901qOjop4bTSl0oQ</CiphertextBlob>
          <KeyId>599fa825-17de-417e-9554-bb032cc6****</KeyId>
          <KeyVersionId>2ab1a983-7072-4bbc-a582-584b5bd8****</KeyVersionId>
          <Plaintext>QmFzZTY0IGVuY29kZWQgcGxhaW50ZXh0</Plaintext>
          <RequestId>7021b6ec-4be7-4d3c-8a68-1e85d4d515a0</RequestId>
</KMS>)";

TEST(RemoteKeyProvider, ParsesTheGenerateDataKeyReferenceSamplesInJsonAndXml) {
  for (const auto& [body, type] : {std::pair<const char*, const char*>{kReferenceJson, "application/json"},
                                   {kReferenceXml, "text/xml;charset=utf-8"}}) {
    FakeKms kms;
    kms.Push({200, body, 0, type});
    auto p = MakeProvider(kms.url(), nullptr);
    GenerateDataKeyRequest req;
    req.key_id = kReferenceKeyId;
    req.number_of_bytes = 24;  // "Base64 encoded plaintext"
    auto dk = p->GenerateDataKey(req);
    ASSERT_TRUE(dk.ok()) << type << ": " << dk.status();
    EXPECT_EQ(dk->key_id, kReferenceKeyId);
    EXPECT_EQ(dk->key_version_id, "2ab1a983-7072-4bbc-a582-584b5bd8****");
    EXPECT_EQ(B64(dk->ciphertext_blob), kReferenceBlob);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(dk->plaintext.data()), dk->plaintext.size()),
              "Base64 encoded plaintext");
    EXPECT_EQ(dk->request_id, "7021b6ec-4be7-4d3c-8a68-1e85d4d515a0");
  }
}

TEST(RemoteKeyProvider, ReadsAnXmlErrorDocumentAndRefusesHostileXml) {
  FakeKms kms;
  kms.Push({404,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><RequestId>R-1</RequestId>"
            "<HostId>kms.local</HostId><Code>Forbidden.KeyNotFound</Code>"
            "<Message>no &amp; such key</Message></Error>",
            0, "text/xml"});
  auto p = MakeProvider(kms.url(), nullptr);
  auto nf = p->GenerateDataKey(DataKeyRequest());
  EXPECT_EQ(GetKmsErrorCode(nf.status()), "Forbidden.KeyNotFound");
  EXPECT_NE(nf.status().message().find("no & such key (RequestId: R-1)"), std::string::npos)
      << nf.status();
  for (std::string hostile : {
           std::string("<!DOCTYPE KMS [<!ENTITY a \"aaaa\">]><KMS><KeyId>&a;</KeyId></KMS>"),
           std::string("<KMS><KeyId id=\"1\">k</KeyId></KMS>"),
           std::string("<KMS>text<KeyId>k</KeyId></KMS>"),
           std::string("<KMS><KeyId>k</KeyId>"),
           std::string(40, '<') + std::string(40, '>'),
       }) {
    FakeKms bad;
    bad.Push({200, hostile, 0, "text/xml"});
    auto q = MakeProvider(bad.url(), nullptr);
    auto r = q->GenerateDataKey(DataKeyRequest());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << hostile << ": " << r.status();
    EXPECT_EQ(bad.count(), 1u);
  }
}

TEST(RemoteKeyProvider, AcceptsAnAliasAnswerNamingTheGuid) {
  FakeKms kms;
  kms.Push({200, DataKeyBody(32, "ffffffff-12ab-34cd-56ef-12345678abcd")});
  auto p = MakeProvider(kms.url(), nullptr);
  GenerateDataKeyRequest req;
  req.key_id = "alias/any";
  auto dk = p->GenerateDataKey(req);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->key_id, "ffffffff-12ab-34cd-56ef-12345678abcd");
}

TEST(RemoteKeyProvider, EncryptSendsBase64PlaintextAndRefusesMoreThan6KiB) {
  FakeKms kms;
  nlohmann::json ok = {{"KeyId", kKeyId}, {"KeyVersionId", kVersionId},
                       {"CiphertextBlob", B64("blob")}, {"RequestId", "r"}};
  kms.Push({200, ok.dump()});
  auto p = MakeProvider(kms.url(), nullptr);
  std::string plain = "hello \x01\x02 world";
  EncryptRequest req;
  req.key_id = kKeyId;
  req.plaintext = kms_envelope::testing::Bytes(plain);
  auto enc = p->Encrypt(req);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(enc->ciphertext_blob, "blob");
  EXPECT_EQ(Param(kms.received().at(0), "Plaintext"), B64(plain));
  std::string big(kMaxEncryptPlaintextSize + 1, 'x');
  req.plaintext = kms_envelope::testing::Bytes(big);
  auto too_big = p->Encrypt(req);
  EXPECT_EQ(GetKmsErrorCode(too_big.status()), kms_code::kInvalidParameter);
  EXPECT_EQ(kms.count(), 1u);
}

TEST(RemoteKeyProvider, CallRefusesActionsThatReturnPlaintext) {
  FakeKms kms;
  auto p = MakeProvider(kms.url(), nullptr);
  EXPECT_FALSE(p->Call("GenerateDataKey", {}).ok());
  EXPECT_FALSE(p->Call("Decrypt", {}).ok());
  EXPECT_EQ(kms.count(), 0u);
}

TEST(Endpoints, RegionIdsMapToPublicAndVpcEndpoints) {
  EXPECT_EQ(EndpointForRegion("cn-hangzhou", false), "https://kms.cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(EndpointForRegion("cn-hangzhou", true), "https://kms-vpc.cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(ResolveEndpoint("cn-shanghai"), "https://kms.cn-shanghai.aliyuncs.com");
  EXPECT_EQ(ResolveEndpoint("vpc:cn-shanghai"), "https://kms-vpc.cn-shanghai.aliyuncs.com");
  EXPECT_EQ(ResolveEndpoint("http://127.0.0.1:9/"), "http://127.0.0.1:9");
}

TEST(Credentials, ComeFromTheEnvironment) {
  ::setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id", 1);
  ::setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret", 1);
  ::setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token", 1);
  auto c = Credentials::FromEnvironment();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "env-id");
  EXPECT_TRUE(c->access_key_secret.ConstantTimeEquals(kms_envelope::testing::Bytes("env-secret")));
  EXPECT_EQ(c->security_token, "env-token");
  ::unsetenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
  auto missing = Credentials::FromEnvironment();
  EXPECT_EQ(GetKmsErrorCode(missing.status()), kms_code::kMissingParameter);
  EXPECT_EQ(std::string(missing.status().message()).find("env-id"), std::string::npos);
  ::unsetenv("ALIBABA_CLOUD_ACCESS_KEY_ID");
  ::unsetenv("ALIBABA_CLOUD_SECURITY_TOKEN");
}

TEST(Credentials, ComeFromAJsonFile) {
  std::string path = std::string(getenv("TEST_TMPDIR")) + "/creds.json";
  std::ofstream(path) << R"({"AccessKeyId":"file-id","AccessKeySecret":"file-secret"})";
  auto c = Credentials::FromFile(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "file-id");
  EXPECT_TRUE(c->access_key_secret.ConstantTimeEquals(kms_envelope::testing::Bytes("file-secret")));
  EXPECT_TRUE(c->security_token.empty());
  std::ofstream(path) << R"({"AccessKeyId":"file-id"})";
  auto bad = Credentials::FromFile(path);
  EXPECT_FALSE(bad.ok());
  std::ofstream(path) << "{not json";
  EXPECT_FALSE(Credentials::FromFile(path).ok());
  EXPECT_FALSE(Credentials::FromFile(path + ".missing").ok());
}

}  // namespace
}  // namespace remote
}  // namespace kms_envelope
