// Shared fixture of the server tests: an in-memory local store, an access policy, the real
// KmsServer on a free loopback port, and RemoteKeyProvider clients for it.
#ifndef KMS_ENVELOPE_TESTS_SERVER_SERVER_TEST_UTIL_H_
#define KMS_ENVELOPE_TESTS_SERVER_SERVER_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/time/clock.h"
#include "kms_envelope/testing/test_bytes.h"
#include "kms_envelope/status_macros.h"
#include "kms_envelope/local/local_key_store.h"
#include "kms_envelope/remote/remote_key_provider.h"
#include "kms_envelope/kms_api/signer.h"
#include "kms_envelope/server/kms_server.h"
#include "tests/server/test_kms_server.h"

namespace kms_envelope {
namespace testing {

inline constexpr char kAdminId[] = "admin-key";
inline constexpr char kAdminSecret[] = "admin-secret";
inline constexpr char kAppId[] = "app-key";
inline constexpr char kAppSecret[] = "app-secret";

// A fake clock for the client's retry loop: sleeps advance it and are recorded.
struct RecordingClock {
  absl::Duration offset;  // added to the real time (clock-skew tests)
  std::vector<absl::Duration> sleeps;
  kms_api::RetryClock Clock() {
    kms_api::RetryClock c;
    c.now = [this] { return absl::Now() + offset + Slept(); };
    c.sleep = [this](absl::Duration d) { sleeps.push_back(d); };
    c.jitter = [] { return 0.5; };
    return c;
  }
  absl::Duration Slept() const {
    absl::Duration total;
    for (auto d : sleeps) total += d;
    return total;
  }
};

class ServerFixture : public ::testing::Test {
 protected:
  void StartServer(std::vector<server::InjectedFault> faults = {}, std::string tls_cert = "",
                   std::string tls_key = "") {
    TestKmsServerOptions o;  // in-memory store, no CMK yet
    o.add_access_keys = [](const std::vector<std::string>&, server::AccessPolicy& policy) {
      KMS_RETURN_IF_ERROR(policy.Add(kAdminId, kAdminSecret, {"*"}, {"*"}));
      return policy.Add(kAppId, kAppSecret,
                        {"GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "Decrypt", "Encrypt",
                         "ReEncrypt", "DescribeKey"},
                        {"alias/app"});
    };
    o.server.faults = std::move(faults);
    o.server.access_log = &access_log_;
    o.server.tls_cert_file = tls_cert;
    o.server.tls_key_file = tls_key;
    o.server.threads = 4;
    auto kms = StartTestKmsServer(std::move(o));
    ASSERT_TRUE(kms.ok()) << kms.status();
    store_ = kms->store;
    server_ = std::move(kms->server);
  }
  // Starts the server of `o` (custom policy, CMKs, limits) on a clock the test moves with
  // Advance(); its store, server and CMK ids become the fixture's.
  void StartCustomServer(TestKmsServerOptions o) {
    o.server.now = [this] { return absl::Now() + absl::Seconds(clock_offset_s_.load()); };
    o.server.access_log = &access_log_;
    auto kms = StartTestKmsServer(std::move(o));
    ASSERT_TRUE(kms.ok()) << kms.status();
    store_ = kms->store;
    server_ = std::move(kms->server);
    key_ids_ = kms->key_ids;
  }
  void Advance(absl::Duration d) { clock_offset_s_ += absl::ToInt64Seconds(d); }
  absl::Time ServerNow() const { return absl::Now() + absl::Seconds(clock_offset_s_.load()); }

  // A V1-signed POST with `params` (Action included) in a form body; returns the JSON answer
  // (a "ParseError" object if the body is not JSON) and sets *http_status.
  nlohmann::json PostSigned(std::vector<kms_api::QueryParam> params, const std::string& id,
                            const std::string& secret, absl::Time when = absl::Time(),
                            std::string nonce = "", int* http_status = nullptr) {
    if (when == absl::Time()) when = ServerNow();
    std::string body = SignedV1Query(std::move(params), "POST", id, secret, when, nonce);
    httplib::Client http("127.0.0.1", server_->port());
    auto res = http.Post("/", body, "application/x-www-form-urlencoded");
    if (!res) return {{"Code", "NoResponse"}};
    if (http_status != nullptr) *http_status = res->status;
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (j.is_discarded()) return {{"Code", "ParseError"}, {"Body", res->body}};
    return j;
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
  }

  std::string Url(bool tls = false) const {
    return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(server_->port());
  }

  std::unique_ptr<remote::RemoteKeyProvider> Client(
      std::string id = kAdminId, std::string secret = kAdminSecret,
      remote::SignatureVersion version = remote::SignatureVersion::kV1,
      RecordingClock* clock = nullptr, kms_api::RetryPolicy policy = kms_api::RetryPolicy(),
      std::string url = "", std::string ca_file = "") {
    remote::RemoteKeyProviderOptions options;
    options.endpoint = url.empty() ? Url() : url;
    options.signature_version = version;
    options.retry = policy;
    options.ca_file = ca_file;
    if (clock != nullptr) options.clock = clock->Clock();
    auto creds = remote::Credentials::New(id, secret);
    EXPECT_TRUE(creds.ok());
    auto p = remote::RemoteKeyProvider::New(std::move(options), std::move(creds).value());
    EXPECT_TRUE(p.ok()) << p.status();
    return std::move(p).value();
  }

  // A V1-signed query string for hand-made requests.
  static std::string SignedV1Query(std::vector<kms_api::QueryParam> params, const std::string& method,
                                   const std::string& id, const std::string& secret,
                                   absl::Time when = absl::Now(), std::string nonce = "") {
    static std::atomic<uint64_t> counter{0};
    if (nonce.empty()) {
      nonce = "nonce-" + std::to_string(absl::ToUnixNanos(absl::Now())) + "-" +
              std::to_string(counter++);
    }
    params.emplace_back("Version", "2016-01-20");
    params.emplace_back("AccessKeyId", kms_api::ToWiped(id));
    params.emplace_back("SignatureMethod", "HMAC-SHA1");
    params.emplace_back("SignatureVersion", "1.0");
    params.emplace_back("SignatureNonce", kms_api::ToWiped(nonce));
    params.emplace_back("Timestamp", kms_api::ToWiped(absl::FormatTime(
                                         "%Y-%m-%dT%H:%M:%SZ", when, absl::UTCTimeZone())));
    auto s = SecretBytes::CopyFrom(kms_envelope::testing::Bytes(secret));
    auto sig = kms_api::SignV1(method, params, *s);
    params.emplace_back("Signature", kms_api::ToWiped(*sig));
    kms_api::WipedString q = kms_api::CanonicalQuery(params);
    return std::string(q.data(), q.size());
  }

  std::shared_ptr<local::LocalKeyStore> store_;
  std::unique_ptr<server::KmsServer> server_;
  std::vector<std::string> key_ids_;  // StartCustomServer's CMKs
  std::atomic<int64_t> clock_offset_s_{0};
  std::ostringstream access_log_;
};

inline std::string StrOf(const SecretBytes& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

}  // namespace testing
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_TESTS_SERVER_SERVER_TEST_UTIL_H_
