// KmsServer::Stop while clients keep sending requests: Stop returns promptly, every request
// either gets a complete answer or a connection error (never a hang or a crash), and the server
// answers nothing afterwards. Run under TSan by CI ("concurrency").
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/server_test_util.h"

namespace kms_envelope {
namespace testing {
namespace {

using Clock = std::chrono::steady_clock;

class ServerShutdownTest : public ServerFixture {};

TEST_F(ServerShutdownTest, StopsCleanlyWhileClientsSendRequestsInALoop) {
  StartServer();
  const int port = server_->port();
  auto admin = Client();
  ASSERT_TRUE(admin->Call("CreateKey", {}).ok());

  constexpr int kClients = 8;
  std::atomic<bool> stop_clients{false};
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::atomic<int> bad{0};  // a response that is neither a complete 200 nor a KMS error
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      // Half the clients keep their connection alive, half open one per request.
      httplib::Client http("127.0.0.1", port);
      http.set_keep_alive(c % 2 == 0);
      http.set_connection_timeout(1, 0);
      http.set_read_timeout(2, 0);
      for (int i = 0; !stop_clients.load(); ++i) {
        const std::string nonce = "stop-" + std::to_string(c) + "-" + std::to_string(i);
        auto res = http.Get(("/?" + SignedV1Query({{"Action", "ListKeys"}, {"Format", "JSON"}},
                                                  "GET", kAdminId, kAdminSecret, absl::Now(),
                                                  nonce))
                                .c_str());
        if (!res) {
          failed.fetch_add(1);
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        } else if (res->status == 200 && res->body.find("\"RequestId\"") != std::string::npos) {
          answered.fetch_add(1);
        } else {
          bad.fetch_add(1);
        }
      }
    });
  }
  // Let every client get answers, then stop the server under their feet.
  const auto warmup_deadline = Clock::now() + std::chrono::seconds(20);
  while (answered.load() < 4 * kClients && Clock::now() < warmup_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(answered.load(), 4 * kClients);
  const auto stop_start = Clock::now();
  server_->Stop();
  const auto stop_took = Clock::now() - stop_start;
  const int answered_at_stop = answered.load();
  const int failed_at_stop = failed.load();

  // Clients keep trying against the stopped server for a while: they only get errors now.
  const auto after_deadline = Clock::now() + std::chrono::seconds(10);
  while (failed.load() < failed_at_stop + kClients && Clock::now() < after_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int answered_after = answered.load();
  stop_clients = true;
  for (std::thread& t : clients) t.join();

  // In-flight requests finish (at most one per client may complete after Stop started).
  EXPECT_LE(answered_after, answered_at_stop + kClients);
  EXPECT_GE(failed.load(), failed_at_stop + kClients);
  EXPECT_EQ(bad.load(), 0);
  // Keep-alive connections end after their current request and read timeouts are 5 s, so Stop
  // is bounded well below that by the in-flight work alone.
  EXPECT_LT(stop_took, std::chrono::seconds(5));
  server_->Stop();  // idempotent
}

TEST_F(ServerShutdownTest, StopAndRestartCyclesUnderLoadDoNotLeakOrHang) {
  for (int round = 0; round < 3; ++round) {
    StartServer();
    const int port = server_->port();
    std::atomic<bool> stop_clients{false};
    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&, c] {
        for (int i = 0; !stop_clients.load(); ++i) {
          httplib::Client http("127.0.0.1", port);
          http.set_connection_timeout(1, 0);
          http.set_read_timeout(2, 0);
          const std::string nonce =
              "cycle-" + std::to_string(round) + "-" + std::to_string(c) + "-" + std::to_string(i);
          auto res = http.Get(("/?" + SignedV1Query({{"Action", "ListKeys"}}, "GET", kAdminId,
                                                    kAdminSecret, absl::Now(), nonce))
                                  .c_str());
          if (res && res->status == 200) answered.fetch_add(1);
          if (!res) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      });
    }
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (answered.load() < 8 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_GE(answered.load(), 8) << "round " << round;
    server_->Stop();
    server_.reset();  // the pool, handlers and store go away while clients still send
    stop_clients = true;
    for (std::thread& t : clients) t.join();
  }
}

}  // namespace
}  // namespace testing
}  // namespace kms_envelope
