// Bounded load on loopback: --clients threads, each with its own RemoteKeyProvider (libcurl,
// V1 signatures) against an in-process KmsServer, doing GenerateDataKey + Decrypt pairs for
// --seconds; every answer is checked (the Decrypt returns the very key GenerateDataKey gave,
// under the same CMK). Zero failed or wrong answers allowed. Prints requests/s and latency
// percentiles per operation (docs/security.md quotes them).
//
//   bazel test //tests/reliability:server_load_test                 # 10 s (CI variant)
//   bazel test //tests/reliability:server_load_60s_test             # 60 s (manual)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kms_envelope/encryption_context.h"
#include "kms_envelope/remote/credentials.h"
#include "kms_envelope/remote/remote_key_provider.h"
#include "tests/reliability/server_fixture.h"

namespace kms_envelope {
namespace reliability {
namespace {

double g_seconds = 10;
int g_clients = 4;

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

TEST(ServerLoad, ConcurrentGenerateDataKeyAndDecryptWithZeroFailures) {
  ServerFixture f = StartServer("load_store", 8);
  auto ctx = EncryptionContext::FromJson(R"({"test":"load"})");
  ASSERT_TRUE(ctx.ok());
  std::atomic<uint64_t> failures{0}, wrong{0};
  std::mutex mu;
  std::vector<double> gdk_ms, dec_ms;
  std::string first_error;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(g_seconds);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < g_clients; ++c) {
    threads.emplace_back([&] {
      remote::RemoteKeyProviderOptions options;
      options.endpoint = "http://127.0.0.1:" + std::to_string(f.port);
      auto creds = remote::Credentials::New(kAccessKeyId, kAccessKeySecret);
      auto provider = remote::RemoteKeyProvider::New(std::move(options), *std::move(creds));
      if (!provider.ok()) {
        ++failures;
        return;
      }
      std::vector<double> my_gdk, my_dec;
      GenerateDataKeyResponse dk;
      DecryptResponse back;
      while (std::chrono::steady_clock::now() < deadline) {
        GenerateDataKeyRequest req;
        req.key_id = f.key_id;
        req.encryption_context = &*ctx;
        auto t0 = std::chrono::steady_clock::now();
        absl::Status s = (*provider)->GenerateDataKeyInto(req, &dk);
        auto t1 = std::chrono::steady_clock::now();
        if (!s.ok()) {
          ++failures;
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.empty()) first_error = s.ToString();
          continue;
        }
        my_gdk.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        DecryptRequest dreq;
        dreq.ciphertext_blob = absl::Span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(dk.ciphertext_blob.data()), dk.ciphertext_blob.size());
        dreq.encryption_context = &*ctx;
        s = (*provider)->DecryptInto(dreq, &back);
        auto t2 = std::chrono::steady_clock::now();
        if (!s.ok()) {
          ++failures;
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.empty()) first_error = s.ToString();
          continue;
        }
        my_dec.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
        if (!back.plaintext.ConstantTimeEquals(dk.plaintext) || back.key_id != f.key_id ||
            dk.key_id != f.key_id || dk.plaintext.size() != 32) {
          ++wrong;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      gdk_ms.insert(gdk_ms.end(), my_gdk.begin(), my_gdk.end());
      dec_ms.insert(dec_ms.end(), my_dec.begin(), my_dec.end());
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const size_t requests = gdk_ms.size() + dec_ms.size();
  std::printf("load: clients=%d seconds=%.1f requests=%zu (%.0f req/s) failures=%llu wrong=%llu\n",
              g_clients, elapsed, requests, requests / elapsed,
              static_cast<unsigned long long>(failures.load()),
              static_cast<unsigned long long>(wrong.load()));
  std::printf("GenerateDataKey ms: p50=%.2f p90=%.2f p99=%.2f max=%.2f\n",
              Percentile(gdk_ms, 0.5), Percentile(gdk_ms, 0.9), Percentile(gdk_ms, 0.99),
              Percentile(gdk_ms, 1.0));
  std::printf("Decrypt ms:         p50=%.2f p90=%.2f p99=%.2f max=%.2f\n", Percentile(dec_ms, 0.5),
              Percentile(dec_ms, 0.9), Percentile(dec_ms, 0.99), Percentile(dec_ms, 1.0));
  RecordProperty("requests_per_second", static_cast<int>(requests / elapsed));
  EXPECT_EQ(failures.load(), 0u) << first_error;
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(requests, 100u);
  f.server->Stop();
}

}  // namespace
}  // namespace reliability
}  // namespace kms_envelope

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--seconds=", 10) == 0) {
      kms_envelope::reliability::g_seconds = std::atof(argv[i] + 10);
    } else if (std::strncmp(argv[i], "--clients=", 10) == 0) {
      kms_envelope::reliability::g_clients = std::atoi(argv[i] + 10);
    }
  }
  return RUN_ALL_TESTS();
}
